/* rootcrypt online-resume: what rootcrypt-online.service runs after
 * switch-root (src/boot/online_resume.c does the work). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "config.h"
#include "keystore.h"
#include "log.h"
#include "online_resume.h"
#include "parse.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: rootcrypt online-resume [--config F] [--status-dir D] [--header F]\n\n"
		   "Resume online mode's conversion of the root volume that the initramfs named\n"
		   "in D/online (default /run/rootcrypt): check the system's cryptsetup against\n"
		   "the version fence, take the key from root's kernel keyring (or, when it is\n"
		   "gone, from Key Vault through the volume's token and the vault configured\n"
		   "in F), run stock `cryptsetup reencrypt --resume-only` on the open volume\n"
		   "(capped at the online_rate setting, MB/s) with progress in D/status.json.\n"
		   "A detached header is found where D/online says (its file system, mounted\n"
		   "or mounted privately for the pass); --header: a header file as this\n"
		   "system sees it instead.\n");
}

int cmd_online_resume(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "status-dir", required_argument, NULL, 's' },
		{ "header", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct online_resume o = { .status_dir = "/run/rootcrypt",
				   .unit = "rootcrypt-online.service" };
	struct rootcrypt_config cfg = { 0 };
	struct kv_config kv;
	const char *config_path = CONFIG_DEFAULT_PATH;
	int c, r, rate = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 's': o.status_dir = optarg; break;
		case 'H': o.header = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CMD_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CMD_USAGE;
	}
	/* the running system's file; the kernel line is the initramfs's */
	r = config_load(&cfg, config_path, NULL);
	if (r < 0)
		goto out;
	if (cfg.online_rate && parse_int(cfg.online_rate, 1, 100000, &rate) < 0) {
		r = log_error(EINVAL, "online_rate \"%s\" is not a whole number of MB/s",
			      cfg.online_rate);
		goto out;
	}
	o.rate_mbs = (unsigned)rate;
	keystore_config_from(&kv, &cfg);
	o.kv = &kv;
	r = online_resume_run(&o);
out:
	config_free(&cfg);
	return r;
}
