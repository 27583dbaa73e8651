/* Pure parts of `rootcrypt enroll`: the config file text and the kernel
 * command line edit. No I/O, so they are unit-tested directly. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct enroll_opts {
	const char *device;     /* "PARTUUID=..." or a path */
	const char *name;       /* mapping name, default "root" */
	const char *vault;      /* https://NAME.vault.azure.net */
	const char *secret;     /* secret name; "" = derive from vmId at first boot */
	const char *kek;        /* key URL or NULL */
	const char *kek_alg;    /* RSA-OAEP-256 (default) or RSA-OAEP */
	const char *layout;     /* shift | detached */
	const char *header;     /* detached header: path inside header_device's fs, or NULL */
	const char *header_device; /* the file system holding it (e.g. /boot), or NULL */
	const char *client_id;  /* user-assigned identity or NULL */
	const char *mode;       /* offline (default) | online */
	/* The /boot split (src/boot/BOOT.md), when /boot is a directory of the
	 * root: boot_split_uuid NULL = no split. Sizes in MiB as text. */
	const char *boot_split_uuid;        /* B */
	const char *boot_split_partuuid;    /* PB */
	const char *boot_split_size;        /* N */
	const char *boot_split_core;        /* staged BIOS core (path on the root) or NULL */
	const char *boot_split_core_sha256;
	const char *boot_split_esp_files;   /* ESP files naming R, space separated, or NULL */
};

/* /etc/rootcrypt.conf contents ("key = value" lines); malloc'ed. */
char *enroll_config_text(const struct enroll_opts *o);

/* The kernel parameters rootcrypt needs: root=/dev/mapper/NAME, networking
 * for the initramfs, rootcrypt.name. malloc'ed. */
char *enroll_kernel_params(const struct enroll_opts *o);

/* Rewrites a GRUB_CMDLINE_LINUX value: drops parameters rootcrypt owns
 * (root=, rootcrypt.*, rd.neednet=, ip=) and appends `params`. malloc'ed. */
char *enroll_cmdline_merge(const char *current, const char *params);

/* Parameters rootcrypt owns, removed again by `enroll --undo`. */
bool enroll_param_is_ours(const char *param);

/* Keys of /etc/rootcrypt.conf that enroll decides (replaced or dropped on
 * every enroll); any other line of an existing file is kept. */
bool enroll_key_is_managed(const char *key);

/* The new /etc/rootcrypt.conf: enroll's keys first, then every line of
 * `existing` (NULL: none) that is not one of them and not enroll's own
 * heading, in order: settings enroll has no option for (ca_file, resolve,
 * token_vault, ...) and comments survive. malloc'ed. */
char *enroll_config_merge(const char *existing, const struct enroll_opts *o);

/* Lines enroll adds to /etc/default/grub so grub-mkconfig's 10_linux puts
 * root=/dev/mapper/NAME as its one root= (GRUB_DEVICE is probed before the
 * defaults file is sourced, so the file's value wins; with UUID and
 * PARTUUID disabled 10_linux uses GRUB_DEVICE as is). Each ends with
 * ENROLL_GRUB_MARK so a later enroll or --undo drops them. malloc'ed. */
#define ENROLL_GRUB_MARK "  # rootcrypt"
char *enroll_grub_root_lines(const struct enroll_opts *o);

/* What the root partition looks like, for the plan (enroll) and for the
 * first boot's check before a key is stored. */
struct enroll_geom {
	uint64_t part_size;	/* bytes of the partition (or device) */
	uint64_t max_size;	/* bytes it may grow to (next partition / end of disk) */
	uint64_t fs_size;	/* bytes its file system uses, when have_fs */
	bool have_fs;
	const char *fs_type;
};

enum enroll_shift {
	ENROLL_SHIFT_FS_SMALLER = 1,	/* the file system leaves room in the partition */
	ENROLL_SHIFT_GROW,		/* the partition grows into free space behind it */
	ENROLL_SHIFT_NO_ROOM,		/* neither: the shift layout cannot work */
};

/* The engine's own rule (shift_make_room: engine_shift_capacity with
 * ENGINE_DATA_OFF_DEFAULT and ENGINE_TAIL_SIZE, growth to a MiB boundary).
 * *ret_bytes: free bytes behind the file system / bytes of growth / bytes
 * missing, by the result. Offline mode's room. */
enum enroll_shift enroll_shift_plan(const struct enroll_geom *g, uint64_t *ret_bytes);

/* The same for a mode: offline as enroll_shift_plan; online (in place) the
 * file system must end by P - 32 MiB (online_shift_capacity: cryptsetup's
 * --reduce-device-size 32M), and the partition grows by 32 MiB (to a MiB
 * boundary) when it does not. */
enum enroll_shift enroll_room_plan(const struct enroll_geom *g, bool online, uint64_t *ret_bytes);

/* Reads the geometry of the partition node `dev` (its file system and, via
 * sysfs and the partition table, the free space behind it). Read-only.
 * Negative errno on failure (one line printed). */
int enroll_probe(const char *dev, struct enroll_geom *ret);

/* One line for the shift refusal: what is missing and the ways out (grow
 * the disk, or the `layout = detached` boot setting with the header on a
 * file system other than the root). Writes into buf. */
void enroll_shift_refusal(const char *dev, uint64_t missing, char *buf, size_t n);
