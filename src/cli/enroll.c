#include "enroll.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkdev.h"
#include "bootdev.h"
#include "engine.h"
#include "fsprobe.h"
#include "online_plan.h"
#include "parttable.h"

static const char *const heading[] = {
	"# rootcrypt configuration, written by `rootcrypt enroll`.",
	"# Kernel parameters rootcrypt.KEY=VALUE override these lines at boot.",
};

static void add_line(FILE *f, const char *key, const char *value)
{
	if (value && *value)
		fprintf(f, "%s = %s\n", key, value);
}

char *enroll_config_text(const struct enroll_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s\n%s\n", heading[0], heading[1]);
	add_line(f, "device", o->device);
	add_line(f, "name", o->name ? o->name : "root");
	add_line(f, "vault", o->vault);
	add_line(f, "secret", o->secret);
	add_line(f, "kek", o->kek);
	add_line(f, "kek_alg", o->kek ? (o->kek_alg ? o->kek_alg : "RSA-OAEP-256") : NULL);
	add_line(f, "layout", o->layout ? o->layout : "shift");
	add_line(f, "header", o->header);
	add_line(f, "header_device", o->header_device);
	add_line(f, "client_id", o->client_id);
	add_line(f, "mode", o->mode ? o->mode : "offline");
	if (o->boot_split_uuid) {
		add_line(f, "boot_split_uuid", o->boot_split_uuid);
		add_line(f, "boot_split_partuuid", o->boot_split_partuuid);
		add_line(f, "boot_split_size", o->boot_split_size);
		add_line(f, "boot_split_core", o->boot_split_core);
		add_line(f, "boot_split_core_sha256", o->boot_split_core ? o->boot_split_core_sha256
									 : NULL);
		add_line(f, "boot_split_esp_files", o->boot_split_esp_files);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *enroll_kernel_params(const struct enroll_opts *o)
{
	const char *name = o->name ? o->name : "root";
	char *s = NULL;

	/* dracut reads rd.neednet/ip; initramfs-tools reads ip= as well. */
	/* No root= here: GRUB's 10_linux writes one root= of its own before
	 * GRUB_CMDLINE_LINUX (enroll_grub_root_lines makes it ours). */
	if (asprintf(&s, "rootcrypt.name=%s rd.neednet=1 ip=dhcp", name) < 0)
		return NULL;
	return s;
}

bool enroll_param_is_ours(const char *p)
{
	return strncmp(p, "root=", 5) == 0 || strncmp(p, "rootcrypt.", 10) == 0 ||
	       strncmp(p, "rd.neednet=", 11) == 0 || strncmp(p, "ip=", 3) == 0;
}

char *enroll_cmdline_merge(const char *current, const char *params)
{
	size_t cap = strlen(current) + strlen(params) + 2;
	char *out = calloc(1, cap), *copy = strdup(current), *save = NULL;

	if (!out || !copy) {
		free(out);
		free(copy);
		return NULL;
	}
	for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (enroll_param_is_ours(tok))
			continue;
		if (*out)
			strcat(out, " ");
		strcat(out, tok);
	}
	if (params && *params) {
		if (*out)
			strcat(out, " ");
		strcat(out, params);
	}
	free(copy);
	return out;
}

static const char *const managed_keys[] = {
	"device", "name", "vault", "secret", "kek", "kek_alg", "layout", "header",
	"header_device", "client_id", "mode",
};

bool enroll_key_is_managed(const char *key)
{
	/* every boot_split_* line: a re-enroll plans the split again (or
	 * none, once /boot has a file system of its own) */
	if (strncmp(key, "boot_split_", 11) == 0)
		return true;
	for (size_t i = 0; i < sizeof(managed_keys) / sizeof(managed_keys[0]); i++)
		if (strcmp(key, managed_keys[i]) == 0)
			return true;
	return false;
}

/* The key of a "key = value" line, into out; false for comments/blank. */
static bool line_key(const char *line, size_t len, char *out, size_t n)
{
	size_t i = 0, k = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return false;
	while (i < len && line[i] != '=' && line[i] != ' ' && line[i] != '\t' && k + 1 < n)
		out[k++] = line[i++];
	out[k] = '\0';
	return k > 0;
}

char *enroll_config_merge(const char *existing, const struct enroll_opts *o)
{
	char *head = enroll_config_text(o), *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!head || !existing)
		return head;
	f = open_memstream(&buf, &len);
	if (!f) {
		free(head);
		return NULL;
	}
	fputs(head, f);
	for (const char *line = existing, *end; *line; line = end) {
		char key[64];
		size_t n;

		end = strchrnul(line, '\n');
		n = (size_t)(end - line);
		if (*end)
			end++;
		/* our heading is written again above */
		if ((n == strlen(heading[0]) && strncmp(line, heading[0], n) == 0) ||
		    (n == strlen(heading[1]) && strncmp(line, heading[1], n) == 0))
			continue;
		if (line_key(line, n, key, sizeof(key)) && enroll_key_is_managed(key))
			continue;
		fprintf(f, "%.*s\n", (int)n, line);
	}
	free(head);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *enroll_grub_root_lines(const struct enroll_opts *o)
{
	char *s = NULL;

	if (asprintf(&s,
		     "GRUB_DEVICE=/dev/mapper/%s" ENROLL_GRUB_MARK "\n"
		     "GRUB_DISABLE_LINUX_UUID=true" ENROLL_GRUB_MARK "\n"
		     "GRUB_DISABLE_LINUX_PARTUUID=true" ENROLL_GRUB_MARK "\n",
		     o->name ? o->name : "root") < 0)
		return NULL;
	return s;
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

enum enroll_shift enroll_shift_plan(const struct enroll_geom *g, uint64_t *ret_bytes)
{
	return enroll_room_plan(g, false, ret_bytes);
}

enum enroll_shift enroll_room_plan(const struct enroll_geom *g, bool online, uint64_t *ret_bytes)
{
	/* room the conversion needs behind the file system: offline H + T,
	 * online cryptsetup's whole reduction (the copy of the head waits in
	 * the last 16 MiB until the last hotzone) */
	uint64_t room = online ? ONLINE_REDUCE_SIZE : ENGINE_DATA_OFF_DEFAULT + ENGINE_TAIL_SIZE;
	uint64_t cap = online ? online_shift_capacity(g->part_size)
			      : engine_shift_capacity(g->part_size, ENGINE_DATA_OFF_DEFAULT,
						      ENGINE_TAIL_SIZE);
	uint64_t newP = round_up(round_up(g->part_size, 4096) + room, 1ull << 20);

	if (g->have_fs && g->fs_size <= cap) {
		*ret_bytes = g->part_size - g->fs_size;
		return ENROLL_SHIFT_FS_SMALLER;
	}
	if (g->max_size >= newP) {
		*ret_bytes = newP - g->part_size;
		return ENROLL_SHIFT_GROW;
	}
	*ret_bytes = newP - (g->max_size > g->part_size ? g->max_size : g->part_size);
	return ENROLL_SHIFT_NO_ROOM;
}

void enroll_shift_refusal(const char *dev, uint64_t missing, char *buf, size_t n)
{
	uint64_t mib = round_up(missing, 1ull << 20) >> 20;

	snprintf(buf, n,
		 "no room for the LUKS2 header on \"%s\": its file system fills the partition and "
		 "no free disk space follows it (%llu MiB missing); grow the disk by %llu MiB, or "
		 "set the boot setting `layout = detached` with the header on a file system other "
		 "than the root (e.g. a separate /boot)",
		 dev, (unsigned long long)mib, (unsigned long long)mib);
}

int enroll_probe(const char *dev, struct enroll_geom *ret)
{
	struct blkdev *d = NULL, *disk = NULL;
	struct parttable_part p;
	struct fsprobe_fs fs;
	const char *sig = NULL;
	char diskp[PATH_MAX];
	unsigned partno;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = blkdev_open(dev, BLKDEV_RDONLY, &d);
	if (r < 0)
		return r;
	ret->part_size = ret->max_size = d->size;
	if (d->is_regular) /* the engine grows an image file as needed */
		ret->max_size = UINT64_MAX;
	r = fsprobe_read(d, &fs, &sig);
	blkdev_close(d);
	if (r < 0)
		return r;
	if (r == 1) {
		ret->have_fs = true;
		ret->fs_size = fs.size;
		ret->fs_type = fs.type;
	}
	if (bootdev_partition_of(dev, diskp, sizeof(diskp), &partno) < 0)
		return 0; /* not a partition: nothing can grow */
	r = blkdev_open(diskp, BLKDEV_RDONLY, &disk);
	if (r < 0)
		return r;
	r = parttable_find(disk, partno, &p);
	blkdev_close(disk);
	if (r < 0)
		return r;
	ret->part_size = p.size;
	ret->max_size = p.max_size;
	return 0;
}
