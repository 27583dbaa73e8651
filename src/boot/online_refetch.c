#include "online_refetch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "volume_key_ref.h"

int online_refetch_key(const struct kv_config *kv, const char *hdr_path, const char *token_json,
		       const char *uuid, char **ret_secmem, size_t *ret_len, char *why,
		       size_t why_len)
{
	struct kv_ref ref = { 0 };
	int r;

	if (!kv || !kv->vault) {
		snprintf(why, why_len, "no vault configured on this system to fetch it from");
		return log_error(ENOKEY, "online: %s", why);
	}
	if (!token_json) {
		snprintf(why, why_len, "\"%.300s\" has no " VOLUME_TOKEN_TYPE " token to fetch it "
			 "by", hdr_path);
		return log_error(ENOKEY, "online: %s", why);
	}
	log_info("online: fetching the key of volume %s from Key Vault", uuid);
	r = volume_ref_from_token(token_json, hdr_path, &ref);
	if (r == 0)
		r = volume_fetch_ref(kv, &ref, uuid, ret_secmem, ret_len);
	kv_ref_free(&ref);
	if (r < 0)
		snprintf(why, why_len, "not fetched from Key Vault either (%s)", strerror(-r));
	return r;
}
