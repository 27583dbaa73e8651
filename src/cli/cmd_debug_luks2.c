/* Hidden test command for the LUKS2 module: format, dump, unlock, change and
 * repair headers, and encrypt a data segment in place, so integration tests
 * can hold rootcrypt's headers against stock cryptsetup. Prints volume keys
 * in hex on request: a test tool, never used in the boot path. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "crypto.h"
#include "log.h"
#include "parse.h"
#include "luks2.h"
#include "luks2_internal.h"
#include "secmem.h"
#include "volume_key_ref.h"

struct opts {
	uint64_t offset;
	struct luks2_params p;
	const char *key_file, *new_key_file, *vk_file, *header;
	const char *azure; /* vault,secret,version,kek_id,kek_alg */
	const char *requirement;
	uint32_t iterations;
	int keyslot;
	bool json, dump_vk, repair;
};

/* Whole file into secmem (passphrases, volume keys). */
static int read_secret(const char *path, uint8_t **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t n = 0;

	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	if (fstat(fd, &st) < 0 || st.st_size > (4 << 20)) {
		close(fd);
		return log_error(EINVAL, "\"%s\" is not a small regular file", path);
	}
	buf = secmem_alloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return log_error(ENOMEM, "cannot allocate secret buffer");
	}
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);

		if (k <= 0) {
			close(fd);
			secmem_free(buf);
			return log_error_errno(k < 0 ? errno : EIO, "cannot read \"%s\"", path);
		}
		n += (size_t)k;
	}
	close(fd);
	*ret = buf;
	*ret_len = n;
	return 0;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

static int open_hdr(const char *path, const struct opts *o, int flags, struct luks2_hdr **h,
		    struct luks2_read_status *st, int *ret_fd)
{
	int fd = open(path, flags | O_CLOEXEC), r;

	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	r = luks2_hdr_read(h, fd, o->offset, st);
	if (r == -ENODEV)
		r = log_error(ENODEV, "\"%s\" has no LUKS2 header at offset %" PRIu64, path, o->offset);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int set_azure(struct luks2_hdr *h, const char *spec, uint32_t keyslots)
{
	char *copy = strdup(spec), *f[5] = { 0 }, *s = copy;
	struct kv_ref t = { 0 };
	int r;

	if (!copy)
		return -ENOMEM;
	/* strsep keeps empty fields: "url,name,,," */
	for (int i = 0; i < 5 && s; i++)
		f[i] = strsep(&s, ",");
	t.vault_url = f[0];
	t.secret_name = f[1];
	t.secret_version = f[2] && *f[2] ? f[2] : NULL;
	t.kek_id = f[3] && *f[3] ? f[3] : NULL;
	t.kek_alg = f[4] && *f[4] ? f[4] : NULL;
	r = volume_ref_set(h, &t, keyslots);
	free(copy);
	return r;
}

static int do_format(const char *path, struct opts *o)
{
	_cleanup_secmem_ uint8_t *pass = NULL, *vk = NULL;
	struct luks2_hdr *h = NULL;
	size_t pass_len, vk_len = LUKS2_VOLUME_KEY_SIZE;
	int fd, slot, r;

	if (!o->key_file)
		return log_error(EINVAL, "format needs --key-file");
	if ((r = read_secret(o->key_file, &pass, &pass_len)) < 0)
		return r;
	if (o->vk_file) {
		if ((r = read_secret(o->vk_file, &vk, &vk_len)) < 0)
			return r;
	} else {
		vk = secmem_alloc(vk_len);
		if (!vk || crypto_random(vk, vk_len) < 0)
			return log_error(EIO, "cannot generate a volume key");
	}
	r = luks2_hdr_new(&h, &o->p, vk, vk_len);
	if (r < 0)
		return r;
	r = luks2_keyslot_add(h, o->keyslot, vk, vk_len, pass, pass_len, o->iterations, &slot);
	if (r == 0 && o->azure)
		r = set_azure(h, o->azure, UINT32_C(1) << slot);
	if (r == 0 && o->requirement)
		r = luks2_requirement_set(h, o->requirement);
	if (r < 0)
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = log_error_errno(errno, "cannot open \"%s\"", path);
		goto out;
	}
	r = luks2_hdr_write(h, fd, o->offset);
	close(fd);
	if (r == 0 && o->dump_vk)
		print_hex(vk, vk_len);
out:
	luks2_hdr_free(h);
	return r;
}

static int do_dump(const char *path, struct opts *o)
{
	struct luks2_read_status st;
	struct luks2_hdr *h;
	int fd, r;

	r = open_hdr(path, o, o->repair ? O_RDWR : O_RDONLY, &h, &st, &fd);
	if (r < 0)
		return r;
	if (o->json) {
		char *j;

		r = luks2_hdr_json(h, &j);
		if (r == 0) {
			printf("%s\n", j);
			free(j);
		}
	} else {
		luks2_hdr_dump(h, stdout);
		printf("primary: %s\nsecondary: %s\n", st.primary_ok ? "ok" : st.primary_error,
		       st.secondary_ok ? "ok" : st.secondary_error);
	}
	if (r == 0 && o->repair)
		r = luks2_hdr_repair(h, fd, o->offset, &st);
	close(fd);
	luks2_hdr_free(h);
	return r;
}

static int do_unlock(const char *path, struct opts *o)
{
	_cleanup_secmem_ uint8_t *pass = NULL;
	struct luks2_hdr *h;
	void *vk;
	size_t pass_len, vk_len;
	int fd, slot, r;

	if (!o->key_file)
		return log_error(EINVAL, "unlock needs --key-file");
	if ((r = read_secret(o->key_file, &pass, &pass_len)) < 0)
		return r;
	if ((r = open_hdr(path, o, O_RDONLY, &h, NULL, &fd)) < 0)
		return r;
	close(fd);
	r = luks2_unlock(h, o->keyslot, pass, pass_len, &vk, &vk_len, &slot);
	if (r == 0) {
		fprintf(stderr, "keyslot %d\n", slot);
		if (o->dump_vk)
			print_hex(vk, vk_len);
		secmem_free(vk);
	}
	luks2_hdr_free(h);
	return r;
}

/* Changes that rewrite only the metadata: requirement, tokens, keyslot
 * removal; add-keyslot does a full write. */
static int do_modify(const char *action, const char *path, struct opts *o, int argc, char **argv)
{
	struct luks2_hdr *h;
	int fd, r;

	if ((r = open_hdr(path, o, O_RDWR, &h, NULL, &fd)) < 0)
		return r;
	if (strcmp(action, "require") == 0 && argc == 2 && strcmp(argv[0], "set") == 0) {
		r = luks2_requirement_set(h, argv[1]);
	} else if (strcmp(action, "require") == 0 && argc == 2 && strcmp(argv[0], "clear") == 0) {
		r = luks2_requirement_clear(h, argv[1]);
	} else if (strcmp(action, "kill-keyslot") == 0 && argc == 1) {
		int slot;

		r = parse_int(argv[0], 0, LUKS2_KEYSLOTS_MAX - 1, &slot);
		if (r < 0)
			log_error(EINVAL, "kill-keyslot needs a keyslot number");
		else
			r = luks2_keyslot_remove(h, slot);
	} else if (strcmp(action, "token-set") == 0 && argc == 1) {
		r = luks2_token_set_json(h, o->keyslot, argv[0], NULL);
	} else if (strcmp(action, "token-string") == 0 && argc == 3) {
		r = luks2_token_set_string(h, argv[0], argv[1], argv[2]);
	} else if (strcmp(action, "azure") == 0 && argc == 1) {
		char *old = NULL;
		uint32_t ks = 1;

		/* keep the keyslots the token served */
		if (luks2_token_get(h, VOLUME_TOKEN_TYPE, &old, &ks) < 0)
			ks = 1;
		free(old);
		r = set_azure(h, argv[0], ks);
	} else if (strcmp(action, "set-segment") == 0 && argc == 2) {
		uint64_t off, size = LUKS2_SEGMENT_DYNAMIC;

		r = parse_u64(argv[0], &off);
		if (r == 0 && strcmp(argv[1], "dynamic") != 0)
			r = parse_u64(argv[1], &size);
		if (r < 0)
			log_error(EINVAL, "set-segment needs OFFSET and SIZE|dynamic");
		if (r == 0)
			r = luks2_hdr_set_segment(h, off, size);
	} else if (strcmp(action, "add-keyslot") == 0 && argc == 0) {
		_cleanup_secmem_ uint8_t *pass = NULL, *npass = NULL;
		size_t pass_len, npass_len, vk_len;
		void *vk = NULL;

		if (!o->key_file || !o->new_key_file)
			r = log_error(EINVAL, "add-keyslot needs --key-file and --new-key-file");
		else if ((r = read_secret(o->key_file, &pass, &pass_len)) == 0 &&
			 (r = read_secret(o->new_key_file, &npass, &npass_len)) == 0 &&
			 (r = luks2_unlock(h, -1, pass, pass_len, &vk, &vk_len, NULL)) == 0)
			r = luks2_keyslot_add(h, o->keyslot, vk, vk_len, npass, npass_len, o->iterations, NULL);
		secmem_free(vk);
		if (r == 0)
			r = luks2_hdr_write(h, fd, o->offset);
		goto out;
	} else {
		r = log_error(EINVAL, "debug-luks2 %s: wrong arguments", action);
		goto out;
	}
	if (r == 0)
		r = luks2_hdr_write_metadata(h, fd, o->offset);
out:
	close(fd);
	luks2_hdr_free(h);
	return r;
}

static int do_token_get(const char *path, struct opts *o, int argc, char **argv)
{
	struct luks2_hdr *h;
	char *j = NULL;
	int fd, r, id;

	if (argc != 1)
		return log_error(EINVAL, "token-get needs a token id or type");
	if ((r = open_hdr(path, o, O_RDONLY, &h, NULL, &fd)) < 0)
		return r;
	close(fd);
	if (parse_int(argv[0], 0, INT_MAX, &id) < 0)
		id = luks2_token_find(h, argv[0]);
	r = luks2_token_get_json(h, id, &j);
	if (r == -ENOENT)
		r = log_error(ENOENT, "no LUKS2 token \"%s\"", argv[0]);
	if (r == 0)
		printf("%s\n", j);
	free(j);
	luks2_hdr_free(h);
	return r;
}

/* Encrypts (or decrypts) DATA's segment in place with the volume key (test images only:
 * whole segment in one pass, no crash safety). */
static int do_crypt_data(const char *data, struct opts *o, bool encrypt)
{
	_cleanup_secmem_ uint8_t *pass = NULL;
	const char *hdr_path = o->header ? o->header : data;
	struct luks2_hdr *h = NULL;
	struct crypto_xts *x = NULL;
	uint8_t *buf = NULL;
	void *vk = NULL;
	size_t pass_len, vk_len;
	uint64_t off, end, ss;
	int hfd, fd = -1, r;
	struct stat st;

	if (!o->key_file)
		return log_error(EINVAL, "encrypt-data/decrypt-data need --key-file");
	if ((r = read_secret(o->key_file, &pass, &pass_len)) < 0)
		return r;
	if ((r = open_hdr(hdr_path, o, O_RDONLY, &h, NULL, &hfd)) < 0)
		return r;
	close(hfd);
	if ((r = luks2_unlock(h, -1, pass, pass_len, &vk, &vk_len, NULL)) < 0)
		goto out;
	if ((r = crypto_xts_new(&x, vk, vk_len)) < 0)
		goto out;
	fd = open(data, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = log_error_errno(errno, "cannot open \"%s\"", data);
		goto out;
	}
	off = luks2_hdr_segment_offset(h);
	ss = luks2_hdr_sector_size(h);
	end = luks2_hdr_segment_size(h) == LUKS2_SEGMENT_DYNAMIC ? (uint64_t)st.st_size
								  : off + luks2_hdr_segment_size(h);
	if (end > (uint64_t)st.st_size || end < off || (end - off) % ss) {
		r = log_error(EINVAL, "data segment [%" PRIu64 ", %" PRIu64 ") does not fit \"%s\" in whole sectors",
			      off, end, data);
		goto out;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		r = log_error(ENOMEM, "cannot allocate buffer");
		goto out;
	}
	for (uint64_t pos = off; pos < end;) {
		size_t n = end - pos < (1 << 20) ? (size_t)(end - pos) : (1 << 20);

		if (pread(fd, buf, n, (off_t)pos) != (ssize_t)n) {
			r = log_error_errno(errno ? errno : EIO, "cannot read \"%s\" at %" PRIu64, data, pos);
			goto out;
		}
		/* one sector per call: see luks2_hdr_iv_sector() */
		for (size_t i = 0; i < n; i += ss)
			if ((r = (encrypt ? crypto_xts_encrypt : crypto_xts_decrypt)(
				     x, luks2_hdr_iv_sector(h, pos - off + i), ss, buf + i, buf + i, ss)) < 0)
				goto out;
		if (pwrite(fd, buf, n, (off_t)pos) != (ssize_t)n) {
			r = log_error_errno(errno ? errno : EIO, "cannot write \"%s\" at %" PRIu64, data, pos);
			goto out;
		}
		pos += n;
	}
	if (fsync(fd) < 0)
		r = log_error_errno(errno, "fsync \"%s\" failed", data);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	crypto_xts_free(x);
	secmem_free(vk);
	luks2_hdr_free(h);
	return r;
}

static int do_wipe(const char *path, struct opts *o, int argc, char **argv)
{
	uint64_t len;
	int fd, r;

	if (argc != 1 || parse_u64(argv[0], &len) < 0)
		return log_error(EINVAL, "wipe needs a length");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	r = luks2_wipe_region(fd, o->offset, len);
	close(fd);
	return r;
}

static const char usage_text[] =
	"rootcrypt debug-luks2 ACTION FILE [ARGS] [OPTIONS]\n"
	"  format FILE --key-file P [--volume-key-file K] [--metadata-size N] [--header-size N]\n"
	"         [--sector-size N] [--data-offset N] [--data-size N] [--uuid U] [--label L]\n"
	"         [--iterations N] [--azure URL,SECRET,VERSION,KEKID,KEKALG] [--requirement R]\n"
	"  dump FILE [--json] [--repair]     unlock FILE --key-file P [--keyslot N]\n"
	"  require FILE set|clear NAME       kill-keyslot FILE N\n"
	"  add-keyslot FILE --key-file P --new-key-file Q\n"
	"  token-set FILE JSON [--keyslot ID]  token-get FILE ID|TYPE  token-string FILE TYPE KEY VALUE\n"
	"  azure FILE URL,SECRET,VERSION,KEKID,KEKALG   set-segment FILE OFFSET SIZE|dynamic\n"
	"  encrypt-data|decrypt-data DATA [--header HDR] --key-file P\n"
	"  wipe FILE LENGTH   probe FILE\n"
	"  put-json FILE primary|secondary JSONFILE   (tests: hostile JSON, valid checksum)\n"
	"  common: --offset B (header base byte offset), --dump-volume-key (prints the key in hex)\n";

int cmd_debug_luks2(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "offset", required_argument, NULL, 'o' },
		{ "metadata-size", required_argument, NULL, 'm' },
		{ "header-size", required_argument, NULL, 'H' },
		{ "sector-size", required_argument, NULL, 's' },
		{ "data-offset", required_argument, NULL, 'd' },
		{ "data-size", required_argument, NULL, 'z' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "label", required_argument, NULL, 'l' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "new-key-file", required_argument, NULL, 'n' },
		{ "volume-key-file", required_argument, NULL, 'v' },
		{ "header", required_argument, NULL, 'e' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "keyslot", required_argument, NULL, 'S' },
		{ "azure", required_argument, NULL, 'a' },
		{ "requirement", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "repair", no_argument, NULL, 'r' },
		{ "dump-volume-key", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct opts o = { .keyslot = -1, .p.segment_size = LUKS2_SEGMENT_DYNAMIC };
	const char *action;
	uint64_t v;
	int c, r = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CMD_USAGE : 0;
	}
	action = argv[1];
	argc--;
	argv++;
	while (r == 0 && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': r = parse_u64(optarg, &o.offset); break;
		case 'm': r = parse_u64(optarg, &o.p.metadata_size); break;
		case 'H': r = parse_u64(optarg, &o.p.header_size); break;
		case 's': r = parse_u64(optarg, &v); o.p.sector_size = (uint32_t)v; break;
		case 'd': r = parse_u64(optarg, &o.p.segment_offset); break;
		case 'z':
			if (strcmp(optarg, "dynamic") != 0)
				r = parse_u64(optarg, &o.p.segment_size);
			break;
		case 'u': o.p.uuid = optarg; break;
		case 'l': o.p.label = optarg; break;
		case 'k': o.key_file = optarg; break;
		case 'n': o.new_key_file = optarg; break;
		case 'v': o.vk_file = optarg; break;
		case 'e': o.header = optarg; break;
		case 'i': r = parse_u64(optarg, &v); o.iterations = (uint32_t)v; break;
		case 'S': r = parse_u64(optarg, &v); o.keyslot = (int)v; break;
		case 'a': o.azure = optarg; break;
		case 'R': o.requirement = optarg; break;
		case 'j': o.json = true; break;
		case 'r': o.repair = true; break;
		case 'D': o.dump_vk = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return CMD_USAGE;
		}
	}
	if (r < 0) {
		log_error(EINVAL, "\"%s\" is not a number", optarg);
		return CMD_USAGE;
	}
	if (optind >= argc) {
		log_error(EINVAL, "debug-luks2 %s needs a FILE", action);
		return CMD_USAGE;
	}
	{
		const char *path = argv[optind];
		int rest = argc - optind - 1;
		char **rargv = argv + optind + 1;

		if (strcmp(action, "format") == 0)
			return do_format(path, &o);
		if (strcmp(action, "dump") == 0)
			return do_dump(path, &o);
		if (strcmp(action, "unlock") == 0)
			return do_unlock(path, &o);
		if (strcmp(action, "token-get") == 0)
			return do_token_get(path, &o, rest, rargv);
		if (strcmp(action, "encrypt-data") == 0 || strcmp(action, "decrypt-data") == 0)
			return do_crypt_data(path, &o, action[0] == 'e');
		if (strcmp(action, "wipe") == 0)
			return do_wipe(path, &o, rest, rargv);
		if (strcmp(action, "put-json") == 0 && rest == 2) {
			_cleanup_secmem_ uint8_t *text = NULL;
			size_t len;
			int fd;

			/* secmem only for its NUL-terminated whole-file read */
			if ((r = read_secret(rargv[1], &text, &len)) < 0)
				return r;
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				return log_error_errno(errno, "cannot open \"%s\"", path);
			r = luks2_debug_put_json(fd, o.offset, strcmp(rargv[0], "secondary") == 0, (char *)text);
			close(fd);
			return r;
		}
		if (strcmp(action, "probe") == 0) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				return log_error_errno(errno, "cannot open \"%s\"", path);
			r = luks2_probe(fd, o.offset);
			close(fd);
			printf("%s\n", r == 1 ? "luks2" : "none");
			return 0;
		}
		return do_modify(action, path, &o, rest, rargv);
	}
}
