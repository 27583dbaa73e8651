/* ESP stub and unsigned image patching (src/boot/esp_stub.c, BOOT.md step
 * 5). The FAT side and the write are tested against mkfs.vfat/mtools in
 * tests/integration/bootloader-switch.sh. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "esp_stub.h"
#include "test.h"

#define R_UUID "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
#define B_UUID "11112222-3333-4444-5555-666677778888"

static int patch_text(const char *in, unsigned k, char *out, const char **why)
{
	size_t len = strlen(in);
	int r = esp_stub_patch((const uint8_t *)in, len, R_UUID, B_UUID, k, (uint8_t *)out, why);

	out[len] = 0;
	return r;
}

TEST(esp_stub_debian_stub_uuid_and_hint)
{
	char out[512];
	const char *why;

	CHECK_EQ_INT(patch_text("search.fs_uuid " R_UUID " root hd0,gpt1\n"
				"set prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n",
				2, out, &why), 1);
	CHECK_EQ_STR(out, "search.fs_uuid " B_UUID " root hd0,gpt2\n"
			  "set prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n");
}

TEST(esp_stub_hint_kept_when_length_differs)
{
	char out[512];
	const char *why;

	CHECK_EQ_INT(patch_text("search.fs_uuid " R_UUID " root hd0,gpt1\n", 16, out, &why), 1);
	CHECK_EQ_STR(out, "search.fs_uuid " B_UUID " root hd0,gpt1\n");
}

TEST(esp_stub_search_fs_uuid_option_form)
{
	char out[512];
	const char *why;

	CHECK_EQ_INT(patch_text("  search --no-floppy --fs-uuid --set=root --hint=hd0,gpt1 "
				"0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0\n", 3, out, &why), 1);
	CHECK_EQ_STR(out, "  search --no-floppy --fs-uuid --set=root --hint=hd0,gpt3 " B_UUID "\n");
}

TEST(esp_stub_other_uuid_lines_untouched)
{
	char out[512];
	const char *why;
	const char *in = "search.fs_uuid 99999999-3333-4444-5555-666677778888 root hd0,gpt1\n";

	CHECK_EQ_INT(patch_text(in, 2, out, &why), 0);
}

TEST(esp_stub_refuses_r_outside_search)
{
	char out[512];
	const char *why = NULL;

	CHECK_EQ_INT(patch_text("search.fs_uuid " R_UUID " root\nlinux /vmlinuz root=UUID=" R_UUID
				"\n", 2, out, &why), -EINVAL);
	CHECK(why && strstr(why, "outside"));
	CHECK_EQ_INT(patch_text("search --label " R_UUID "\n", 2, out, &why), -EINVAL);
	CHECK_EQ_INT(patch_text("search.fs_uuid x" R_UUID " root\n", 2, out, &why), -EINVAL);
}

TEST(esp_stub_refuses_binary_and_bad_args)
{
	uint8_t in[] = "search.fs_uuid " R_UUID " root\n\0x", out[64];
	const char *why = NULL;

	CHECK_EQ_INT(esp_stub_patch(in, sizeof(in), R_UUID, B_UUID, 2, out, &why), -EINVAL);
	CHECK(why && strstr(why, "not a text stub"));
	CHECK_EQ_INT(esp_stub_patch(in, 10, R_UUID, "nope", 2, out, &why), -EINVAL);
	CHECK_EQ_INT(esp_stub_patch(in, 10, R_UUID, R_UUID, 2, out, &why), -EINVAL);
	CHECK_EQ_INT(esp_stub_patch(in, 10, R_UUID, B_UUID, 0, out, &why), -EINVAL);
}

/* A minimal PE32+ image of len bytes with R at uuid_at, signed when sig. */
static uint8_t *pe_image(size_t len, size_t uuid_at, int sig)
{
	uint8_t *p = calloc(1, len);
	size_t pe = 0x80, opt = pe + 24;

	p[0] = 'M';
	p[1] = 'Z';
	p[0x3c] = (uint8_t)pe;
	memcpy(p + pe, "PE\0\0", 4);
	p[opt] = 0x0b;
	p[opt + 1] = 0x02;
	p[opt + 108] = 16; /* NumberOfRvaAndSizes */
	if (sig) {
		p[opt + 112 + 4 * 8] = 0x00;
		p[opt + 112 + 4 * 8 + 1] = 0x10;	/* security dir at 0x1000 */
		p[opt + 112 + 4 * 8 + 4] = 0x40;	/* size 0x40 */
	}
	memcpy(p + uuid_at, R_UUID, ESP_UUID_LEN);
	return p;
}

TEST(esp_image_unsigned_patched_in_one_sector)
{
	uint8_t *in = pe_image(4096, 1030, 0), out[4096];
	size_t lo, hi;
	const char *why;

	CHECK_EQ_INT(esp_file_patch(in, 4096, R_UUID, B_UUID, 2, 512, out, &lo, &hi, &why), 1);
	CHECK_EQ_INT(lo, 1030);
	CHECK_EQ_INT(hi, 1030 + ESP_UUID_LEN);
	CHECK(memcmp(out + 1030, B_UUID, ESP_UUID_LEN) == 0);
	CHECK(memcmp(out, in, 1030) == 0 && memcmp(out + 1066, in + 1066, 4096 - 1066) == 0);
	free(in);
}

TEST(esp_image_refuses_straddle_and_signature)
{
	uint8_t *in = pe_image(4096, 1000, 0), out[4096];
	size_t lo, hi;
	const char *why = NULL;

	CHECK_EQ_INT(esp_file_patch(in, 4096, R_UUID, B_UUID, 2, 512, out, &lo, &hi, &why), -EINVAL);
	CHECK(why && strstr(why, "straddle"));
	free(in);
	in = pe_image(4096, 1030, 1);
	CHECK_EQ_INT(esp_image_patch(in, 4096, R_UUID, B_UUID, out, &why), -EINVAL);
	CHECK(why && strstr(why, "signed"));
	memset(in + 1030, 'x', ESP_UUID_LEN); /* signed but not naming R: nothing to do */
	CHECK_EQ_INT(esp_image_patch(in, 4096, R_UUID, B_UUID, out, &why), 0);
	in[0x3c] = 0xff;
	in[0x3d] = 0xff; /* PE header offset outside the file */
	CHECK_EQ_INT(esp_image_patch(in, 4096, R_UUID, B_UUID, out, &why), -EINVAL);
	free(in);
}

TEST(esp_stub_straddle_refused)
{
	uint8_t in[1024], out[1024];
	size_t lo, hi;
	const char *why = NULL;
	const char *line = "search.fs_uuid " R_UUID " root\n";

	memset(in, '#', sizeof(in));
	in[0] = '\n';
	memcpy(in + 500 - 15, line, strlen(line)); /* UUID from 500 to 536 */
	in[500 - 16] = '\n';
	CHECK_EQ_INT(esp_file_patch(in, sizeof(in), R_UUID, B_UUID, 2, 512, out, &lo, &hi, &why),
		     -EINVAL);
	CHECK(why && strstr(why, "straddle"));
}
