#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

enum value_kind { V_ANY, V_HTTPS_URL, V_HTTP_URL, V_LAYOUT, V_ALG, V_SECONDS, V_RESOLVE, V_NAME,
		  V_TOKEN_VAULT, V_UNTAGGED, V_MODE, V_UUID, V_HEX64, V_MIB, V_PATH, V_RATE };

struct config_key {
	const char *name;
	size_t offset;
	enum value_kind kind;
};

#define K(n, kind) { #n, offsetof(struct rootcrypt_config, n), kind }
static const struct config_key config_keys[] = {
	K(device, V_ANY),      K(vault, V_HTTPS_URL),   K(secret, V_NAME),
	K(kek, V_HTTPS_URL),   K(kek_alg, V_ALG),       K(layout, V_LAYOUT),
	K(name, V_ANY),        K(header, V_ANY),        K(client_id, V_ANY),
	K(object_id, V_ANY),   K(msi_res_id, V_ANY),    K(imds, V_HTTP_URL),
	K(ca_file, V_ANY),     K(resolve, V_RESOLVE),   K(header_device, V_ANY),
	K(token_vault, V_TOKEN_VAULT), K(untagged_secret, V_UNTAGGED),
	K(mode, V_MODE),       K(online_rate, V_RATE),
	K(boot_split_uuid, V_UUID), K(boot_split_partuuid, V_UUID),
	K(boot_split_size, V_MIB), K(boot_split_core, V_PATH),
	K(boot_split_core_sha256, V_HEX64), K(boot_split_esp_files, V_ANY),
	{ "retry_timeout", offsetof(struct rootcrypt_config, retry_timeout_ms), V_SECONDS },
	{ "prompt_timeout", offsetof(struct rootcrypt_config, prompt_timeout_ms), V_SECONDS },
	{ "device_timeout", offsetof(struct rootcrypt_config, device_timeout_ms), V_SECONDS },
};
#undef K

/* Settings the kernel command line may not make (issue 16.4): where the VM's
 * bearer token comes from (imds), where the vault is reached (resolve) and
 * whom TLS trusts for it (ca_file). They are the initramfs's own settings,
 * written by root into /etc/rootcrypt.conf (the generator hooks copy the CA
 * bundle named there); the kernel line is also open to whoever reaches the
 * boot loader or builds the image. Tests set them in the file too. */
static const char *const file_only_keys[] = { "imds", "resolve", "ca_file" };

static bool file_only(const char *key)
{
	/* The /boot split rewrites the partition table and boot loaders: only
	 * enroll's file may ask for it. */
	if (strncmp(key, "boot_split_", 11) == 0)
		return true;
	for (size_t i = 0; i < sizeof(file_only_keys) / sizeof(file_only_keys[0]); i++)
		if (strcmp(file_only_keys[i], key) == 0)
			return true;
	return false;
}

static int check_value(enum value_kind kind, const char *v, long *ret_num)
{
	switch (kind) {
	case V_ANY:
		return *v ? 0 : -EINVAL;
	case V_HTTPS_URL:
		return strncmp(v, "https://", 8) == 0 && v[8] ? 0 : -EINVAL;
	case V_HTTP_URL:
		return strncmp(v, "http://", 7) == 0 && v[7] ? 0 : -EINVAL;
	case V_LAYOUT:
		return strcmp(v, "shift") == 0 || strcmp(v, "detached") == 0 ? 0 : -EINVAL;
	case V_TOKEN_VAULT:
		return strcmp(v, "pinned") == 0 || strcmp(v, "any") == 0 ? 0 : -EINVAL;
	case V_UNTAGGED:
		return strcmp(v, "refuse") == 0 || strcmp(v, "accept") == 0 ? 0 : -EINVAL;
	case V_MODE:
		return strcmp(v, "offline") == 0 || strcmp(v, "online") == 0 ? 0 : -EINVAL;
	case V_ALG:
		return strcmp(v, "RSA-OAEP-256") == 0 || strcmp(v, "RSA-OAEP") == 0 ? 0 : -EINVAL;
	case V_UUID:
		/* 8-4-4-4-12 hex digits, lower case as blkid prints them */
		if (strlen(v) != 36)
			return -EINVAL;
		for (int i = 0; i < 36; i++)
			if (i == 8 || i == 13 || i == 18 || i == 23 ? v[i] != '-'
			    : !isdigit((unsigned char)v[i]) && !(v[i] >= 'a' && v[i] <= 'f'))
				return -EINVAL;
		return 0;
	case V_HEX64:
		if (strlen(v) != 64)
			return -EINVAL;
		for (const char *p = v; *p; p++)
			if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
				return -EINVAL;
		return 0;
	case V_MIB: {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		return errno || end == v || *end || *v == '+' || *v == ' ' || n < 64 || n > 1048576
			       ? -EINVAL : 0;
	}
	case V_RATE: {
		/* whole MB/s, 1..100000 */
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		return errno || end == v || *end || *v == '+' || *v == ' ' || n < 1 || n > 100000
			       ? -EINVAL : 0;
	}
	case V_PATH:
		return v[0] == '/' && !strstr(v, "/../") ? 0 : -EINVAL;
	case V_NAME:
		/* Key Vault object names: ^[0-9a-zA-Z-]{1,127}$ */
		if (!*v || strlen(v) > 127)
			return -EINVAL;
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-')
				return -EINVAL;
		return 0;
	case V_RESOLVE: {
		const char *a = strchr(v, ':'), *b = a ? strchr(a + 1, ':') : NULL;

		return a && b && a > v && b > a + 1 && b[1] ? 0 : -EINVAL;
	}
	case V_SECONDS: {
		char *end;
		long s;

		errno = 0;
		s = strtol(v, &end, 10);
		if (errno || end == v || *end || s <= 0 || s > 86400)
			return -EINVAL;
		*ret_num = s * 1000;
		return 0;
	}
	}
	return -EINVAL;
}

int config_set(struct rootcrypt_config *c, const char *key, const char *value)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		const struct config_key *k = &config_keys[i];
		long num = 0;
		char *dup, **slot;

		if (strcmp(k->name, key) != 0)
			continue;
		if (check_value(k->kind, value, &num) < 0)
			return -EINVAL;
		if (k->kind == V_SECONDS) {
			*(long *)((char *)c + k->offset) = num;
			return 0;
		}
		dup = strdup(value);
		if (!dup)
			return -ENOMEM;
		slot = (char **)((char *)c + k->offset);
		free(*slot);
		*slot = dup;
		return 0;
	}
	return -ENOENT;
}

int config_get(const struct rootcrypt_config *c, const char *key, char **ret)
{
	*ret = NULL;
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		const struct config_key *k = &config_keys[i];
		char num[32];
		const char *v;

		if (strcmp(k->name, key) != 0)
			continue;
		if (k->kind == V_SECONDS) {
			long ms = *(const long *)((const char *)c + k->offset);

			if (!ms)
				return 0;
			snprintf(num, sizeof(num), "%ld", ms / 1000);
			v = num;
		} else {
			v = *(char *const *)((const char *)c + k->offset);
			if (!v)
				return 0;
		}
		*ret = strdup(v);
		return *ret ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

static const char *describe(int r)
{
	return r == -ENOENT ? "unknown key" : r == -ENOMEM ? "out of memory" : "invalid value";
}

int config_parse_file_text(struct rootcrypt_config *c, const char *text, size_t len,
			   const char *origin)
{
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		size_t eol = pos, klen, vlen;
		char line[4096], *p, *eq, *key, *val, *end;
		int r;

		while (eol < len && text[eol] != '\n')
			eol++;
		lineno++;
		if (eol - pos >= sizeof(line))
			return log_error(EINVAL, "%s:%u: line too long", origin, lineno);
		if (memchr(text + pos, '\0', eol - pos))
			return log_error(EINVAL, "%s:%u: NUL byte in line", origin, lineno);
		memcpy(line, text + pos, eol - pos);
		line[eol - pos] = '\0';
		pos = eol + 1;
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == '\r')
			continue;
		eq = strchr(p, '=');
		if (!eq)
			return log_error(EINVAL, "%s:%u: expected 'key = value'", origin, lineno);
		key = p;
		end = eq;
		while (end > key && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		klen = (size_t)(end - key);
		val = eq + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		vlen = strlen(val);
		while (vlen && strchr(" \t\r", val[vlen - 1]))
			val[--vlen] = '\0';
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val[vlen - 1] = '\0';
			val++;
		}
		if (!klen)
			return log_error(EINVAL, "%s:%u: empty key", origin, lineno);
		r = config_set(c, key, val);
		if (r < 0)
			return log_error(r == -ENOMEM ? ENOMEM : EINVAL, "%s:%u: %s '%s'", origin,
					 lineno, describe(r), key);
	}
	return 0;
}

int config_parse_cmdline(struct rootcrypt_config *c, const char *cmdline)
{
	const char *p = cmdline;

	while (*p) {
		char word[4096];
		size_t n = 0;
		bool quoted = false, toolong = false;
		char *eq;
		int r;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* The kernel's rule: a double quote toggles quoting anywhere in a
		 * word and is dropped; spaces inside quotes belong to the word. */
		for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (n + 1 < sizeof(word))
				word[n++] = *p;
			else
				toolong = true;
		}
		word[n] = '\0';
		if (strcmp(word, "--") == 0)
			break;
		if (strncmp(word, "rootcrypt.", 10) != 0)
			continue;
		if (toolong) {
			log_warn("kernel command line: '%.40s...' too long, ignored", word);
			continue;
		}
		eq = strchr(word, '=');
		if (!eq) {
			log_warn("kernel command line: '%s' has no value, ignored", word);
			continue;
		}
		*eq = '\0';
		if (file_only(word + 10)) {
			log_warn("kernel command line: '%s' is read from %s only, ignored", word,
				 CONFIG_DEFAULT_PATH);
			continue;
		}
		r = config_set(c, word + 10, eq + 1);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			log_warn("kernel command line: %s '%s', ignored", describe(r), word);
	}
	return 0;
}

static int read_text(const char *path, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *nb;

			if (cap >= 1024 * 1024) {
				close(fd);
				free(buf);
				return -EFBIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				close(fd);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			close(fd);
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

int config_load(struct rootcrypt_config *c, const char *file_path, const char *cmdline_path)
{
	char *text;
	size_t len;
	int r;

	if (file_path) {
		r = read_text(file_path, &text, &len);
		if (r == 0) {
			r = config_parse_file_text(c, text, len, file_path);
			free(text);
			if (r < 0)
				return r;
		} else if (r != -ENOENT) {
			return log_error_errno(r, "cannot read '%s'", file_path);
		}
	}
	if (cmdline_path) {
		r = read_text(cmdline_path, &text, &len);
		if (r < 0)
			return log_error_errno(r, "cannot read '%s'", cmdline_path);
		r = config_parse_cmdline(c, text);
		free(text);
		if (r < 0)
			return r;
	}
	return config_validate(c);
}

int config_validate(const struct rootcrypt_config *c)
{
	if (!!c->client_id + !!c->object_id + !!c->msi_res_id > 1)
		return log_error(EINVAL, "configuration: set at most one of client_id, object_id, "
				 "msi_res_id");
	if (c->header_device && (!c->header || c->header[0] != '/'))
		return log_error(EINVAL, "configuration: header_device needs header = /PATH inside "
				 "that file system");
	if (c->layout && strcmp(c->layout, "detached") == 0 && !c->header)
		return log_error(EINVAL, "configuration: layout detached needs header = FILE");
	return 0;
}

void config_free(struct rootcrypt_config *c)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (config_keys[i].kind != V_SECONDS)
			free(*(char **)((char *)c + config_keys[i].offset));
	memset(c, 0, sizeof(*c));
}
