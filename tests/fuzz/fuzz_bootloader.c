/* libFuzzer target for what the /boot split's loader repoint reads from a
 * disk (make fuzz-disk): the FAT reader (src/disk/fatfile.c) and the ESP
 * switch on top of it (src/boot/esp_stub.c), and the BIOS sector 0 / old
 * core checks (src/boot/bios_core.c). Input: one byte giving the device size
 * the harness claims beyond the input, in MiB (so FAT16/32 cluster counts
 * are reachable; reads past the input fail as a short device would), then
 * the start of an ESP image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bios_core.h"
#include "blkdev.h"
#include "esp_stub.h"
#include "fatfile.h"
#include "fuzz_memdev.h"

#define R_UUID "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
#define B_UUID "11112222-3333-4444-5555-666677778888"

static void bios_paths(const uint8_t *in, size_t len)
{
	uint8_t mbr[BIOS_SECTOR], *core;
	const char *why;

	if (len < 2 * BIOS_SECTOR)
		return;
	(void)bios_core_check(in, in, in + BIOS_SECTOR, in[0], 64, len, &why);
	core = malloc((len + BIOS_SECTOR - 1) / BIOS_SECTOR * BIOS_SECTOR);
	if (core && len <= BIOS_CORE_MAX)
		(void)bios_core_embed(in, in, in, len, 6144, mbr, core, &why);
	free(core);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "EFI/debian/grub.cfg", "EFI/BOOT/BOOTX64.EFI",
					     "GRUB.CFG", "A/B/C/D/E/F" };
	struct mem m;
	struct blkdev d = { .ops = &mem_ops, .name = (char *)"fuzz", .sector_size = 512, .fd = -1,
			    .dfd = -1, .priv = &m };

	if (size < 2 || size > (1u << 20))
		return 0;
	m.len = size - 1;
	m.buf = malloc(m.len);
	if (!m.buf)
		return 0;
	memcpy(m.buf, data + 1, m.len);
	d.size = m.len + ((uint64_t)data[0] << 20);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct fatfile f;

		if (fatfile_find(&d, paths[i], &f) == 0 && f.size <= (1u << 20))
			(void)esp_switch(&d, paths[i], R_UUID, B_UUID, 2);
	}
	bios_paths(m.buf, m.len);
	free(m.buf);
	return 0;
}
