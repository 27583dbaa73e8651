/* Pure parts of the Key Vault client: URLs, challenges, replies. No
 * libcurl here, so the fuzz targets link without it. */
#include "keyvault.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_util.h"
#include "secmem.h"

struct kv_cloud {
	const char *suffix;     /* host suffix, with the leading dot */
	const char *resource;   /* token resource */
	bool managed_hsm;
};

static const struct kv_cloud kv_clouds[] = {
	{ ".vault.azure.net", "https://vault.azure.net", false },
	{ ".vault.azure.cn", "https://vault.azure.cn", false },
	{ ".vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net", false },
	{ ".managedhsm.azure.net", "https://managedhsm.azure.net", true },
};

bool kv_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 127)
		return false;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && *name != '-')
			return false;
	return true;
}

bool kv_version_valid(const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n > 64)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v))
			return false;
	return true;
}

void kv_url_free(struct kv_url *u)
{
	free(u->base);
	free(u->host);
	free(u->collection);
	free(u->name);
	free(u->version);
	memset(u, 0, sizeof(*u));
}

int kv_url_parse(const char *url, struct kv_url *ret)
{
	struct kv_url u = { 0 };
	const char *h, *hend, *path, *colon;
	const struct kv_cloud *cloud = NULL;
	char *segs[4] = { 0 };
	size_t nseg = 0, hlen;
	int r = -EINVAL;

	if (strncasecmp(url, "https://", 8) != 0)
		return -EINVAL;
	h = url + 8;
	hend = h + strcspn(h, "/?#");
	if (*hend == '?' || *hend == '#' || strchr(hend, '?') || strchr(hend, '#'))
		return -EINVAL;
	colon = memchr(h, ':', (size_t)(hend - h));
	hlen = (size_t)((colon ? colon : hend) - h);
	if (colon) {
		const char *p = colon + 1;

		if (p == hend || hend - p > 5)
			return -EINVAL;
		for (; p < hend; p++)
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
	}
	u.host = strndup(h, hlen);
	if (!u.host) {
		r = -ENOMEM;
		goto fail;
	}
	for (char *p = u.host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* Canonical base: lower-case scheme and host, the port as given. */
	if (asprintf(&u.base, "https://%s%.*s", u.host, colon ? (int)(hend - colon) : 0,
		     colon ? colon : "") < 0) {
		u.base = NULL;
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < sizeof(kv_clouds) / sizeof(kv_clouds[0]); i++) {
		size_t sl = strlen(kv_clouds[i].suffix);

		if (hlen > sl && strcmp(u.host + hlen - sl, kv_clouds[i].suffix) == 0) {
			cloud = &kv_clouds[i];
			break;
		}
	}
	if (!cloud)
		goto fail;
	/* The vault's own label: letters, digits, hyphens, no dots. */
	for (const char *p = u.host; p < u.host + hlen - strlen(cloud->suffix); p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			goto fail;
	u.resource = cloud->resource;
	u.managed_hsm = cloud->managed_hsm;

	path = hend;
	while (*path) {
		const char *s = path + 1, *e = s + strcspn(s, "/");

		if (e == s) {
			if (*e == '\0')
				break;  /* one trailing slash */
			goto fail;
		}
		if (nseg == 3)
			goto fail;
		segs[nseg] = strndup(s, (size_t)(e - s));
		if (!segs[nseg]) {
			r = -ENOMEM;
			goto fail;
		}
		nseg++;
		path = e;
	}
	if (nseg == 1)
		goto fail;
	if (nseg >= 2) {
		if (strcmp(segs[0], "secrets") != 0 && strcmp(segs[0], "keys") != 0)
			goto fail;
		if (!kv_name_valid(segs[1]) || (nseg == 3 && !kv_version_valid(segs[2])))
			goto fail;
		u.collection = segs[0];
		u.name = segs[1];
		u.version = segs[2];
		segs[0] = segs[1] = segs[2] = NULL;
	}
	*ret = u;
	return 0;
fail:
	for (size_t i = 0; i < 4; i++)
		free(segs[i]);
	kv_url_free(&u);
	return r;
}

/* Reads one auth-param (name=value or name="value") starting at *pp. */
static int next_param(const char **pp, char *name, size_t nn, char *val, size_t vn)
{
	const char *p = *pp;
	size_t i = 0;

	while (*p == ' ' || *p == ',' || *p == '\t')
		p++;
	if (!*p)
		return -ENOENT;
	while (*p && *p != '=' && *p != ' ' && *p != ',') {
		if (i + 1 >= nn)
			return -EBADMSG;
		name[i++] = *p++;
	}
	name[i] = '\0';
	while (*p == ' ')
		p++;
	if (*p != '=' || i == 0)
		return -EBADMSG;
	p++;
	while (*p == ' ')
		p++;
	i = 0;
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			if (i + 1 >= vn)
				return -EBADMSG;
			val[i++] = *p++;
		}
		if (*p != '"')
			return -EBADMSG;
		p++;
	} else {
		while (*p && *p != ',' && *p != ' ') {
			if (i + 1 >= vn)
				return -EBADMSG;
			val[i++] = *p++;
		}
	}
	val[i] = '\0';
	*pp = p;
	return 0;
}

int kv_parse_challenge(const char *header, char **ret_resource)
{
	char name[64], val[512], resource[512] = "", scope[512] = "";
	const char *p = header;
	int r;

	while (*p == ' ')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] && p[6] != ' '))
		return -EBADMSG;
	p += 6;
	while ((r = next_param(&p, name, sizeof(name), val, sizeof(val))) == 0) {
		if (strcasecmp(name, "resource") == 0)
			snprintf(resource, sizeof(resource), "%s", val);
		else if (strcasecmp(name, "scope") == 0)
			snprintf(scope, sizeof(scope), "%s", val);
	}
	if (r != -ENOENT)
		return -EBADMSG;
	if (!resource[0] && scope[0]) {
		size_t n = strlen(scope);

		if (n > 9 && strcmp(scope + n - 9, "/.default") == 0)
			scope[n - 9] = '\0';
		snprintf(resource, sizeof(resource), "%s", scope);
	}
	if (!resource[0])
		return -ENOENT;
	*ret_resource = strdup(resource);
	return *ret_resource ? 0 : -ENOMEM;
}

bool kv_challenge_resource_ok(const char *resource, const char *host)
{
	size_t hl = strlen(host);

	/* The resource a 401 names must be exactly the token audience of the
	 * vault's own cloud (table above), not any parent domain of the host:
	 * https://azure.net would otherwise buy a token for more than Key Vault. */
	for (size_t i = 0; i < sizeof(kv_clouds) / sizeof(kv_clouds[0]); i++) {
		const struct kv_cloud *c = &kv_clouds[i];
		size_t sl = strlen(c->suffix), rl = strlen(c->resource);

		if (hl <= sl || strcasecmp(host + hl - sl, c->suffix) != 0)
			continue;
		if (strncasecmp(resource, c->resource, rl) != 0)
			return false;
		return resource[rl] == '\0' || strcmp(resource + rl, "/") == 0;
	}
	return false;
}

void kv_error_message(const char *body, size_t len, char *out, size_t n)
{
	struct json_object *o, *err;
	const char *code = NULL, *msg = NULL;
	char tmp[1024];

	if (json_parse_object(body, len, &o) == 0) {
		if (json_get_object(o, "error", &err) == 0) {
			json_get_string(err, "code", &code);
			json_get_string(err, "message", &msg);
		}
		if (code || msg) {
			snprintf(tmp, sizeof(tmp), "%s%s%s", code ? code : "", code && msg ? ": " : "",
				 msg ? msg : "");
			json_object_put(o);
			json_one_line(out, n, tmp);
			return;
		}
		json_object_put(o);
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(len < 200 ? len : 200), body ? body : "");
	json_one_line(out, n, tmp[0] ? tmp : "(empty reply)");
}

static int dup_opt(struct json_object *o, const char *key, char **ret)
{
	const char *s;
	int r = json_get_string(o, key, &s);

	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static char *secmem_strdup(const char *s)
{
	size_t n = strlen(s);
	char *d = secmem_alloc(n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

void kv_secret_free(struct kv_secret *s)
{
	secmem_free(s->value);
	free(s->id);
	free(s->version);
	free(s->content_type);
	free(s->kek_url);
	free(s->kek_alg);
	free(s->volume_uuid);
	memset(s, 0, sizeof(*s));
}

int kv_parse_secret_bundle(const char *body, size_t len, struct kv_secret *ret)
{
	struct kv_secret s = { 0 };
	struct json_object *o, *tags;
	const char *value, *id, *slash;
	int r;

	r = json_parse_object(body, len, &o);
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (json_get_string(o, "value", &value) < 0 || json_get_string(o, "id", &id) < 0)
		goto out;
	slash = strrchr(id, '/');
	if (!slash || !kv_version_valid(slash + 1) || !strstr(id, "/secrets/"))
		goto out;
	s.value = secmem_strdup(value);
	s.id = strdup(id);
	s.version = strdup(slash + 1);
	if (!s.value || !s.id || !s.version) {
		r = -ENOMEM;
		goto out;
	}
	r = dup_opt(o, "contentType", &s.content_type);
	if (r < 0)
		goto out;
	r = json_get_object(o, "tags", &tags);
	if (r == 0) {
		r = dup_opt(tags, KV_TAG_KEK_URL, &s.kek_url);
		if (r == 0)
			r = dup_opt(tags, KV_TAG_KEK_ALG, &s.kek_alg);
		if (r == 0)
			r = dup_opt(tags, KV_TAG_VOLUME_UUID, &s.volume_uuid);
	} else if (r == -ENOENT) {
		r = 0;
	}
	if (r < 0)
		goto out;
	*ret = s;
	memset(&s, 0, sizeof(s));
out:
	kv_secret_free(&s);
	json_wipe_string(o, "value");
	json_object_put(o);
	return r;
}

bool kv_secret_id_is(const char *id, const char *host, const char *name, const char *version)
{
	struct kv_url u = { 0 };
	bool same;

	if (!id || kv_url_parse(id, &u) < 0)
		return false;
	same = u.collection && strcmp(u.collection, "secrets") == 0 && u.version &&
	       strcasecmp(u.host, host) == 0 && strcasecmp(u.name, name) == 0 &&
	       (!version || strcasecmp(u.version, version) == 0);
	kv_url_free(&u);
	return same;
}

int kv_parse_key_result(const char *body, size_t len, char **ret_kid, char **ret_value_secmem)
{
	struct json_object *o;
	const char *kid, *value;
	char *k = NULL, *v = NULL;
	int r;

	r = json_parse_object(body, len, &o);
	if (r < 0)
		return r;
	if (json_get_string(o, "kid", &kid) < 0 || json_get_string(o, "value", &value) < 0 ||
	    !strstr(kid, "/keys/")) {
		json_object_put(o);
		return -EBADMSG;
	}
	k = strdup(kid);
	v = secmem_strdup(value);
	json_wipe_string(o, "value");
	json_object_put(o);
	if (!k || !v) {
		free(k);
		secmem_free(v);
		return -ENOMEM;
	}
	*ret_kid = k;
	*ret_value_secmem = v;
	return 0;
}
