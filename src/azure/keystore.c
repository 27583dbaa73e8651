#include "keystore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base64.h"
#include "crypto.h"
#include "imds.h"
#include "keyvault.h"
#include "log.h"
#include "secmem.h"

struct ks_ctx {
	struct imds_client imds;
	struct kv_client kv;
};

void keystore_config_from(struct kv_config *cfg, const struct rootcrypt_config *c)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vault = c->vault;
	cfg->secret = c->secret;
	cfg->kek = c->kek;
	cfg->kek_alg = c->kek_alg;
	cfg->client_id = c->client_id;
	cfg->object_id = c->object_id;
	cfg->msi_res_id = c->msi_res_id;
	cfg->imds = c->imds;
	cfg->ca_file = c->ca_file;
	cfg->resolve = c->resolve;
	cfg->retry_timeout_ms = c->retry_timeout_ms;
	cfg->token_vault_any = c->token_vault && strcmp(c->token_vault, "any") == 0;
	cfg->untagged_ok = c->untagged_secret && strcmp(c->untagged_secret, "accept") == 0;
}

/* a and b name the same URL: scheme and host case-insensitive, a trailing
 * slash ignored. */
static bool same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la && a[la - 1] == '/')
		la--;
	while (lb && b[lb - 1] == '/')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* url is prefix or prefix/<something without a slash> (a key's version). */
static bool url_under(const char *url, const char *prefix, bool one_more_segment)
{
	size_t lp = strlen(prefix);

	while (lp && prefix[lp - 1] == '/')
		lp--;
	if (strncasecmp(url, prefix, lp) != 0)
		return false;
	if (!url[lp])
		return true;
	return url[lp] == '/' && (one_more_segment ? !strchr(url + lp + 1, '/') : true);
}

int keystore_ref_pinned(const struct kv_config *cfg, const struct kv_ref *ref)
{
	if (!cfg->vault || cfg->token_vault_any)
		return 0;
	if (!ref->vault_url || !same_url(ref->vault_url, cfg->vault))
		return log_error(EPERM, "the volume's key reference names vault \"%s\", not the "
				 "configured \"%s\": refusing to send this VM's token there "
				 "(set token_vault = any to allow it)",
				 ref->vault_url ? ref->vault_url : "(none)", cfg->vault);
	if (cfg->kek) {
		if (!ref->kek_id || !url_under(ref->kek_id, cfg->kek, true))
			return log_error(EPERM, "the volume's key reference names KEK \"%s\", not "
					 "the configured \"%s\" (set token_vault = any to allow it)",
					 ref->kek_id ? ref->kek_id : "(none)", cfg->kek);
	} else if (ref->kek_id) {
		char keys[1024];

		snprintf(keys, sizeof(keys), "%.1000s/keys", cfg->vault);
		if (!url_under(ref->kek_id, keys, false))
			return log_error(EPERM, "the volume's key reference names KEK \"%s\" outside "
					 "the configured vault \"%s\" (configure kek, or set "
					 "token_vault = any)", ref->kek_id, cfg->vault);
	}
	return 0;
}

static void ctx_init(struct ks_ctx *x, const struct kv_config *cfg)
{
	struct retry_policy p = { .budget_ms = cfg->retry_timeout_ms, .base_ms = cfg->retry_base_ms };

	memset(x, 0, sizeof(*x));
	x->imds.endpoint = cfg->imds;
	x->imds.client_id = cfg->client_id;
	x->imds.object_id = cfg->object_id;
	x->imds.msi_res_id = cfg->msi_res_id;
	x->imds.retry = p;
	x->imds.request_timeout_ms = cfg->request_timeout_ms;
	x->kv.ca_file = cfg->ca_file;
	x->kv.resolve = cfg->resolve;
	x->kv.imds = &x->imds;
	x->kv.retry = p;
	x->kv.request_timeout_ms = cfg->request_timeout_ms;
}

static void ctx_done(struct ks_ctx *x)
{
	imds_client_done(&x->imds);
}

void kv_ref_free(struct kv_ref *ref)
{
	free(ref->vault_url);
	free(ref->secret_name);
	free(ref->secret_version);
	free(ref->kek_id);
	free(ref->kek_alg);
	memset(ref, 0, sizeof(*ref));
}

/* Strips trailing slashes so "https://v.vault.azure.net/" and the bare
 * form give the same URLs and token records. */
static char *vault_base(const char *url)
{
	size_t n = strlen(url);

	while (n > 8 && url[n - 1] == '/')
		n--;
	return strndup(url, n);
}

/* Secret name: configured, or derived from the VM's id so that every VM
 * made from one image stores under its own name. */
static int secret_name(struct ks_ctx *x, const char *configured, const char *vm_id, char **ret)
{
	if (configured) {
		if (!kv_name_valid(configured))
			return log_error(EINVAL, "invalid secret name '%s' (letters, digits, '-', "
					 "1-127)", configured);
		*ret = strdup(configured);
	} else {
		char *id = NULL, *name = NULL;
		int r;

		if (!vm_id) {
			r = imds_get_instance(&x->imds, false, &id, &name);
			if (r < 0)
				return log_error(r, "no secret name configured and no vmId to derive "
						 "one from");
			free(name);
			vm_id = id;
		}
		if (asprintf(ret, "rootcrypt-%s", vm_id) < 0)
			*ret = NULL;
		free(id);
		if (*ret && !kv_name_valid(*ret)) {
			r = log_error(EINVAL, "secret name '%s' derived from the vmId is not a valid "
				      "Key Vault name", *ret);
			free(*ret);
			return r;
		}
	}
	return *ret ? 0 : log_error(ENOMEM, "out of memory");
}

static int store(struct ks_ctx *x, const struct kv_config *cfg, const char *volume_uuid,
		 const void *pass, size_t len, struct kv_ref *ret_ref)
{
	const char *alg = cfg->kek_alg ? cfg->kek_alg : KEYSTORE_DEFAULT_ALG;
	char *vm_id = NULL, *machine = NULL, *name = NULL, *wrapped = NULL, *kid = NULL;
	char *value = NULL, *version = NULL, *vault = NULL, host[256] = "";
	struct kv_secret back = { 0 };
	unsigned char *unwrapped = NULL;
	size_t ulen;
	int r;

	if (!cfg->vault)
		return log_error(EINVAL, "no vault configured (vault = https://NAME.vault.azure.net)");
	r = kv_vault_check(cfg->vault);
	if (r < 0)
		return r;
	vault = vault_base(cfg->vault);
	if (!vault)
		return log_error(ENOMEM, "out of memory");
	/* Tags only: without instance metadata the secret is still useful,
	 * unless its very name needs the vmId (then the whole budget). */
	r = imds_get_instance(&x->imds, cfg->secret != NULL, &vm_id, &machine);
	if (r < 0) {
		if (!cfg->secret) {
			log_error(r, "no secret name configured and no vmId to derive one from");
			goto out;
		}
		log_warn("storing without vmId/machine name tags");
		if (gethostname(host, sizeof(host) - 1) == 0)
			machine = strdup(host);
	}
	r = secret_name(x, cfg->secret, vm_id, &name);
	if (r < 0)
		goto out;
	if (cfg->kek) {
		r = kv_key_wrap(&x->kv, cfg->kek, alg, pass, len, &wrapped, &kid);
		if (r < 0)
			goto out;
		value = secmem_alloc(strlen(wrapped) + 1);
		if (value)
			strcpy(value, wrapped);
	} else {
		value = secmem_alloc(base64_encoded_len(len, false) + 1);
		if (value)
			base64_encode(pass, len, value, false);
	}
	if (!value) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	const struct kv_tag tags[] = {
		{ "MachineName", machine },
		{ "VmId", vm_id },
		{ KV_TAG_VOLUME_UUID, volume_uuid },
		{ KV_TAG_KEK_URL, kid },
		{ KV_TAG_KEK_ALG, kid ? alg : NULL },
		{ "CreatedBy", "rootcrypt" },
	};
	r = kv_secret_set(&x->kv, vault, name, value, kid ? KEYSTORE_CT_WRAPPED : KEYSTORE_CT_PLAIN,
			  tags, sizeof(tags) / sizeof(tags[0]), &version);
	if (r < 0)
		goto out;

	/* Write-ahead: only what reads back equal counts as stored. */
	r = kv_secret_get(&x->kv, vault, name, version, &back);
	if (r < 0) {
		log_error(r, "secret '%s' version %s was stored but could not be read back", name,
			  version);
		goto out;
	}
	if (strlen(back.value) != strlen(value) || crypto_memneq(back.value, value, strlen(value)) ||
	    !back.content_type ||
	    strcmp(back.content_type, kid ? KEYSTORE_CT_WRAPPED : KEYSTORE_CT_PLAIN) != 0) {
		r = log_error(EIO, "secret '%s' version %s reads back different from what was "
			      "stored", name, version);
		goto out;
	}
	/* The next fetch for this volume insists on the tag: without it the
	 * key would be stored but refused at the next boot. */
	if (volume_uuid && (!back.volume_uuid || strcasecmp(back.volume_uuid, volume_uuid) != 0)) {
		r = log_error(EIO, "secret '%s' version %s reads back with %s tag \"%s\", not the "
			      "stored \"%s\"", name, version, KV_TAG_VOLUME_UUID,
			      back.volume_uuid ? back.volume_uuid : "(none)", volume_uuid);
		goto out;
	}
	if (kid) {
		r = kv_key_unwrap(&x->kv, kid, alg, back.value, &unwrapped, &ulen);
		if (r < 0) {
			log_error(r, "secret '%s' version %s was stored but '%s' cannot unwrap it",
				  name, version, kid);
			goto out;
		}
		if (ulen != len || crypto_memneq(unwrapped, pass, len)) {
			r = log_error(EIO, "secret '%s' version %s: unwrapping with '%s' does not give "
				      "the passphrase back", name, version, kid);
			goto out;
		}
	}
	ret_ref->vault_url = vault;
	ret_ref->secret_name = name;
	ret_ref->secret_version = version;
	ret_ref->kek_id = kid;
	ret_ref->kek_alg = kid ? strdup(alg) : NULL;
	vault = name = version = kid = NULL;
	if (ret_ref->kek_id && !ret_ref->kek_alg) {
		kv_ref_free(ret_ref);
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	log_debug("stored secret '%s' version %s%s%s", ret_ref->secret_name,
		  ret_ref->secret_version, ret_ref->kek_id ? " wrapped with " : "",
		  ret_ref->kek_id ? ret_ref->kek_id : "");
	r = 0;
out:
	kv_secret_free(&back);
	secmem_free(unwrapped);
	secmem_free(value);
	free(wrapped);
	free(vm_id);
	free(machine);
	free(name);
	free(kid);
	free(version);
	free(vault);
	return r;
}

int keystore_store(const struct kv_config *cfg, const char *volume_uuid, const void *passphrase,
		   size_t len, struct kv_ref *ret_ref)
{
	struct ks_ctx x;
	int r;

	if (len == 0)
		return log_error(EINVAL, "refusing to store an empty passphrase");
	if (len > 8192)
		return log_error(EINVAL, "passphrase of %zu bytes is too long (at most 8192)", len);
	ctx_init(&x, cfg);
	r = store(&x, cfg, volume_uuid, passphrase, len, ret_ref);
	ctx_done(&x);
	return r;
}

int keystore_store_new(const struct kv_config *cfg, const char *volume_uuid,
		       char **ret_passphrase_secmem, struct kv_ref *ret_ref)
{
	unsigned char raw[KEYSTORE_PASSPHRASE_BYTES];
	char *text;
	int r;

	text = secmem_alloc(base64_encoded_len(sizeof(raw), true) + 1);
	if (!text)
		return log_error(ENOMEM, "out of memory");
	r = crypto_random(raw, sizeof(raw));
	if (r < 0) {
		secmem_free(text);
		return log_error_errno(r, "cannot get random bytes");
	}
	/* Text, so that it can also be typed at the recovery prompt. */
	base64_encode(raw, sizeof(raw), text, true);
	secmem_wipe(raw, sizeof(raw));
	r = keystore_store(cfg, volume_uuid, text, strlen(text), ret_ref);
	if (r < 0) {
		secmem_free(text);
		return r;
	}
	*ret_passphrase_secmem = text;
	return 0;
}

static bool key_has_version(const char *key_url)
{
	struct kv_url u = { 0 };
	bool v = kv_url_parse(key_url, &u) == 0 && u.version;

	kv_url_free(&u);
	return v;
}

static bool same_key(const char *a, const char *b)
{
	struct kv_url ua = { 0 }, ub = { 0 };
	bool same = kv_url_parse(a, &ua) == 0 && kv_url_parse(b, &ub) == 0 && ua.name && ub.name &&
		    strcmp(ua.host, ub.host) == 0 && strcmp(ua.name, ub.name) == 0;

	kv_url_free(&ua);
	kv_url_free(&ub);
	return same;
}

/* A plain ("BEK") secret value is the base64 of the passphrase. -EBADMSG
 * when it is not base64 (no message: callers word it). */
static int bek_decode(const char *value, size_t len, char **ret_secmem, size_t *ret_len)
{
	char *out = secmem_alloc(base64_decoded_max(len) + 1);
	size_t n = 0;

	if (!out)
		return log_error(ENOMEM, "out of memory");
	if (base64_decode(value, len, out, &n, false) < 0) {
		secmem_free(out);
		return -EBADMSG;
	}
	out[n] = '\0';
	*ret_secmem = out;
	*ret_len = n;
	return 0;
}

int keystore_recovery_passphrase(const char *typed, size_t len, char **ret_secmem, size_t *ret_len)
{
	static const char prefix[] = KEYSTORE_RECOVERY_PREFIX;
	const size_t plen = sizeof(prefix) - 1;
	char *out = NULL;
	size_t n = 0;
	int r;

	/* One reading per value (issue 16.8): with the prefix, the rest is the
	 * passphrase byte for byte; without, it must be the vault's form. Base64
	 * has no ':', so no vault value starts with the prefix. */
	if (len >= plen && memcmp(typed, prefix, plen) == 0) {
		n = len - plen;
		if (n == 0)
			return log_error(EBADMSG, "nothing typed after \"%s\"", prefix);
		out = secmem_alloc(n + 1);
		if (!out)
			return log_error(ENOMEM, "out of memory");
		memcpy(out, typed + plen, n);
		out[n] = '\0';
		*ret_secmem = out;
		*ret_len = n;
		return 0;
	}
	/* Key Vault shows the value padded to a multiple of 4 characters: a
	 * shorter or longer paste is a cut or a different thing, said so. */
	r = len && len % 4 == 0 ? bek_decode(typed, len, &out, &n) : -EBADMSG;
	if (r == -ENOMEM)
		return r;
	if (r < 0 || n == 0) {
		secmem_free(out);
		return log_error(EBADMSG, "the value typed (%zu characters) is not a secret's value "
				 "as Key Vault shows it (base64, a multiple of 4 characters); to "
				 "type the passphrase itself, start with \"%s\"", len, prefix);
	}
	*ret_secmem = out;
	*ret_len = n;
	return 0;
}

int keystore_check_binding(const struct kv_config *cfg, const struct kv_secret *s,
			   const char *vault_host, const char *name, const char *version,
			   const char *volume_uuid)
{
	/* The vault (or whatever answered for it) must have returned the
	 * secret the token names, not another name or version. */
	if (!kv_secret_id_is(s->id, vault_host, name, version))
		return log_error(EPERM, "Key Vault returned secret \"%s\" for %s/%s%s%s: not the "
				 "secret the key reference names; refusing it", s->id ? s->id : "",
				 vault_host, name, version ? "/" : "", version ? version : "");
	if (!volume_uuid)
		return 0;
	if (!s->volume_uuid) {
		if (cfg->untagged_ok)
			return 0;
		return log_error(EPERM, "secret '%s' version %s has no %s tag, so it is not bound to "
				 "volume %s: refusing it (tag it %s=%s in Key Vault, or set "
				 "untagged_secret = accept)", name, s->version, KV_TAG_VOLUME_UUID,
				 volume_uuid, KV_TAG_VOLUME_UUID, volume_uuid);
	}
	if (strcasecmp(s->volume_uuid, volume_uuid) != 0)
		return log_error(EPERM, "secret '%s' version %s belongs to volume %s, not to volume "
				 "%s being unlocked: refusing it", name, s->version, s->volume_uuid,
				 volume_uuid);
	return 0;
}

static int fetch(struct ks_ctx *x, const struct kv_config *cfg, const struct kv_ref *ref,
		 const char *volume_uuid, char **ret, size_t *ret_len, struct kv_secret *ret_secret)
{
	const char *vault = ref->vault_url ? ref->vault_url : cfg->vault;
	const char *kek, *alg;
	struct kv_secret s = { 0 };
	struct kv_url vu = { 0 };
	char *name = NULL, *out = NULL;
	unsigned char *plain = NULL;
	bool wrapped;
	size_t n;
	int r;

	if (!vault)
		return log_error(EINVAL, "no vault configured (vault = https://NAME.vault.azure.net)");
	r = kv_vault_check(vault);
	if (r < 0)
		return r;
	r = secret_name(x, ref->secret_name ? ref->secret_name : cfg->secret, NULL, &name);
	if (r < 0)
		return r;
	r = kv_secret_get(&x->kv, vault, name, ref->secret_version, &s);
	if (r < 0)
		goto out;
	r = kv_url_parse(vault, &vu);
	if (r < 0) {
		r = log_error(-r, "'%s' is not a Key Vault URL", vault);
		goto out;
	}
	r = keystore_check_binding(cfg, &s, vu.host, name, ref->secret_version, volume_uuid);
	if (r < 0)
		goto out;
	kek = ref->kek_id ? ref->kek_id : s.kek_url;
	if (ref->kek_id && s.kek_url && !key_has_version(ref->kek_id)) {
		/* A configured KEK without version: the secret's tag says which
		 * version wrapped it; it must be the same key. */
		if (!same_key(ref->kek_id, s.kek_url)) {
			r = log_error(EINVAL, "secret '%s' version %s is wrapped with '%s', not with "
				      "'%s'", name, s.version, s.kek_url, ref->kek_id);
			goto out;
		}
		kek = s.kek_url;
	}
	alg = ref->kek_alg ? ref->kek_alg : s.kek_alg ? s.kek_alg : KEYSTORE_DEFAULT_ALG;
	wrapped = s.content_type && strcmp(s.content_type, KEYSTORE_CT_WRAPPED) == 0;
	if (s.content_type && !wrapped && strcmp(s.content_type, KEYSTORE_CT_PLAIN) != 0) {
		r = log_error(EINVAL, "secret '%s' version %s has content type '%s', not '%s' or "
			      "'%s'", name, s.version, s.content_type, KEYSTORE_CT_PLAIN,
			      KEYSTORE_CT_WRAPPED);
		goto out;
	}
	if (!s.content_type)
		wrapped = kek != NULL;
	if (wrapped && !kek) {
		r = log_error(EINVAL, "secret '%s' version %s is wrapped but names no key "
			      "(tag %s); give --kek", name, s.version, KV_TAG_KEK_URL);
		goto out;
	}
	if (!wrapped && ref->kek_id) {
		r = log_error(EINVAL, "secret '%s' version %s is not wrapped, but the key reference "
			      "says '%s' wraps it", name, s.version, ref->kek_id);
		goto out;
	}
	if (wrapped) {
		r = kv_key_unwrap(&x->kv, kek, alg, s.value, &plain, &n);
		if (r < 0)
			goto out;
		out = (char *)plain;
		plain = NULL;
	} else {
		r = bek_decode(s.value, strlen(s.value), &out, &n);
		if (r == -EBADMSG)
			r = log_error(EBADMSG, "secret '%s' version %s is not base64 text", name,
				      s.version);
		if (r < 0)
			goto out;
	}
	if (n == 0) {
		r = log_error(EBADMSG, "secret '%s' version %s holds an empty passphrase", name,
			      s.version);
		goto out;
	}
	*ret = out;
	*ret_len = n;
	out = NULL;
	if (ret_secret) {
		*ret_secret = s;
		memset(&s, 0, sizeof(s));
	}
	r = 0;
out:
	secmem_free(out);
	secmem_free(plain);
	kv_secret_free(&s);
	kv_url_free(&vu);
	free(name);
	return r;
}

int keystore_fetch(const struct kv_config *cfg, const struct kv_ref *ref, const char *volume_uuid,
		   char **ret_passphrase_secmem, size_t *ret_len)
{
	struct ks_ctx x;
	int r;

	ctx_init(&x, cfg);
	r = fetch(&x, cfg, ref, volume_uuid, ret_passphrase_secmem, ret_len, NULL);
	ctx_done(&x);
	return r;
}

int keystore_fetch_latest(const struct kv_config *cfg, const char *volume_uuid,
			  char **ret_passphrase_secmem, size_t *ret_len, struct kv_ref *ret_ref)
{
	struct kv_ref want = { 0 }, got = { 0 };
	struct kv_secret s = { 0 };
	struct ks_ctx x;
	bool wrapped;
	int r;

	ctx_init(&x, cfg);
	/* the name first, so the reference names what was fetched */
	r = secret_name(&x, cfg->secret, NULL, &want.secret_name);
	if (r == 0)
		r = fetch(&x, cfg, &want, volume_uuid, ret_passphrase_secmem, ret_len, &s);
	ctx_done(&x);
	if (r < 0)
		goto out;
	got.vault_url = vault_base(cfg->vault);
	got.secret_name = want.secret_name;
	want.secret_name = NULL;
	got.secret_version = s.version ? strdup(s.version) : NULL;
	/* wrapped: the KEK and algorithm its tags name (fetch unwrapped with them) */
	wrapped = s.content_type && strcmp(s.content_type, KEYSTORE_CT_WRAPPED) == 0 && s.kek_url;
	if (wrapped) {
		got.kek_id = strdup(s.kek_url);
		got.kek_alg = strdup(s.kek_alg ? s.kek_alg : KEYSTORE_DEFAULT_ALG);
	}
	if (!got.vault_url || !got.secret_version || (wrapped && (!got.kek_id || !got.kek_alg))) {
		r = log_error(ENOMEM, "out of memory");
		secmem_free(*ret_passphrase_secmem);
		*ret_passphrase_secmem = NULL;
		kv_ref_free(&got);
		goto out;
	}
	*ret_ref = got;
out:
	kv_secret_free(&s);
	kv_ref_free(&want);
	return r;
}

int keystore_rewrap(const struct kv_config *cfg, const struct kv_ref *ref, const char *volume_uuid,
		    const char *new_kek, const char *new_alg, struct kv_ref *ret_ref)
{
	struct kv_secret old = { 0 };
	struct kv_config c2 = *cfg;
	char *pass = NULL, *name = NULL;
	struct ks_ctx x;
	size_t len;
	int r;

	if (!new_kek)
		return log_error(EINVAL, "rewrap needs the new key (--kek KEY-URL)");
	ctx_init(&x, cfg);
	r = fetch(&x, cfg, ref, volume_uuid, &pass, &len, &old);
	if (r < 0)
		goto out;
	/* Same vault and secret name, new wrapping; tags carried over. */
	c2.vault = ref->vault_url ? ref->vault_url : cfg->vault;
	name = strdup(old.id && strstr(old.id, "/secrets/") ? strstr(old.id, "/secrets/") + 9 : "");
	if (!name) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	if (strchr(name, '/'))
		*strchr(name, '/') = '\0';
	c2.secret = name;
	c2.kek = new_kek;
	c2.kek_alg = new_alg;
	/* The volume's UUID when known: rewrapping also tags what an older
	 * rootcrypt stored untagged. */
	r = store(&x, &c2, volume_uuid ? volume_uuid : old.volume_uuid, pass, len, ret_ref);
out:
	secmem_free(pass);
	kv_secret_free(&old);
	free(name);
	ctx_done(&x);
	return r;
}
