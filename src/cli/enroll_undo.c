#include "enroll_undo.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootdev.h"
#include "config.h"
#include "engine.h"
#include "enroll_split.h"
#include "log.h"
#include "volume_key_ref.h"

/* The configured root device's node, from the config text; "" when there
 * is none or it does not exist here. */
static void configured_root(const char *conf_text, char *node, size_t n, char *name, size_t nn)
{
	struct rootcrypt_config c = { 0 };
	char by[PATH_MAX], real[PATH_MAX];

	node[0] = '\0';
	snprintf(name, nn, "root");
	if (!conf_text ||
	    config_parse_file_text(&c, conf_text, strlen(conf_text), "/etc/rootcrypt.conf") < 0)
		goto out;
	if (c.name)
		snprintf(name, nn, "%s", c.name);
	/* detached: the partition alone shows nothing; its header file is on
	 * header_device, wherever that is mounted (not found here) */
	if (!c.device || (c.layout && !strcmp(c.layout, "detached")))
		goto out;
	if (bootdev_spec_path(c.device, by, sizeof(by)) == 0 && realpath(by, real))
		snprintf(node, n, "%s", real);
out:
	config_free(&c);
}

int enroll_undo_encrypted_root(const char *root, const char *conf_text, bool dry_run)
{
	struct engine_opts o = { .key_token_type = VOLUME_TOKEN_TYPE };
	struct engine_status es;
	char node[PATH_MAX], name[64], key[512];
	bool encrypting;

	configured_root(conf_text, node, sizeof(node), name, sizeof(name));
	if (!node[0])
		return 0;
	o.target = node;
	if (engine_status(&o, &es) < 0)
		return 0;
	encrypting = es.state == ENGINE_STATE_ENCRYPTING;
	if (!encrypting && es.state != ENGINE_STATE_ENCRYPTED) {
		engine_status_clear(&es);
		return 0;
	}
	volume_ref_summary(es.key_token, key, sizeof(key));
	/* --hotzone-size: on a block device cryptsetup 2.6.1 refuses its
	 * default ("Moved segment too large ... available space for
	 * 12124160"); 4M decrypts rootcrypt's 16 MiB shift (enroll-split.sh) */
	printf("  the root partition %s is %s (LUKS2 %s, key %s): rootcrypt cannot decrypt it "
	       "from the running system\n"
	       "    decrypting is an offline job: from a rescue system where %s is not in use, "
	       "with the passphrase from that Key Vault secret,\n"
	       "      cryptsetup reencrypt --decrypt --header NEW-HEADER-FILE --hotzone-size 4M %s\n"
	       "    (stock cryptsetup moves the header to that file, on another disk, and the data "
	       "back to the start of the partition); then `rootcrypt enroll --undo` on the "
	       "decrypted system removes the rest\n",
	       node, encrypting ? "being encrypted" : "encrypted", es.info.uuid, key, node, node);
	engine_status_clear(&es);
	printf("  kept: /etc/rootcrypt.conf, the initramfs and GRUB's root=/dev/mapper/%s: the "
	       "encrypted root needs them to boot\n", name);
	return enroll_split_undo_encrypted(root, node, conf_text, dry_run) < 0 ? -EIO : 1;
}
