/* rootcrypt encrypt: offline conversion with the keyslot passphrase from a
 * key file (image builders, tests, benchmarks). rootcrypt boot calls
 * engine_convert() itself with the passphrase from Key Vault. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "engine.h"
#include "keyfile.h"
#include "log.h"
#include "parse.h"
#include "secmem.h"


static void usage(FILE *f)
{
	fprintf(f,
		"Usage: rootcrypt encrypt TARGET [--partition N] [--key-file F]\n"
		"                 [--layout shift|detached] [--header F] [--json]\n"
		"                 [--sector-size 512|4096] [--unit BYTES] [--threads N]\n\n"
		"Convert TARGET (block device or image file; with --partition N, partition N of\n"
		"a GPT/MBR disk or disk image) in place to LUKS2 (aes-xts-plain64). Resumable:\n"
		"run it again after any interruption. An already converted volume is left as is.\n\n"
		"  --key-file F      keyslot passphrase: the whole content of F\n"
		"  --layout shift    header at the start, data moved up 16 MiB (default); needs\n"
		"                    17 MiB at the end: extends an image file, grows the partition\n"
		"                    into free space after it, or uses space an ext4/XFS file\n"
		"                    system leaves unused\n"
		"  --layout detached header in the file --header F, data at the same offsets\n"
		"  --json            progress as one JSON object per line\n"
		"  --sector-size N   encryption sector (default 4096 when the size allows)\n"
		"  --unit BYTES      I/O size (default 16 MiB); --threads N encryptor threads\n");
}

int cmd_encrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "partition", required_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "layout", required_argument, NULL, 'l' },
		{ "header", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "sector-size", required_argument, NULL, 's' },
		{ "unit", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{}
	};
	struct engine_opts o = { 0 };
	const char *key_file = NULL;
	char *pass = NULL;
	uint64_t v;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'p':
			if (parse_size(optarg, &v) < 0 || v < 1 || v > 128)
				return log_error(EINVAL, "--partition needs a number 1..128"), CMD_USAGE;
			o.partition = (unsigned)v;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'l':
			if (strcmp(optarg, "shift") == 0)
				o.layout = ENGINE_LAYOUT_SHIFT;
			else if (strcmp(optarg, "detached") == 0)
				o.layout = ENGINE_LAYOUT_DETACHED;
			else
				return log_error(EINVAL, "unknown layout '%s' (shift or detached)", optarg), CMD_USAGE;
			break;
		case 'H':
			o.header = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 's':
			if (parse_size(optarg, &v) < 0 || (v != 512 && v != 4096))
				return log_error(EINVAL, "--sector-size must be 512 or 4096"), CMD_USAGE;
			o.sector_size = (uint32_t)v;
			break;
		case 'u':
			/* at most 3 buffers of 16 MiB: peak RSS stays under 64 MiB */
			if (parse_size(optarg, &v) < 0 || !v || v % 4096 || v > (16ull << 20))
				return log_error(EINVAL, "--unit must be a multiple of 4096 up to 16 MiB"), CMD_USAGE;
			o.unit = v;
			break;
		case 't':
			if (parse_size(optarg, &v) < 0 || !v || v > 64)
				return log_error(EINVAL, "--threads must be 1..64"), CMD_USAGE;
			o.threads = (unsigned)v;
			break;
		default:
			usage(stderr);
			return CMD_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CMD_USAGE;
	}
	o.target = argv[optind];
	if (o.header && !o.layout)
		o.layout = ENGINE_LAYOUT_DETACHED;
	if (o.layout == ENGINE_LAYOUT_DETACHED && !o.header)
		return log_error(EINVAL, "--layout detached needs --header FILE"), CMD_USAGE;
	if (o.layout == ENGINE_LAYOUT_SHIFT && o.header)
		return log_error(EINVAL, "--header is only for --layout detached"), CMD_USAGE;
	if (!key_file)
		return log_error(EINVAL, "--key-file is required (Key Vault keys come through 'rootcrypt boot')"), CMD_USAGE;
	r = keyfile_read(key_file, &pass, &o.passphrase_len);
	if (r < 0)
		return r;
	o.passphrase = pass;
	r = engine_convert(&o);
	secmem_free(pass);
	return r;
}
