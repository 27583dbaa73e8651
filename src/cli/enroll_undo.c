#include "enroll_undo.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "bootdev.h"
#include "config.h"
#include "engine.h"
#include "enroll_split.h"
#include "log.h"
#include "mountinfo.h"
#include "volume_key_ref.h"

/* What the config says about the root, as this system reaches it. */
struct undo_root {
	char node[PATH_MAX];	/* the root partition's node; "" = not here */
	char header[PATH_MAX];	/* detached: the header file as reached here */
	char name[64];		/* /dev/mapper/NAME */
	char header_fs[PATH_MAX]; /* detached: header_device as configured, for messages */
	bool detached;
};

/* A device spec (UUID=, PARTUUID=, a path) -> its real node; false when it
 * is not here. */
static bool spec_node(const char *spec, char *node, size_t n)
{
	char by[PATH_MAX], real[PATH_MAX];

	if (bootdev_spec_path(spec, by, sizeof(by)) < 0 || !realpath(by, real) ||
	    (size_t)snprintf(node, n, "%s", real) >= n)
		return false;
	return true;
}

/* Detached: the header file where this system reaches it, as the
 * initramfs does (header is a path inside header_device's file system):
 * a mount of that device that reaches it. Without header_device, header
 * is a path on the system. 0, or -ENOENT when the device is not here or
 * not mounted (nothing logged: the caller says what that means). */
static int detached_header(const char *root, const struct rootcrypt_config *c, char *out,
			   size_t n)
{
	char dev[PATH_MAX];
	struct stat st;
	bool ro;
	int r;

	if (!c->header_device) {
		if ((size_t)snprintf(out, n, "%s%s", strcmp(root, "/") ? root : "", c->header) >= n)
			return -ENAMETOOLONG;
		return 0;
	}
	if (!spec_node(c->header_device, dev, sizeof(dev)) || stat(dev, &st) < 0 ||
	    !S_ISBLK(st.st_mode))
		return -ENOENT;
	r = mountinfo_locate_self(major(st.st_rdev), minor(st.st_rdev), c->header, out, n, &ro);
	return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

/* The configured root from the config text. 0 with u->node "" when there
 * is no config or no device here (an image tree whose disk is not
 * attached): the plain undo applies. -ENOENT (one line logged) when the
 * layout is detached, the root partition is here, but its header file
 * cannot be reached: the partition alone cannot tell plain from
 * encrypted, so nothing may be undone. */
static int configured_root(const char *root, const char *conf_text, struct undo_root *u)
{
	struct rootcrypt_config c = { 0 };
	int r = 0;

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "root");
	if (!conf_text ||
	    config_parse_file_text(&c, conf_text, strlen(conf_text), "/etc/rootcrypt.conf") < 0)
		goto out;
	if (c.name)
		snprintf(u->name, sizeof(u->name), "%s", c.name);
	if (!c.device || !spec_node(c.device, u->node, sizeof(u->node))) {
		u->node[0] = '\0';
		goto out;
	}
	u->detached = c.layout && !strcmp(c.layout, "detached");
	if (!u->detached)
		goto out;
	snprintf(u->header_fs, sizeof(u->header_fs), "%s",
		 c.header_device ? c.header_device : "the root file system");
	/* no header: an invalid config (config_validate); nothing to find */
	r = c.header ? detached_header(root, &c, u->header, sizeof(u->header)) : -ENOENT;
	if (r < 0)
		r = log_error(-r, "--undo: the root %s has the detached layout and its header file "
			      "\"%s\" on %s cannot be reached here (not mounted?): without it "
			      "rootcrypt cannot tell whether the root is encrypted; mount it and "
			      "run --undo again (nothing was changed)",
			      u->node, c.header ? c.header : "?", u->header_fs);
out:
	config_free(&c);
	return r;
}

/* How to decrypt offline, per layout. */
static void say_decrypt(const struct undo_root *u)
{
	/* --hotzone-size: on a block device cryptsetup 2.6.1 refuses its
	 * default ("Moved segment too large ... available space for
	 * 12124160"); 4M decrypts rootcrypt's 16 MiB shift (enroll-split.sh) */
	if (!u->detached)
		printf("      cryptsetup reencrypt --decrypt --header NEW-HEADER-FILE --hotzone-size 4M %s\n"
		       "    (stock cryptsetup moves the header to that file, on another disk, and the "
		       "data back to the start of the partition);",
		       u->node);
	else
		/* stock cryptsetup leaves the decrypted volume's header in the
		 * file (a linear segment, no keyslots) */
		printf("      cryptsetup reencrypt --decrypt --header %s %s\n"
		       "    (the header file as this system reaches it; the data stays where it "
		       "is); then delete that header file (cryptsetup leaves it behind),",
		       u->header, u->node);
	printf(" then `rootcrypt enroll --undo` on the decrypted system removes the rest\n");
}

int enroll_undo_encrypted_root(const char *root, const char *conf_text, bool dry_run)
{
	struct engine_opts o = { .key_token_type = VOLUME_TOKEN_TYPE };
	struct engine_status es;
	struct undo_root u;
	char key[512];
	bool encrypting;
	int r;

	r = configured_root(root, conf_text, &u);
	if (r < 0)
		return r;
	if (!u.node[0])
		return 0;
	o.target = u.node;
	if (u.detached) {
		o.layout = ENGINE_LAYOUT_DETACHED;
		o.header = u.header;
	}
	if (engine_status(&o, &es) < 0)
		return 0;
	encrypting = es.state == ENGINE_STATE_ENCRYPTING;
	if (!encrypting && es.state != ENGINE_STATE_ENCRYPTED) {
		engine_status_clear(&es);
		return 0;
	}
	volume_ref_summary(es.key_token, key, sizeof(key));
	printf("  the root partition %s is %s (LUKS2 %s, key %s%s%s): rootcrypt cannot decrypt it "
	       "from the running system\n"
	       "    decrypting is an offline job: from a rescue system where %s is not in use, "
	       "with the passphrase from that Key Vault secret,\n",
	       u.node, encrypting ? "being encrypted" : "encrypted", es.info.uuid, key,
	       u.detached ? ", header file " : "", u.detached ? u.header : "", u.node);
	engine_status_clear(&es);
	say_decrypt(&u);
	printf("  kept: /etc/rootcrypt.conf, the initramfs%s GRUB's root=/dev/mapper/%s%s%s: "
	       "the encrypted root needs them to boot\n",
	       u.detached ? "," : " and", u.name, u.detached ? " and the header file " : "",
	       u.detached ? u.header : "");
	return enroll_split_undo_encrypted(root, u.node, conf_text, dry_run) < 0 ? -EIO : 1;
}
