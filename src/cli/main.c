/* Subcommand dispatch. Each subcommand lives in its own cmd_*.c. */
#include <json-c/json_c_version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "crypto.h"
#include "http.h"
#include "harden.h"
#include "log.h"

#ifndef ROOTCRYPT_VERSION
#define ROOTCRYPT_VERSION "0.0.0"
#endif

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	bool hidden;
};

static const struct subcommand subcommands[] = {
	{ "encrypt", cmd_encrypt,
	  "encrypt TARGET [--partition N] [--key-file F] [--layout shift|detached] [--header F] [--json]", false },
	{ "status", cmd_status, "status TARGET [--header F] [--json]", false },
	{ "open", cmd_open, "open TARGET NAME [--header F] [--key-file F]", false },
	{ "boot", cmd_boot, "boot                 (initramfs entry point)", false },
	{ "enroll", cmd_enroll, "enroll [...]         (prepare this system for encryption at boot)", false },
	{ "key", cmd_key, "key store|fetch|rewrap --vault URL --secret NAME [--kek KEY-URL] --key-file F", false },
	{ "online-resume", cmd_online_resume,
	  "online-resume        (rootcrypt-online.service: the online conversion's pass)", false },
	{ "config", cmd_config, "config get KEY        (the effective setting, for scripts)", false },
	{ "debug-http", cmd_debug_http, "debug-http URL [--ca-file F] [--resolve H:P:A] [--method M]", true },
	{ "debug-luks2", cmd_debug_luks2, "debug-luks2 ACTION FILE [...]   (LUKS2 header tests)", true },
	{ "debug-ext4tail", cmd_debug_ext4tail, "debug-ext4tail DEVICE [END...]   (shrink rule tests)", true },
	{ "debug-shrink", cmd_debug_shrink, "debug-shrink DEVICE FS-UUID PART-UUID BOOT-UUID TARGET   (boot split step 1 tests)", true },
	{ "debug-bootsplit", cmd_debug_bootsplit,
	  "debug-bootsplit fill|fstab|decide --work DIR ...   (/boot split step tests)", true },
	{ "debug-bootloader", cmd_debug_bootloader, "debug-bootloader esp-switch|bios-stage|bios-switch ...   (/boot split loader tests)", true },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: rootcrypt COMMAND [OPTIONS]\n\n"
		   "Encrypt a Linux root partition in place, keyed from Azure Key Vault.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!subcommands[i].hidden)
			fprintf(f, "  rootcrypt %s\n", subcommands[i].usage);
	fprintf(f, "\n  rootcrypt --version | --help\n"
		   "Run 'rootcrypt COMMAND --help' for a command's options.\n"
		   "Exit codes: 0 ok, 1 failure, 2 usage.\n");
}

int main(int argc, char **argv)
{
	/* Not a test hook (test_hooks.h), kept in the release build: it only
	 * turns on log_debug lines, which carry error codes, offsets, sizes,
	 * URLs and names, never key material or the bearer token (STYLE.md:
	 * "debug output may show checksums and lengths"); an operator needs it
	 * on a machine that fails to boot. */
	const char *dbg = getenv("ROOTCRYPT_DEBUG");

	harden_process();

	if (dbg && *dbg && strcmp(dbg, "0") != 0)
		log_debug_enabled = true;
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("rootcrypt %s\n%s\nlibcurl %s\njson-c %s\n", ROOTCRYPT_VERSION,
		       crypto_library_version(), http_library_version(), json_c_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		const struct subcommand *s = &subcommands[i];
		int r;

		if (strcmp(argv[1], s->name) != 0)
			continue;
		r = s->run(argc - 1, argv + 1);
		return r == CMD_USAGE ? 2 : r < 0 ? 1 : r;
	}
	log_error(EINVAL, "unknown command '%s' (see rootcrypt --help)", argv[1]);
	return 2;
}
