/* Pure parts of `rootcrypt enroll`: the config file text and the kernel
 * command line edit. No I/O, so they are unit-tested directly. */
#pragma once
#include <stdbool.h>

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
