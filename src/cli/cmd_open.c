/* `rootcrypt open TARGET NAME`: unlock a rootcrypt (or any LUKS2) volume to
 * /dev/mapper/NAME with stock cryptsetup. The passphrase comes from
 * --key-file, or from Key Vault at the place the volume's azure-keyvault
 * token names (managed identity through IMDS). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "keyfile.h"
#include "keystore.h"
#include "log.h"
#include "luks2.h"
#include "secmem.h"
#include "unlock.h"
#include "volume_key_ref.h"

static void usage(FILE *f)
{
	fprintf(f, "rootcrypt open TARGET NAME [--header F] [--key-file F] [--config F]\n"
		   "               [--ca-file F] [--resolve HOST:PORT:ADDR] [--imds URL]\n\n"
		   "Unlocks TARGET to /dev/mapper/NAME. Without --key-file the passphrase is\n"
		   "fetched from Key Vault as the volume's azure-keyvault token says.\n");
}

int cmd_open(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "header", required_argument, NULL, 'H' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'c' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "resolve", required_argument, NULL, 'r' },
		{ "imds", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *header = NULL, *key_file = NULL, *config_path = CONFIG_DEFAULT_PATH;
	const char *ca_file = NULL, *resolve = NULL, *imds = NULL;
	struct rootcrypt_config cfg = { 0 };
	char *pass = NULL;
	size_t pass_len = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': header = optarg; break;
		case 'k': key_file = optarg; break;
		case 'c': config_path = optarg; break;
		case 'C': ca_file = optarg; break;
		case 'r': resolve = optarg; break;
		case 'i': imds = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CMD_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (key_file) {
		r = keyfile_read(key_file, &pass, &pass_len);
	} else {
		r = config_load(&cfg, config_path, NULL);
		if (r == 0 && ca_file)
			r = config_set(&cfg, "ca_file", ca_file);
		if (r == 0 && resolve)
			r = config_set(&cfg, "resolve", resolve);
		if (r == 0 && imds)
			r = config_set(&cfg, "imds", imds);
		if (r == 0)
			r = volume_fetch_passphrase(&cfg, header ? header : argv[optind], &pass,
						    &pass_len);
	}
	if (r == 0)
		r = unlock_open(argv[optind], header, argv[optind + 1], pass, pass_len);
	secmem_free(pass);
	config_free(&cfg);
	return r;
}
