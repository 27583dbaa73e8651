/* Hidden test command: one request through src/base/http.c, body to stdout.
 * Used by the static-binary proof (bare chroot, own CA) and by debugging. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "http.h"
#include "log.h"

int cmd_debug_http(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca-file", required_argument, NULL, 'c' },
		{ "resolve", required_argument, NULL, 'r' },
		{ "method", required_argument, NULL, 'm' },
		{ "proxy-from-env", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct http_request req = { .method = "GET" };
	struct http_response resp;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': req.ca_file = optarg; break;
		case 'r': req.resolve = optarg; break;
		case 'm': req.method = optarg; break;
		case 'p': req.use_env_proxy = true; break;
		case 'h':
			printf("rootcrypt debug-http URL [--ca-file F] [--resolve H:P:A] [--method M] [--proxy-from-env]\n");
			return 0;
		default:
			return CMD_USAGE;
		}
	}
	if (optind + 1 != argc) {
		log_error(EINVAL, "debug-http needs exactly one URL");
		return CMD_USAGE;
	}
	req.url = argv[optind];
	r = http_request(&req, &resp);
	if (r == 0) {
		fprintf(stderr, "HTTP %ld\n", resp.status);
		fwrite(resp.body, 1, resp.body_len, stdout);
		if (resp.status >= 400)
			r = log_error(EIO, "%s %s: HTTP %ld", req.method, req.url, resp.status);
	}
	http_response_free(&resp);
	return r;
}
