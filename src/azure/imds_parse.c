/* Pure parts of the IMDS client: URLs and replies. No libcurl here, so
 * the fuzz targets and unit tests link without it. */
#include "imds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_util.h"
#include "secmem.h"

char *imds_url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

static const char *imds_endpoint(const struct imds_client *c)
{
	return c->endpoint && *c->endpoint ? c->endpoint : IMDS_DEFAULT_ENDPOINT;
}

int imds_token_url(const struct imds_client *c, const char *resource, char **ret)
{
	const char *sel_name = NULL, *sel = NULL;
	char *res = imds_url_encode(resource), *selenc = NULL, *url = NULL;
	const char *base = imds_endpoint(c);
	size_t blen = strlen(base);
	int n;

	if (c->client_id)
		sel_name = "client_id", sel = c->client_id;
	else if (c->object_id)
		sel_name = "object_id", sel = c->object_id;
	else if (c->msi_res_id)
		sel_name = "msi_res_id", sel = c->msi_res_id;
	if (sel)
		selenc = imds_url_encode(sel);
	if (!res || (sel && !selenc)) {
		free(res);
		free(selenc);
		return -ENOMEM;
	}
	while (blen && base[blen - 1] == '/')
		blen--;
	n = asprintf(&url, "%.*s/metadata/identity/oauth2/token?api-version=%s&resource=%s%s%s%s",
		     (int)blen, base, IMDS_TOKEN_API_VERSION, res, sel ? "&" : "",
		     sel ? sel_name : "", sel ? "=" : "");
	if (n >= 0 && sel) {
		char *full = NULL;

		n = asprintf(&full, "%s%s", url, selenc);
		free(url);
		url = n >= 0 ? full : NULL;
	}
	free(res);
	free(selenc);
	if (n < 0)
		return -ENOMEM;
	*ret = url;
	return 0;
}

struct imds_retry_rule imds_retry_rule(enum imds_endpoint ep, long status)
{
	struct imds_retry_rule r = { 0 };

	/* "How to use managed identities ... to acquire an access token",
	 * error handling and retry guidance; "Azure Instance Metadata Service",
	 * errors and debugging. */
	if (status >= 500 && status <= 599) {
		/* token: "safe to retry after waiting for at least 1 second";
		 * instance: "retry after some time". */
		r.retry = true;
		r.min_delay_ms = 1000;
	} else if (status == 410) {
		/* IMDS is updating and "will be available within 70 seconds". */
		r.retry = true;
		r.min_budget_ms = 70000;
	} else if (status == 429 || status == 408) {
		r.retry = true;
	} else if (status == 404) {
		/* token: identity not yet assigned / IMDS updating, retry with
		 * backoff; instance: "the requested element doesn't exist". */
		r.retry = ep == IMDS_EP_TOKEN;
	}
	return r;
}

int imds_parse_token(const char *body, size_t len, time_t now, char **ret_token_secmem,
		     int64_t *ret_expires_on)
{
	struct json_object *o;
	const char *tok, *type;
	int64_t exp, in;
	size_t tlen;
	char *copy;
	int r;

	r = json_parse_object(body, len, &o);
	if (r < 0)
		return r;
	r = json_get_string(o, "access_token", &tok);
	if (r < 0 || !*tok) {
		json_object_put(o);
		return -EBADMSG;
	}
	r = json_get_string(o, "token_type", &type);
	if (r == -EBADMSG || (r == 0 && strcasecmp(type, "Bearer") != 0)) {
		json_object_put(o);
		return -EBADMSG;
	}
	/* A token goes into a header: refuse bytes that could split it. */
	for (const char *p = tok; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			json_object_put(o);
			return -EBADMSG;
		}
	r = json_get_int64(o, "expires_on", &exp);
	if (r == -ENOENT) {
		r = json_get_int64(o, "expires_in", &in);
		if (r == 0 && (in < 0 || in > 10L * 365 * 86400))
			r = -EBADMSG;
		exp = r == 0 ? (int64_t)now + in : (int64_t)now;
		if (r == -ENOENT)
			r = 0;   /* no expiry given: usable now, never cached */
	}
	if (r < 0) {
		json_object_put(o);
		return -EBADMSG;
	}
	tlen = strlen(tok);
	copy = secmem_alloc(tlen + 1);
	if (!copy) {
		json_object_put(o);
		return -ENOMEM;
	}
	memcpy(copy, tok, tlen + 1);
	json_wipe_string(o, "access_token");
	json_object_put(o);
	*ret_token_secmem = copy;
	*ret_expires_on = exp;
	return 0;
}

int imds_parse_instance(const char *body, size_t len, char **ret_vm_id, char **ret_name)
{
	struct json_object *o, *compute;
	const char *id, *name;
	char *a, *b;
	int r;

	r = json_parse_object(body, len, &o);
	if (r < 0)
		return r;
	/* /metadata/instance nests it under "compute"; /compute does not. */
	if (json_get_object(o, "compute", &compute) < 0)
		compute = o;
	if (json_get_string(compute, "vmId", &id) < 0 || !*id ||
	    json_get_string(compute, "name", &name) < 0) {
		json_object_put(o);
		return -EBADMSG;
	}
	a = strdup(id);
	b = strdup(name);
	json_object_put(o);
	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	*ret_vm_id = a;
	*ret_name = b;
	return 0;
}

void imds_error_message(const char *body, size_t len, char *out, size_t n)
{
	struct json_object *o;
	const char *err = NULL, *desc = NULL;
	char tmp[512];

	if (json_parse_object(body, len, &o) == 0) {
		json_get_string(o, "error", &err);
		json_get_string(o, "error_description", &desc);
		if (err && desc)
			snprintf(tmp, sizeof(tmp), "%s: %s", err, desc);
		else
			snprintf(tmp, sizeof(tmp), "%s", err ? err : desc ? desc : "");
		json_object_put(o);
		if (tmp[0]) {
			json_one_line(out, n, tmp);
			return;
		}
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(len < 200 ? len : 200), body ? body : "");
	json_one_line(out, n, tmp[0] ? tmp : "(empty reply)");
}

int imds_instance_url(const struct imds_client *c, char **ret)
{
	const char *base = imds_endpoint(c);
	size_t blen = strlen(base);

	while (blen && base[blen - 1] == '/')
		blen--;
	if (asprintf(ret, "%.*s/metadata/instance/compute?api-version=%s", (int)blen, base,
		     IMDS_INSTANCE_API_VERSION) < 0)
		return -ENOMEM;
	return 0;
}
