#include "boot_volume.h"

#include <errno.h>

#include "log.h"
#include "volume_key_ref.h"

int boot_volume_read(const struct engine_opts *o, struct engine_status *ret)
{
	struct engine_opts with_token = *o;

	with_token.key_token_type = VOLUME_TOKEN_TYPE;
	return engine_status(&with_token, ret);
}

int boot_volume_ref(const struct engine_opts *o, const struct engine_status *st,
		    struct kv_ref *ret)
{
	/* the header's home: the header file when detached, else the target */
	const char *where = st->info.layout == ENGINE_LAYOUT_DETACHED && o->header ? o->header
										    : o->target;

	if (st->state != ENGINE_STATE_ENCRYPTING && st->state != ENGINE_STATE_ENCRYPTED)
		return log_error(ENOENT, "\"%s\" is not a rootcrypt volume", o->target);
	if (!st->key_token)
		return log_error(ENOENT, "\"%s\" has no " VOLUME_TOKEN_TYPE " token", where);
	return volume_ref_from_token(st->key_token, where, ret);
}
