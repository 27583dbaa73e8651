/* rootcrypt status: plain | encrypting | encrypted, from the disk alone. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstatus_split.h"
#include "cmd.h"
#include "engine.h"
#include "log.h"
#include "parse.h"
#include "volume_key_ref.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: rootcrypt status TARGET [--partition N] [--header F] [--json]\n"
		   "                        [--status-dir D]\n\n"
		   "Print whether TARGET is plain, being encrypted (bytes done/total) or encrypted,\n"
		   "with layout, cipher and key reference, read from the disk (and header file).\n"
		   "When this boot's D/status.json (default /run/rootcrypt) is about TARGET and\n"
		   "has a /boot split, one line says how the split went.\n");
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "header", required_argument, NULL, 'H' },
		{ "partition", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "status-dir", required_argument, NULL, 's' },
		{}
	};
	struct engine_opts o = { 0 };
	struct engine_status st;
	struct bootstatus_split_text split;
	const char *status_dir = "/run/rootcrypt";
	char key[512], split_line[640];
	int have_split;
	bool json = false;
	int c, n, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'H':
			o.header = optarg;
			o.layout = ENGINE_LAYOUT_DETACHED;
			break;
		case 'p':
			if (parse_int(optarg, 1, 128, &n) < 0)
				return log_error(EINVAL, "--partition needs a number 1..128"), CMD_USAGE;
			o.partition = (unsigned)n;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			status_dir = optarg;
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
	o.key_token_type = VOLUME_TOKEN_TYPE;
	r = engine_status(&o, &st);
	if (r < 0)
		return r;
	volume_ref_summary(st.key_token, key, sizeof(key));
	engine_status_clear(&st);
	/* the boot's own record (BOOT.md "enroll, status"): not on the disk */
	have_split = o.partition ? 0 : bootstatus_split_read(status_dir, o.target, &split);
	if (have_split < 0)
		return have_split;
	if (json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "state", json_object_new_string(engine_state_name(st.state)));
		if (st.state == ENGINE_STATE_ENCRYPTING)
			json_object_object_add(j, "mode",
					       json_object_new_string(st.online ? "online" : "offline"));
		if (st.state == ENGINE_STATE_FOREIGN)
			json_object_object_add(j, "found", json_object_new_string(st.what));
		if (st.state == ENGINE_STATE_ENCRYPTING || st.state == ENGINE_STATE_ENCRYPTED) {
			json_object_object_add(j, "layout",
					       json_object_new_string(engine_layout_name(st.info.layout)));
			json_object_object_add(j, "cipher", json_object_new_string(st.info.cipher));
			json_object_object_add(j, "sector_size", json_object_new_int((int)st.info.sector_size));
			json_object_object_add(j, "data_offset", json_object_new_uint64(st.info.data_off));
			json_object_object_add(j, "bytes_done", json_object_new_uint64(st.done));
			json_object_object_add(j, "bytes_total", json_object_new_uint64(st.total));
			json_object_object_add(j, "uuid", json_object_new_string(st.info.uuid));
			json_object_object_add(j, "key", json_object_new_string(key));
		}
		if (have_split)
			bootstatus_split_add(j, split.state, split.step[0] ? split.step : NULL,
					     split.reason[0] ? split.reason : NULL);
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
		return 0;
	}
	switch (st.state) {
	case ENGINE_STATE_PLAIN:
		printf("%s: plain\n", o.target);
		break;
	case ENGINE_STATE_FOREIGN:
		printf("%s: %s (not a rootcrypt volume)\n", o.target, st.what);
		break;
	case ENGINE_STATE_ENCRYPTING:
		printf("%s: encrypting%s, %" PRIu64 " of %" PRIu64 " bytes done (%.1f%%)\n", o.target,
		       st.online ? " (online)" : "", st.done, st.total,
		       st.total ? 100.0 * (double)st.done / (double)st.total : 0.0);
		break;
	case ENGINE_STATE_ENCRYPTED:
		printf("%s: encrypted\n", o.target);
		break;
	}
	if (st.state == ENGINE_STATE_ENCRYPTING || st.state == ENGINE_STATE_ENCRYPTED)
		printf("  layout %s, cipher %s, sector %u, data offset %" PRIu64 ", uuid %s\n"
		       "  key: %s\n",
		       engine_layout_name(st.info.layout), st.info.cipher, st.info.sector_size,
		       st.info.data_off, st.info.uuid, key);
	if (have_split) {
		bootstatus_split_line(&split, split_line, sizeof(split_line));
		printf("  %s\n", split_line);
	}
	return 0;
}
