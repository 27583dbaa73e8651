/* rootcrypt configuration: /etc/rootcrypt.conf ("key = value" lines, '#'
 * comments) and `rootcrypt.KEY=VALUE` on the kernel command line, which
 * overrides the file (except imds, resolve, ca_file: file only). Parsing
 * is pure (text in, struct out) and fuzzed; config_load() adds the file
 * reads. */
#pragma once
#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/rootcrypt.conf"

struct rootcrypt_config {
	char *device;      /* root partition to convert, e.g. /dev/sda1 or UUID=... */
	char *vault;       /* https://NAME.vault.azure.net */
	char *secret;      /* Key Vault secret name (NULL: derived from vmId) */
	char *kek;         /* key-encryption key URL https://.../keys/NAME[/VERSION] */
	char *kek_alg;     /* RSA-OAEP-256 (default) or RSA-OAEP */
	char *layout;      /* shift | detached */
	char *name;        /* device-mapper name, e.g. root */
	char *header;      /* detached header file (inside header_device's fs when set) */
	char *header_device; /* file system holding the header (e.g. /boot: UUID=...) */
	char *client_id;   /* user-assigned identity selectors (at most one) */
	char *object_id;
	char *msi_res_id;
	char *imds;        /* IMDS base URL override (tests): http://HOST:PORT; file only */
	char *ca_file;     /* CA bundle for the vault; file only */
	char *resolve;     /* HOST:PORT:ADDR for the vault (tests); file only */
	char *token_vault; /* pinned (default): a volume's token must name `vault`
			    * (and `kek`); any: the token decides */
	char *untagged_secret; /* refuse (default): a secret without the VolumeUUID
				* tag (as an older rootcrypt stored them) does not
				* unlock a volume; accept: it does */
	char *mode;        /* offline (default): the first boot converts the whole
			    * root before the system starts; online: it sets the
			    * conversion up and boots on, the rest runs in the
			    * background (src/engine/ONLINE.md) */
	char *online_rate; /* MB/s cap of online mode's background pass (io.max
			    * through systemd, ONLINE.md "Rate limit"); unset: none */
	/* The /boot split (src/boot/BOOT.md), written by enroll; file only.
	 * boot_split_uuid (B) set = the first boot gives /boot a partition
	 * of its own before it encrypts the root. */
	char *boot_split_uuid;      /* B: UUID of the new /boot file system */
	char *boot_split_partuuid;  /* PB: unique GUID of the new partition */
	char *boot_split_size;      /* N in MiB (default 512, at least 64) */
	char *boot_split_core;      /* staged GRUB i386-pc core on the root (path) */
	char *boot_split_core_sha256; /* its sha256 (64 hex digits) */
	char *boot_split_esp_files; /* ESP files naming R, space separated
				     * (e.g. EFI/debian/grub.cfg) */
	long retry_timeout_ms; /* retry_timeout= in seconds; 0 = default */
	long prompt_timeout_ms; /* prompt_timeout=: recovery prompt wait; 0 = forever */
	long device_timeout_ms; /* device_timeout=: wait for the root device; 0 = 120 s */
};

/* Sets one key (without the "rootcrypt." prefix). Returns 0, -ENOENT for
 * an unknown key, -EINVAL for a bad value; prints nothing. */
int config_set(struct rootcrypt_config *c, const char *key, const char *value);

/* The value of `key` as the file would spell it (seconds as a whole
 * number), malloc'ed in *ret; *ret NULL when it is not set. Returns 0,
 * -ENOENT for an unknown key, -ENOMEM. */
int config_get(const struct rootcrypt_config *c, const char *key, char **ret);

/* Parses a configuration file's text. Errors are one line naming
 * origin:LINE; returns 0 or -EINVAL (unknown key or bad value: a typo in
 * the file that decides whether a disk is encrypted must not pass). */
int config_parse_file_text(struct rootcrypt_config *c, const char *text, size_t len,
			   const char *origin);

/* Applies the rootcrypt.* parameters of a kernel command line (quotes as
 * the kernel parses them, everything after " -- " belongs to init).
 * Unknown rootcrypt.* keys and bad values are warned about and ignored, so
 * a typo cannot stop a boot; so are imds, resolve and ca_file, which only
 * the file may set. Returns 0 or -ENOMEM. */
int config_parse_cmdline(struct rootcrypt_config *c, const char *cmdline);

/* Reads file_path (a missing file is not an error) then cmdline_path
 * (e.g. /proc/cmdline; NULL = skip). Returns 0 or a negative errno. */
int config_load(struct rootcrypt_config *c, const char *file_path, const char *cmdline_path);

/* Checks cross-field rules (one identity selector at most). */
int config_validate(const struct rootcrypt_config *c);

void config_free(struct rootcrypt_config *c);
