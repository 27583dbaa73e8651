/* The LUKS2 and engine layers carry a key reference token they do not
 * understand (issue 17.2b): a made-up token type goes in as JSON text, is
 * written with its keyslots into the in-progress and the final header, and
 * comes back byte for byte; nothing below boot/ knows any Azure field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "luks2.h"
#include "test.h"
#include "test_engine_memdev.h"

#define BLOB_SIZE (8u << 20)
#define PIN_TOKEN "{\"type\":\"example-pin\",\"pin_url\":\"http://pin.example/x\",\"rounds\":3," \
		  "\"nested\":{\"a\":[1,\"b\"]}}"
/* as written: "type", "keyslots", then the caller's members in order */
#define PIN_ON_DISK "{\"type\":\"example-pin\",\"keyslots\":[\"0\"],\"pin_url\":\"http://pin.example/x\"," \
		    "\"rounds\":3,\"nested\":{\"a\":[1,\"b\"]}}"

TEST(luks2_token_put_keeps_a_foreign_token_verbatim)
{
	uint8_t vk[LUKS2_VOLUME_KEY_SIZE] = { 7 };
	struct luks2_params p = { .segment_size = LUKS2_SEGMENT_DYNAMIC };
	struct luks2_hdr *h = NULL;
	uint32_t ks = 0;
	char *json = NULL;
	int slot = -1, id = -1;

	CHECK_EQ_INT(luks2_hdr_new(&h, &p, vk, sizeof(vk)), 0);
	CHECK_EQ_INT(luks2_keyslot_add(h, -1, vk, sizeof(vk), "pw", 2, 0, &slot), 0);
	CHECK_EQ_INT(luks2_token_put(h, PIN_TOKEN, UINT32_C(1) << slot, &id), 0);
	CHECK_EQ_INT(luks2_token_get(h, "example-pin", &json, &ks), 0);
	CHECK_EQ_STR(json, PIN_ON_DISK);
	CHECK_EQ_INT(ks, 1);
	free(json);
	/* the same type again replaces it in place (same id) */
	CHECK_EQ_INT(luks2_token_put(h, "{\"type\":\"example-pin\",\"rounds\":4}", 1, NULL), 0);
	CHECK_EQ_INT(luks2_token_find(h, "example-pin"), id);
	CHECK_EQ_INT(luks2_token_get(h, "example-pin", &json, NULL), 0);
	CHECK_EQ_STR(json, "{\"type\":\"example-pin\",\"keyslots\":[\"0\"],\"rounds\":4}");
	free(json);
	/* refused: no type, not an object, a keyslot that does not exist */
	CHECK_EQ_INT(luks2_token_put(h, "{\"pin_url\":\"x\"}", 1, NULL), -EINVAL);
	CHECK_EQ_INT(luks2_token_put(h, "[1]", 1, NULL), -EINVAL);
	CHECK_EQ_INT(luks2_token_put(h, "{\"type\":\"example-pin\"}", 2, NULL), -EINVAL);
	CHECK_EQ_INT(luks2_token_get(h, "azure-keyvault", &json, NULL), -ENOENT);
	luks2_hdr_free(h);
}

static void opts_on(struct engine_opts *o, struct blkdev *dev)
{
	static FILE *devnull;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	memset(o, 0, sizeof(*o));
	o->layout = ENGINE_LAYOUT_SHIFT;
	o->passphrase = "pin-pass";
	o->passphrase_len = strlen(o->passphrase);
	o->sector_size = 4096;
	o->data_off = 1u << 20;
	o->unit = 128 << 10;
	o->threads = 1;
	o->dev = dev;
	o->progress = devnull;
	o->key_token = PIN_TOKEN;
	o->key_token_type = "example-pin";
}

/* The token the engine hands back for `type`, on the volume in d. */
static char *status_token(struct blkdev *d, const char *type, enum engine_state *state)
{
	struct engine_opts o;
	struct engine_status st;
	char *tok;

	opts_on(&o, d);
	o.key_token_type = type;
	if (engine_status(&o, &st) != 0)
		return NULL;
	*state = st.state;
	tok = st.key_token;
	st.key_token = NULL;
	engine_status_clear(&st);
	return tok;
}

TEST(engine_carries_a_made_up_token_through_a_cut_conversion)
{
	uint8_t *data = malloc(BLOB_SIZE), *img;
	struct memdev_clock clk = { .fail_at = -1 };
	enum engine_state state = ENGINE_STATE_PLAIN;
	struct engine_opts o;
	struct blkdev *d;
	uint64_t size;
	long total;
	char *tok;

	CHECK(data != NULL);
	for (size_t i = 0; i < BLOB_SIZE; i++)
		data[i] = (uint8_t)(i * 131 + (i >> 12));
	/* a whole run to count its writes, then one cut half-way */
	d = memdev_new("count", data, BLOB_SIZE, &clk, true);
	opts_on(&o, d);
	CHECK_EQ_INT(engine_convert(&o), 0);
	total = clk.ops;
	blkdev_close(d);
	clk = (struct memdev_clock){ .fail_at = total / 2 };
	d = memdev_new("cut", data, BLOB_SIZE, &clk, true);
	opts_on(&o, d);
	CHECK(engine_convert(&o) != 0);
	img = memdev_after_cut(d, MEMDEV_KEEP_ALL, 1, &size);
	blkdev_close(d);
	CHECK(img != NULL);

	/* mid-conversion: the in-progress header in the tail has it */
	clk = (struct memdev_clock){ .fail_at = -1 };
	d = memdev_new("resume", img, size, &clk, false);
	tok = status_token(d, "example-pin", &state);
	CHECK_EQ_INT(state, ENGINE_STATE_ENCRYPTING);
	CHECK(tok != NULL);
	CHECK_EQ_STR(tok, PIN_ON_DISK);
	free(tok);
	/* nothing Azure appears, and asking for no type gives nothing */
	CHECK(status_token(d, "azure-keyvault", &state) == NULL);
	CHECK(status_token(d, NULL, &state) == NULL);

	/* resumed: the final header carries the same token */
	opts_on(&o, d);
	o.key_token = NULL; /* a resume takes the token from the disk, not the caller */
	CHECK_EQ_INT(engine_convert(&o), 0);
	tok = status_token(d, "example-pin", &state);
	CHECK_EQ_INT(state, ENGINE_STATE_ENCRYPTED);
	CHECK(tok != NULL);
	CHECK_EQ_STR(tok, PIN_ON_DISK);
	free(tok);
	blkdev_close(d);
	free(img);
	free(data);
}
