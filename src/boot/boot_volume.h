/* The one read of the root volume per boot: engine_status() reads the
 * header(s) once (state, progress, UUID) and, in the same pass, the key
 * reference token from the header that state came from (the start of the
 * partition when done, the tail area mid-shift, the header file when
 * detached). Everything later in the boot takes this result instead of
 * reading the disk again; only the engine (which re-reads under its
 * exclusive claim before it writes) and the unlock check right before
 * cryptsetup read it again. */
#pragma once
#include "engine.h"
#include "keystore.h"

/* engine_status(o) with the key token asked for; release with
 * engine_status_clear(). */
int boot_volume_read(const struct engine_opts *o, struct engine_status *ret);
/* The key reference in st's token (st from boot_volume_read, state
 * ENCRYPTING or ENCRYPTED) into *ret (kv_ref_free()). -ENOENT with one line
 * naming the volume when its header has no token. */
int boot_volume_ref(const struct engine_opts *o, const struct engine_status *st,
		    struct kv_ref *ret);
