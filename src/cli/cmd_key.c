/* rootcrypt key store|fetch|rewrap: Key Vault operations for operators and
 * tests. Passphrases only travel through files (--key-file F, "-" = stdin
 * or stdout), never argv, environment or logs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"
#include "config.h"
#include "json_util.h"
#include "keystore.h"
#include "luks2.h"
#include "keyfile.h"
#include "fileio.h"
#include "log.h"
#include "parse.h"
#include "secmem.h"
#include "volume_key_ref.h"


static void key_usage(FILE *f)
{
	fprintf(f,
		"Usage: rootcrypt key store  --key-file F [--new] [--vault URL] [--secret NAME]\n"
		"                            [--kek KEY-URL] [--kek-alg ALG] [--volume-uuid U]\n"
		"       rootcrypt key fetch  --key-file F [--volume TARGET | --ref FILE |\n"
		"                            --vault URL --secret NAME [--version V] [--kek KEY-URL]]\n"
		"       rootcrypt key rewrap --kek NEW-KEY-URL [--kek-alg ALG] [--volume TARGET |\n"
		"                            --ref FILE | --vault URL --secret NAME [--version V]]\n"
		"Common: [--config F | --no-config] [--ca-file F] [--resolve HOST:PORT:ADDR]\n"
		"        [--imds URL] [--client-id ID | --object-id ID | --msi-res-id ID]\n"
		"        [--retry-timeout S] [--retry-base-ms MS] [--request-timeout-ms MS] [-v]\n\n"
		"store   puts the passphrase read from F (or, with --new, a new random one written\n"
		"        to F, which must not exist) into Key Vault, wrapped with the KEK if one is\n"
		"        given, reads it back, and prints the key reference as JSON.\n"
		"fetch   writes the passphrase of a reference to F (which must not exist).\n"
		"rewrap  stores the passphrase again wrapped with another KEK (or key version)\n"
		"        as a new secret version and prints the new reference; with --volume it\n"
		"        also points the volume's azure-keyvault token at it (disk data untouched).\n"
		"A reference is the volume's LUKS2 azure-keyvault token (--volume TARGET or\n"
		"--header F: device, image or detached header), or JSON as store prints it\n"
		"(--ref FILE; `cryptsetup token export` output works too).\n"
		"F = '-' means stdin (store) or stdout (fetch, store --new). Settings not given\n"
		"come from /etc/rootcrypt.conf. ALG: RSA-OAEP-256 (default) or RSA-OAEP.\n");
}

/* Created before any Key Vault call, so a bad path fails before a secret
 * is stored; never overwrites (a key file may be the only copy). */
static int open_key_output(const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_error_errno(errno, "cannot create key file '%s'%s", path,
				       errno == EEXIST ? " (refusing to overwrite)" : "");
	return fd;
}

static int write_all(int fd, const char *path, const void *data, size_t len)
{
	int r = fileio_write_all(fd, data, len);

	if (r < 0)
		return log_error_errno(r, "cannot write key file '%s'", path);
	if (fd != STDOUT_FILENO && fsync(fd) < 0)
		return log_error_errno(errno, "cannot sync key file '%s'", path);
	return 0;
}

static void print_ref(const struct kv_ref *ref, bool to_stderr)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "vault_url", json_object_new_string(ref->vault_url));
	json_object_object_add(o, "secret_name", json_object_new_string(ref->secret_name));
	json_object_object_add(o, "secret_version", json_object_new_string(ref->secret_version));
	if (ref->kek_id) {
		json_object_object_add(o, "kek_id", json_object_new_string(ref->kek_id));
		json_object_object_add(o, "kek_alg", json_object_new_string(ref->kek_alg));
	}
	fprintf(to_stderr ? stderr : stdout, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Reads a reference printed by store/rewrap; the member names are the
 * LUKS2 azure-keyvault token's, so `cryptsetup token export` output works
 * too ("type" and "keyslots" are ignored). */
static int read_ref(const char *path, struct kv_ref *ref)
{
	static const struct { const char *key; size_t off; } fields[] = {
		{ "vault_url", offsetof(struct kv_ref, vault_url) },
		{ "secret_name", offsetof(struct kv_ref, secret_name) },
		{ "secret_version", offsetof(struct kv_ref, secret_version) },
		{ "kek_id", offsetof(struct kv_ref, kek_id) },
		{ "kek_alg", offsetof(struct kv_ref, kek_alg) },
	};
	char buf[4096];
	struct json_object *o;
	size_t len;
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return log_error_errno(errno, "cannot open key reference '%s'", path);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (json_parse_object(buf, len, &o) < 0)
		return log_error(EINVAL, "key reference '%s' is not a JSON object", path);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v;
		char **slot = (char **)((char *)ref + fields[i].off);

		r = json_get_string(o, fields[i].key, &v);
		if (r == -EBADMSG) {
			json_object_put(o);
			return log_error(EINVAL, "key reference '%s': '%s' is not a string", path,
					 fields[i].key);
		}
		if (r == 0 && !(*slot = strdup(v))) {
			json_object_put(o);
			return log_error(ENOMEM, "out of memory");
		}
	}
	json_object_put(o);
	return 0;
}

/* The azure-keyvault token of the LUKS2 header in path (a device, an image
 * or a detached header file; header at offset 0). The header stays open
 * in *ret_h / *ret_fd for rewrap to update the token. */
static int ref_from_volume(const char *path, bool writable, int *ret_fd, struct luks2_hdr **ret_h,
			   uint32_t *ret_keyslots, struct kv_ref *ref)
{
	struct luks2_hdr *h = NULL;
	int fd, r;

	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open '%s'", path);
	r = luks2_hdr_read(&h, fd, 0, NULL);
	if (r == -ENODEV)
		r = log_error(ENODEV, "'%s' has no LUKS2 header", path);
	if (r < 0)
		goto fail;
	if (luks2_token_find(h, VOLUME_TOKEN_TYPE) < 0) {
		r = log_error(ENOENT, "'%s' has no %s token", path, VOLUME_TOKEN_TYPE);
		goto fail;
	}
	r = volume_ref_of_header(h, path, ref, ret_keyslots);
	if (r < 0)
		goto fail;
	*ret_fd = fd;
	*ret_h = h;
	return 0;
fail:
	luks2_hdr_free(h);
	close(fd);
	return r;
}

static int parse_ms(const char *opt, const char *v, long scale, long *ret)
{
	int n;

	if (parse_int(v, 1, (int)(86400000L / scale), &n) < 0)
		return log_error(EINVAL, "%s: invalid value '%s'", opt, v);
	*ret = n * scale;
	return 0;
}

int cmd_key(int argc, char **argv)
{
	enum { O_NEW = 256, O_VAULT, O_SECRET, O_VERSION, O_KEK, O_ALG, O_REF, O_CONFIG,
	       O_NOCONFIG, O_CA, O_RESOLVE, O_IMDS, O_CLIENT, O_OBJECT, O_MSI, O_RETRY,
	       O_BASE, O_REQ, O_UUID, O_KEYFILE, O_VOLUME };
	static const struct option opts[] = {
		{ "new", no_argument, NULL, O_NEW },
		{ "vault", required_argument, NULL, O_VAULT },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "version", required_argument, NULL, O_VERSION },
		{ "kek", required_argument, NULL, O_KEK },
		{ "kek-alg", required_argument, NULL, O_ALG },
		{ "ref", required_argument, NULL, O_REF },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "no-config", no_argument, NULL, O_NOCONFIG },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "resolve", required_argument, NULL, O_RESOLVE },
		{ "imds", required_argument, NULL, O_IMDS },
		{ "client-id", required_argument, NULL, O_CLIENT },
		{ "object-id", required_argument, NULL, O_OBJECT },
		{ "msi-res-id", required_argument, NULL, O_MSI },
		{ "retry-timeout", required_argument, NULL, O_RETRY },
		{ "retry-base-ms", required_argument, NULL, O_BASE },
		{ "request-timeout-ms", required_argument, NULL, O_REQ },
		{ "volume-uuid", required_argument, NULL, O_UUID },
		{ "key-file", required_argument, NULL, O_KEYFILE },
		{ "volume", required_argument, NULL, O_VOLUME },
		{ "header", required_argument, NULL, O_VOLUME },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	/* Options are applied over the config file: collect them first. */
	struct { const char *key, *value; } sets[32];
	size_t nsets = 0;
	const char *config_path = CONFIG_DEFAULT_PATH, *version = NULL, *ref_path = NULL;
	const char *key_file = NULL, *uuid = NULL, *verb, *volume = NULL;
	uint32_t token_keyslots = 0;
	struct luks2_hdr *hdr = NULL;
	int vol_fd = -1;
	bool config_explicit = false, gen = false;
	long retry_base = 0, req_timeout = 0, retry_timeout = 0;
	struct rootcrypt_config conf = { 0 };
	struct kv_ref ref = { 0 }, out = { 0 };
	struct kv_config cfg;
	char *pass = NULL;
	size_t len = 0;
	int c, r, fd = -1;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case O_NEW: gen = true; break;
		case O_VAULT: key = "vault"; break;
		case O_SECRET: key = "secret"; break;
		case O_VERSION: version = optarg; break;
		case O_KEK: key = "kek"; break;
		case O_ALG: key = "kek_alg"; break;
		case O_REF: ref_path = optarg; break;
		case O_CONFIG: config_path = optarg; config_explicit = true; break;
		case O_NOCONFIG: config_path = NULL; break;
		case O_CA: key = "ca_file"; break;
		case O_RESOLVE: key = "resolve"; break;
		case O_IMDS: key = "imds"; break;
		case O_CLIENT: key = "client_id"; break;
		case O_OBJECT: key = "object_id"; break;
		case O_MSI: key = "msi_res_id"; break;
		case O_RETRY:
			if (parse_ms("--retry-timeout", optarg, 1000, &retry_timeout) < 0)
				return CMD_USAGE;
			break;
		case O_BASE:
			if (parse_ms("--retry-base-ms", optarg, 1, &retry_base) < 0)
				return CMD_USAGE;
			break;
		case O_REQ:
			if (parse_ms("--request-timeout-ms", optarg, 1, &req_timeout) < 0)
				return CMD_USAGE;
			break;
		case O_UUID: uuid = optarg; break;
		case O_KEYFILE: key_file = optarg; break;
		case O_VOLUME: volume = optarg; break;
		case 'v': log_debug_enabled = true; break;
		case 'h': key_usage(stdout); return 0;
		default: key_usage(stderr); return CMD_USAGE;
		}
		if (key) {
			if (nsets == sizeof(sets) / sizeof(sets[0])) {
				log_error(E2BIG, "too many options");
				return CMD_USAGE;
			}
			sets[nsets].key = key;
			sets[nsets++].value = optarg;
		}
	}
	if (optind + 1 != argc) {
		log_error(EINVAL, "key: expected one of store, fetch, rewrap (see --help)");
		return CMD_USAGE;
	}
	verb = argv[optind];
	if (strcmp(verb, "store") != 0 && strcmp(verb, "fetch") != 0 && strcmp(verb, "rewrap") != 0) {
		log_error(EINVAL, "key: unknown operation '%s' (store, fetch, rewrap)", verb);
		return CMD_USAGE;
	}
	if (strcmp(verb, "rewrap") != 0 && !key_file) {
		log_error(EINVAL, "key %s: --key-file is required", verb);
		return CMD_USAGE;
	}
	if (gen && strcmp(verb, "store") != 0) {
		log_error(EINVAL, "key %s: --new only applies to store", verb);
		return CMD_USAGE;
	}

	if (config_path) {
		if (config_explicit && access(config_path, F_OK) != 0) {
			r = log_error_errno(errno, "cannot read '%s'", config_path);
			goto out;
		}
		r = config_load(&conf, config_path, NULL);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < nsets; i++) {
		r = config_set(&conf, sets[i].key, sets[i].value);
		if (r < 0) {
			log_error(-r, "invalid --%s value '%s'", sets[i].key, sets[i].value);
			r = CMD_USAGE;
			goto out;
		}
	}
	if (retry_timeout)
		conf.retry_timeout_ms = retry_timeout;
	r = config_validate(&conf);
	if (r < 0)
		goto out;
	keystore_config_from(&cfg, &conf);
	cfg.retry_base_ms = retry_base;
	cfg.request_timeout_ms = req_timeout;

	if (volume && (ref_path || strcmp(verb, "store") == 0)) {
		log_error(EINVAL, "key %s: --volume/--header %s", verb,
			  ref_path ? "and --ref exclude each other" : "applies to fetch and rewrap");
		r = CMD_USAGE;
		goto out;
	}
	if (volume) {
		r = ref_from_volume(volume, strcmp(verb, "rewrap") == 0, &vol_fd, &hdr, &token_keyslots, &ref);
		if (r < 0)
			goto out;
	} else if (ref_path) {
		r = read_ref(ref_path, &ref);
		if (r < 0)
			goto out;
	} else {
		if (conf.vault)
			ref.vault_url = strdup(conf.vault);
		if (conf.secret)
			ref.secret_name = strdup(conf.secret);
		if (version)
			ref.secret_version = strdup(version);
		if (conf.kek && strcmp(verb, "fetch") == 0) {
			ref.kek_id = strdup(conf.kek);
			ref.kek_alg = conf.kek_alg ? strdup(conf.kek_alg) : NULL;
		}
	}

	if (strcmp(verb, "store") == 0) {
		if (gen) {
			fd = open_key_output(key_file);
			if (fd < 0) {
				r = fd;
				goto out;
			}
			r = keystore_store_new(&cfg, uuid, &pass, &out);
			if (r == 0) {
				len = strlen(pass);
				r = write_all(fd, key_file, pass, len);
			}
		} else {
			r = keyfile_read(key_file, &pass, &len);
			if (r == 0)
				r = keystore_store(&cfg, uuid, pass, len, &out);
		}
		if (r == 0)
			print_ref(&out, gen && strcmp(key_file, "-") == 0);
	} else if (strcmp(verb, "fetch") == 0) {
		fd = open_key_output(key_file);
		if (fd < 0) {
			r = fd;
			goto out;
		}
		/* --volume: the secret must be this volume's (VolumeUUID tag) */
		r = keystore_fetch(&cfg, &ref, hdr ? luks2_hdr_uuid(hdr) : NULL, &pass, &len);
		if (r == 0)
			r = write_all(fd, key_file, pass, len);
	} else {
		/* For rewrap --kek names the new key; the old one comes from the
		 * reference or the secret's tags. */
		r = keystore_rewrap(&cfg, &ref, hdr ? luks2_hdr_uuid(hdr) : NULL, conf.kek,
				    conf.kek_alg, &out);
		if (r == 0 && hdr) {
			/* Point the volume at the new version; the keyslots stay. */
			r = volume_ref_set(hdr, &out, token_keyslots);
			if (r == 0)
				r = luks2_hdr_write_metadata(hdr, vol_fd, 0);
			if (r < 0)
				log_error(r, "new secret version %s is stored, but the token of '%s' "
					  "still names version %s", out.secret_version, volume,
					  ref.secret_version ? ref.secret_version : "(latest)");
		}
		if (r == 0)
			print_ref(&out, false);
	}
	if (fd >= 0 && fd != STDOUT_FILENO) {
		if (close(fd) < 0 && r == 0)
			r = log_error_errno(errno, "cannot write key file '%s'", key_file);
		if (r < 0)
			unlink(key_file);
	}
out:
	luks2_hdr_free(hdr);
	if (vol_fd >= 0)
		close(vol_fd);
	secmem_free(pass);
	kv_ref_free(&ref);
	kv_ref_free(&out);
	config_free(&conf);
	return r;
}
