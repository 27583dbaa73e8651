/* Staging of the BIOS core at enroll (src/cli/enroll_bios.c): load.cfg text,
 * and a real grub-mkimage run whose image bios_core_embed accepts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bios_core.h"
#include "enroll_bios.h"
#include "test.h"

#define B_UUID "11112222-3333-4444-5555-666677778888"

TEST(enroll_bios_load_cfg_text)
{
	char out[160];

	CHECK_EQ_INT(enroll_bios_load_cfg(B_UUID, 2, out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "search.fs_uuid " B_UUID " root hd0,gpt2\nset prefix=($root)'/grub'\n");
	CHECK_EQ_INT(enroll_bios_load_cfg("x", 2, out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(enroll_bios_load_cfg(B_UUID, 0, out, sizeof(out)), -EINVAL);
	CHECK_EQ_INT(enroll_bios_load_cfg(B_UUID, 2, out, 20), -ENOSPC);
}

TEST(enroll_bios_stage_runs_grub_mkimage)
{
	char dir[] = "/tmp/rc-bios-XXXXXX", path[4096], sha[65], cmd[4200], want[80] = "";
	uint8_t boot[512] = { 0 }, mbr[512], *core, *out;
	FILE *f;
	long len;
	const char *why;

	if (access("/usr/lib/grub/i386-pc/boot.img", R_OK) != 0 || system("command -v grub-mkimage "
								   ">/dev/null") != 0)
		SKIP("grub-mkimage or /usr/lib/grub/i386-pc missing (grub-pc-bin)");
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ_INT(enroll_bios_stage("/usr/lib/grub/i386-pc", B_UUID, 2, dir, path, sizeof(path),
				       sha), 0);
	snprintf(cmd, sizeof(cmd), "sha256sum %s/core.img", dir);
	f = popen(cmd, "r");
	CHECK(f && fgets(want, sizeof(want), f));
	pclose(f);
	CHECK(strncmp(want, sha, 64) == 0);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	core = malloc((size_t)len);
	out = malloc((size_t)len + 512);
	CHECK(fread(core, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	boot[510] = 0x55;
	boot[511] = 0xaa;
	CHECK_EQ_INT(bios_core_embed(boot, boot, core, (size_t)len, 6144, mbr, out, &why), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	free(core);
	free(out);
}
