#include "enroll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_line(FILE *f, const char *key, const char *value)
{
	if (value && *value)
		fprintf(f, "%s = %s\n", key, value);
}

char *enroll_config_text(const struct enroll_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "# rootcrypt configuration, written by `rootcrypt enroll`.\n"
		   "# Kernel parameters rootcrypt.KEY=VALUE override these lines at boot.\n");
	add_line(f, "device", o->device);
	add_line(f, "name", o->name ? o->name : "root");
	add_line(f, "vault", o->vault);
	add_line(f, "secret", o->secret);
	add_line(f, "kek", o->kek);
	add_line(f, "kek_alg", o->kek ? (o->kek_alg ? o->kek_alg : "RSA-OAEP-256") : NULL);
	add_line(f, "layout", o->layout ? o->layout : "shift");
	add_line(f, "header", o->header);
	add_line(f, "header_device", o->header_device);
	add_line(f, "client_id", o->client_id);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *enroll_kernel_params(const struct enroll_opts *o)
{
	const char *name = o->name ? o->name : "root";
	char *s = NULL;

	/* dracut reads rd.neednet/ip; initramfs-tools reads ip= as well. */
	if (asprintf(&s, "root=/dev/mapper/%s rootcrypt.name=%s rd.neednet=1 ip=dhcp", name, name) < 0)
		return NULL;
	return s;
}

bool enroll_param_is_ours(const char *p)
{
	return strncmp(p, "root=", 5) == 0 || strncmp(p, "rootcrypt.", 10) == 0 ||
	       strncmp(p, "rd.neednet=", 11) == 0 || strncmp(p, "ip=", 3) == 0;
}

char *enroll_cmdline_merge(const char *current, const char *params)
{
	size_t cap = strlen(current) + strlen(params) + 2;
	char *out = calloc(1, cap), *copy = strdup(current), *save = NULL;

	if (!out || !copy) {
		free(out);
		free(copy);
		return NULL;
	}
	for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (enroll_param_is_ours(tok))
			continue;
		if (*out)
			strcat(out, " ");
		strcat(out, tok);
	}
	if (params && *params) {
		if (*out)
			strcat(out, " ");
		strcat(out, params);
	}
	free(copy);
	return out;
}
