/* The pure parts of enroll's /boot split (enroll_split.h): identities and
 * the lines it prints. */
#include <stdio.h>
#include <string.h>

#include "enroll_split.h"

#define MIB (1ull << 20)

void enroll_split_uuid(const uint8_t rnd[16], char out[37])
{
	uint8_t b[16];
	char *p = out;

	memcpy(b, rnd, 16);
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", b[i]);
	}
}

#define REFUSAL_HEAD "cannot split /boot off the root (GRUB reads it from the root file " \
		     "system, which the encryption hides): "

void enroll_split_refusal(const struct bootsplit_plan *p, const struct bootsplit_fs *fs,
			  uint64_t tail_bytes, char *buf, size_t n)
{
	unsigned long long grow = (unsigned long long)p->grow_mib;
	char way[64] = "";

	if (grow)
		snprintf(way, sizeof(way), ": grow the disk by %llu MiB", grow);
	/* F = the size the split needs: data above it first, else resize2fs's floor */
	if (fs->type == BOOTSPLIT_FS_EXT4 && p->reason && strstr(p->reason, "holds data") &&
	    tail_bytes < fs->size && fs->keep_min <= fs->size - tail_bytes &&
	    fs->resize_min > fs->size - tail_bytes)
		snprintf(buf, n, REFUSAL_HEAD "resize2fs will not shrink the root file system below "
			 "%llu MiB (its own estimate of the minimum), the split needs it at %llu "
			 "MiB%s", (unsigned long long)((fs->resize_min + MIB - 1) / MIB),
			 (unsigned long long)((fs->size - tail_bytes) / MIB), way);
	else if (fs->type == BOOTSPLIT_FS_EXT4 && p->reason && strstr(p->reason, "holds data"))
		snprintf(buf, n, REFUSAL_HEAD "the last %llu MiB of the root file system hold "
			 "data%s", (unsigned long long)((tail_bytes + MIB - 1) / MIB), way);
	else
		snprintf(buf, n, REFUSAL_HEAD "%s%s", p->reason ? p->reason : "no plan", way);
}

void enroll_split_plan_text(const struct bootsplit_plan *p, const struct bootsplit_disk *d,
			    const struct bootsplit_fs *fs, const struct enroll_split *s,
			    char *buf, size_t n)
{
	unsigned long long ss = d->sector_size;
	unsigned long long p1_mib = (p->p1_last + 1 - d->p1_first) * ss / MIB;
	unsigned long long pb_mib = (p->pb_last + 1 - p->pb_first) * ss / MIB;
	char room[160], loaders[320];

	if (p->shrink_fs)
		snprintf(room, sizeof(room), "shrinks the root file system from %llu to %llu MiB "
			 "and its partition to %llu MiB, ", (unsigned long long)(fs->size / MIB),
			 (unsigned long long)(p->fs_target / MIB), p1_mib);
	else if (p->layout == BOOTSPLIT_L1)
		snprintf(room, sizeof(room), "shrinks the root partition to %llu MiB (its %llu MiB "
			 "file system already fits), ", p1_mib,
			 (unsigned long long)(fs->size / MIB));
	else
		room[0] = '\0';
	if (s->esp_files[0] && s->core[0])
		snprintf(loaders, sizeof(loaders), "UEFI: %s; BIOS: staged core", s->esp_files);
	else if (s->esp_files[0])
		snprintf(loaders, sizeof(loaders), "UEFI: %s", s->esp_files);
	else
		snprintf(loaders, sizeof(loaders), "BIOS: staged core");
	snprintf(buf, n, "plan: split /boot - the first boot %sadds a %llu MiB /boot partition "
		 "(number %u, PARTUUID %s, file system UUID %s) at the end of the disk%s, copies "
		 "/boot into it, repoints GRUB (%s), then encrypts the root with the shift layout",
		 room, pb_mib, p->pb_number, s->pb_uuid, s->b_uuid,
		 p->layout == BOOTSPLIT_L2 ? " (free space: no shrink)" : "", loaders);
}
