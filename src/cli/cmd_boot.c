/* `rootcrypt boot`: the initramfs entry point. Config file + rootcrypt.*
 * kernel parameters name the root partition and the vault; then
 *   plain      -> store a new passphrase in Key Vault (write-ahead, read
 *                 back) -> convert -> unlock
 *   encrypting -> fetch the passphrase the header's token names -> resume
 *                 -> unlock
 *   encrypted  -> fetch -> unlock
 * On exit 0 /dev/mapper/NAME exists: the unlocked volume, or (when the key
 * could not be stored and nothing was touched) a linear mapping of the
 * plain partition so root=/dev/mapper/NAME still boots. Any other exit
 * means the root must not be mounted: the hook stops the boot. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "boot_volume.h"
#include "bootdev.h"
#include "bootmount.h"
#include "bootpart.h"
#include "bootprogress.h"
#include "bootprompt.h"
#include "bootsplit_run.h"
#include "bootstatus.h"
#include "cmd.h"
#include "config.h"
#include "dm.h"
#include "engine.h"
#include "enroll.h"
#include "keystore.h"
#include "log.h"
#include "parse.h"
#include "luks2.h"
#include "online_boot.h"
#include "online_key.h"
#include "online_plan.h"
#include "secmem.h"
#include "unlock.h"
#include "volume_key_ref.h"

struct boot {
	struct rootcrypt_config cfg;
	struct kv_config kv;
	struct engine_opts eo;
	const char *status_dir;
	const char *name;
	char part[PATH_MAX];   /* the root partition node */
	char disk[PATH_MAX];   /* its disk, when it is a partition */
	char header_fs[PATH_MAX]; /* where header_device is mounted, or "" */
	char header[PATH_MAX];    /* the detached header path inside it */
	int prompt_timeout_s;
	int prompt_tries;
	int device_timeout_ms;
	int disk_lock_fd;	/* shared flock on the disk while we work, or -1 */
	struct bootstatus st;
	char split_why[LOG_LAST_ERROR_MAX]; /* st.split.reason points here */
};

static void report(struct boot *b, enum bootstatus_state s, const char *error)
{
	b->st.state = s;
	b->st.last_error = error;
	bootstatus_write(b->status_dir, &b->st);
}

/* Engine options addressing the root partition: through its disk when it
 * is a partition, so the shift layout may grow it into free space behind. */
static void engine_target(struct boot *b)
{
	unsigned partno;

	memset(&b->eo, 0, sizeof(b->eo));
	b->eo.layout = b->cfg.layout && strcmp(b->cfg.layout, "detached") == 0
			       ? ENGINE_LAYOUT_DETACHED
			       : ENGINE_LAYOUT_SHIFT;
	/* Only the shift layout may grow the partition, which needs the whole
	 * disk; detached works on the partition alone, so a mounted /boot on
	 * the same disk (holding the header) is no obstacle. */
	b->eo.target = b->part;
	if (b->eo.layout == ENGINE_LAYOUT_SHIFT &&
	    bootdev_partition_of(b->part, b->disk, sizeof(b->disk), &partno) == 0) {
		b->eo.target = b->disk;
		b->eo.partition = partno;
	}
	b->eo.header = b->header_fs[0] ? b->header : b->cfg.header;
	b->st.layout = engine_layout_name(b->eo.layout);
}

static int run_engine(struct boot *b, const char *pass, size_t len, const char *key_token)
{
	struct bootprogress bp = { .st = b->st, .status_dir = b->status_dir, .console = stderr };
	FILE *f;
	int r;

	bp.st.state = BOOTSTATUS_IN_PROGRESS;
	f = bootprogress_open(&bp);
	if (!f)
		return log_error(ENOMEM, "cannot set up progress reporting");
	b->eo.passphrase = pass;
	b->eo.passphrase_len = len;
	b->eo.key_token = key_token;
	b->eo.json = true;
	b->eo.progress = f;
	r = engine_convert(&b->eo);
	fclose(f);
	b->eo.progress = NULL;
	b->eo.passphrase = NULL;
	b->eo.key_token = NULL;
	b->st.bytes_done = bp.st.bytes_done;
	b->st.bytes_total = bp.st.bytes_total;
	b->st.mb_per_s = bp.st.mb_per_s;
	return r;
}

/* systemd-udevd watches disks: when a writer closes one (the engine, the
 * /boot split), it re-reads the partition table (BLKRRPART), which removes
 * and re-adds every partition node; an open of /dev/vda1 in that window
 * fails with ENOENT (seen on a loaded host right after a conversion: the
 * boot dropped to the initramfs shell). udevd skips the re-read while it
 * cannot take an exclusive flock on the disk, so rootcrypt holds a shared
 * one from before its first write until the volume is open (a re-read
 * then fails EBUSY: the partition is in use). */
static void lock_disk(struct boot *b)
{
	b->disk_lock_fd = -1;
	if (!b->eo.partition)
		return;
	b->disk_lock_fd = open(b->disk, O_RDONLY | O_CLOEXEC);
	if (b->disk_lock_fd >= 0 && flock(b->disk_lock_fd, LOCK_SH) < 0) {
		log_warn("cannot lock \"%s\" against udev's partition re-read: %s", b->disk,
			 strerror(errno));
		close(b->disk_lock_fd);
		b->disk_lock_fd = -1;
	}
}

static void unlock_disk(struct boot *b)
{
	if (b->disk_lock_fd >= 0)
		close(b->disk_lock_fd);
	b->disk_lock_fd = -1;
}

static int unlock(struct boot *b, const char *pass, size_t len)
{
	char node[PATH_MAX];
	int r;

	/* and should a re-read have happened anyway (a udev without the
	 * lock check), the node comes back: wait for it */
	r = bootdev_wait(b->part, b->device_timeout_ms, node, sizeof(node));
	if (r < 0)
		return r;
	if (b->eo.partition) {
		r = bootpart_sync_kernel(b->disk, b->part, b->eo.partition);
		if (r < 0)
			return r;
	}
	return unlock_open(b->part, b->eo.header, b->name, pass, len);
}

/* Online mode, volume open and still converting: the passphrase goes to
 * the kernel keyring for rootcrypt-online.service (ONLINE.md choice (c)).
 * A failure here does not stop the boot: the unit says the key is
 * missing, and the next boot hands it over again. */
static void online_hand_over(struct boot *b, const char *uuid, const char *pass, size_t len)
{
	struct online_marker m = { 0 };

	snprintf(m.uuid, sizeof(m.uuid), "%s", uuid);
	snprintf(m.device, sizeof(m.device), "%s", b->part);
	snprintf(m.name, sizeof(m.name), "%s", b->name);
	/* detached: the header's file system as configured and the path in
	 * it, for the unit to find it after switch-root (ONLINE.md "Built so
	 * far", the detached layout in the unit); the mount point here is the
	 * initramfs's own and gone by then */
	if (b->eo.layout == ENGINE_LAYOUT_DETACHED && b->cfg.header) {
		snprintf(m.header_fs, sizeof(m.header_fs), "%s",
			 b->cfg.header_device ? b->cfg.header_device : "");
		snprintf(m.header_path, sizeof(m.header_path), "%s", b->cfg.header);
	}
	if (online_key_hand_over(b->status_dir, &m, pass, len) < 0)
		log_warn("online: the key was not handed over; the conversion of \"%s\" waits "
			 "for the next boot", b->part);
}

/* Key could not be stored, disk untouched: boot the plain root. */
static int boot_plain(struct boot *b, const char *why)
{
	int r;

	log_warn("%s; \"%s\" stays unencrypted for this boot", why, b->part);
	report(b, BOOTSTATUS_NOT_ENCRYPTED, why);
	r = dm_create_linear(b->name, b->part);
	return r < 0 ? r : 0;
}

/* status.json's boot_split member says which step runs (BOOT.md "enroll,
 * status"); b->st keeps it, so every later status write of this boot
 * (the engine's progress included) carries the split's result. */
static void split_step_begins(void *ctx, const char *step)
{
	struct boot *b = ctx;

	b->st.split = (struct bootstatus_split){ .state = BOOTSTATUS_SPLIT_IN_PROGRESS,
						 .step = step };
	report(b, BOOTSTATUS_NOT_ENCRYPTED, NULL);
}

/* /boot inside the root (BOOT.md): give it a partition of its own before
 * anything else, so GRUB can still read it once the root is encrypted. No
 * key is needed, so none is stored until the split is done. */
static int split_boot(struct boot *b, char *why, size_t why_len)
{
	struct bootsplit_run_args a = { .disk = b->disk, .part = b->part,
					.partno = b->eo.partition, .step_begins = split_step_begins,
					.ctx = b };
	struct bootsplit_outcome out = { .refused = true };
	char work[PATH_MAX];
	int r;

	log_last_error_clear();
	r = bootsplit_args_from_config(&b->cfg, &a);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && (b->eo.layout != ENGINE_LAYOUT_SHIFT || !b->eo.partition))
		r = log_error(EINVAL, "a /boot split is configured, but \"%s\" is not a partition "
				      "converted with the shift layout", b->part);
	if (r == 0) {
		snprintf(work, sizeof(work), "%s/split", b->status_dir);
		a.work_dir = work;
		r = bootsplit_run(&a, &out);
	} else {
		snprintf(out.why, sizeof(out.why), "%s", log_last_error());
	}
	if (r == 0) {
		b->st.split = (struct bootstatus_split){ .state = BOOTSTATUS_SPLIT_DONE };
		report(b, BOOTSTATUS_NOT_ENCRYPTED, NULL);
		return 0;
	}
	snprintf(b->split_why, sizeof(b->split_why), "%s", out.why[0] ? out.why : strerror(-r));
	b->st.split = (struct bootstatus_split){
		.state = out.refused ? BOOTSTATUS_SPLIT_REFUSED : BOOTSTATUS_SPLIT_INCOMPLETE,
		.step = out.step, .reason = b->split_why };
	if (out.refused)
		snprintf(why, why_len, "the /boot split was refused (%s); /boot stays where GRUB "
				       "reads it now", b->split_why);
	else
		snprintf(why, why_len, "the /boot split stopped after step %s (%s); the next boot "
				       "goes on with it", out.step ? out.step : "?", b->split_why);
	return r;
}

/* ONLINE.md "Decision" 3: mode = online is used only inside the version
 * fence and, in place, with the room it needs (the file system ends by
 * P - 32 MiB, or the partition can grow); otherwise the first boot
 * converts offline and one line says why. Nothing is written here. */
static bool choose_online(struct boot *b, struct online_boot *ob)
{
	struct enroll_geom g;
	enum enroll_shift plan;
	uint64_t bytes = 0, P;
	char why[400] = "";

	if (!b->cfg.mode || strcmp(b->cfg.mode, "online") != 0)
		return false;
	if (online_boot_fence(why, sizeof(why)) < 0 || online_boot_library_fence(why, sizeof(why)) < 0)
		goto refuse;
	if (b->eo.layout == ENGINE_LAYOUT_DETACHED) {
		*ob = (struct online_boot){ .part = b->part, .header = b->eo.header,
					    .work_dir = b->status_dir };
		return true;
	}
	if (enroll_probe(b->part, &g) < 0) {
		snprintf(why, sizeof(why), "cannot read the root partition's geometry");
		goto refuse;
	}
	plan = enroll_room_plan(&g, true, &bytes);
	P = plan == ENROLL_SHIFT_GROW ? g.part_size + bytes : g.part_size;
	if (plan == ENROLL_SHIFT_NO_ROOM)
		snprintf(why, sizeof(why), "no room: it needs the file system to end 32 MiB before "
			 "the partition does, and the partition cannot grow by the %llu MiB that takes",
			 (unsigned long long)((bytes + (1 << 20) - 1) >> 20));
	else if (P % 4096 || P < ONLINE_REDUCE_SIZE + ONLINE_DATA_OFF)
		snprintf(why, sizeof(why), "a partition of %llu bytes is not a multiple of 4096 "
			 "of at least 48 MiB", (unsigned long long)P);
	else {
		*ob = (struct online_boot){ .part = b->part, .partno = b->eo.partition,
					    .disk = b->eo.partition ? b->disk : NULL,
					    .grow_to = P > g.part_size ? P : 0,
					    .work_dir = b->status_dir };
		return true;
	}
refuse:
	log_warn("online mode refused (%s): converting \"%s\" offline", why, b->part);
	return false;
}

static int first_boot(struct boot *b)
{
	struct engine_status es;
	struct online_boot ob;
	struct kv_ref ref = { 0 };
	char why[768], uuid[40]; /* room for the split's reason (LOG_LAST_ERROR_MAX) and more */
	char *pass = NULL, *tok = NULL;
	bool online;
	int r;

	if (split_boot(b, why, sizeof(why)) < 0)
		return boot_plain(b, why);

	online = choose_online(b, &ob);
	/* Feasibility first: a shift with no room for the header would be
	 * refused by the engine only after the key was stored, one unused
	 * secret version per boot. Same rule as the engine and enroll. */
	if (!online && b->eo.layout == ENGINE_LAYOUT_SHIFT) {
		struct enroll_geom g;
		uint64_t missing;

		if (enroll_probe(b->part, &g) == 0 &&
		    enroll_shift_plan(&g, &missing) == ENROLL_SHIFT_NO_ROOM) {
			enroll_shift_refusal(b->part, missing, why, sizeof(why));
			return boot_plain(b, why);
		}
	}
	report(b, BOOTSTATUS_NOT_ENCRYPTED, NULL);
	/* The volume's UUID is chosen now so that the key is stored tagged
	 * with it (VolumeUUID) and every later fetch can check the tag. */
	r = luks2_uuid_random(uuid, sizeof(uuid));
	if (r < 0)
		return log_error_errno(r, "cannot make a volume UUID");
	log_info("storing a new key for \"%s\" (volume %s) in %s", b->part, uuid, b->kv.vault);
	r = keystore_store_new(&b->kv, uuid, &pass, &ref);
	if (r < 0) {
		/* -ETIMEDOUT is the retry budget running out; the line before
		 * this one names the last failure. */
		snprintf(why, sizeof(why), "key not stored in Key Vault (%s)",
			 r == -ETIMEDOUT ? "no success within the retry budget, rootcrypt.retry_timeout"
					 : strerror(-r));
		return boot_plain(b, why);
	}
	/* a token that cannot be built stops before the disk, as the engine did */
	r = volume_token_from_ref(&ref, &tok);
	if (r == 0) {
		log_info("key stored as %s/secrets/%s/%s; encrypting \"%s\"", ref.vault_url,
			 ref.secret_name, ref.secret_version, b->part);
		b->eo.uuid = uuid;
		r = online ? online_boot_start(&ob, uuid, pass, strlen(pass), tok)
			   : run_engine(b, pass, strlen(pass), tok);
		b->eo.uuid = NULL;
	}
	if (r < 0) {
		/* Refused before touching the disk (e.g. no room for the header):
		 * the plain root is intact and still the right thing to boot. */
		if (engine_status(&b->eo, &es) == 0 && es.state == ENGINE_STATE_PLAIN) {
			snprintf(why, sizeof(why), "encryption refused (%s)", strerror(-r));
			r = boot_plain(b, why);
		} else {
			report(b, BOOTSTATUS_IN_PROGRESS, "encryption stopped with an error");
		}
		goto out;
	}
	/* the progress the new header records (bytes_total was the plain
	 * volume's 0 until now) */
	if (online && engine_status(&b->eo, &es) == 0) {
		b->st.bytes_done = es.done;
		b->st.bytes_total = es.total;
		engine_status_clear(&es);
	}
	r = unlock(b, pass, strlen(pass));
	if (r == 0 && online)
		online_hand_over(b, uuid, pass, strlen(pass));
	report(b, online ? BOOTSTATUS_IN_PROGRESS : BOOTSTATUS_ENCRYPTED,
	       r == 0 ? NULL : "unlock failed");
out:
	secmem_free(pass);
	free(tok);
	kv_ref_free(&ref);
	return r;
}

/* Passphrase for an existing (or half-done) volume: Key Vault through the
 * token of the boot's one read of the volume (es), else the console prompt
 * after the bounded retries ran out. */
static int get_passphrase(struct boot *b, const struct engine_status *es, bool from_console,
			  char **pass, size_t *len)
{
	struct kv_ref ref = { 0 };
	int r;

	if (from_console) {
		char *typed = NULL;
		size_t tlen = 0;

		r = bootprompt_read(BOOTPROMPT_CONSOLE,
				    "rootcrypt: no working key from Key Vault. Enter the recovery "
				    "secret for the root volume (its value as Key Vault shows it, "
				    "or " KEYSTORE_RECOVERY_PREFIX "THE-PASSPHRASE): ",
				    b->prompt_timeout_s, &typed, &tlen);
		if (r < 0)
			return r;
		r = keystore_recovery_passphrase(typed, tlen, pass, len);
		secmem_free(typed);
		return r;
	}
	if (es->online && !es->key_token) /* a cut before its token (ONLINE.md step 5) */
		return online_boot_untokened_key(&b->kv, b->eo.layout == ENGINE_LAYOUT_DETACHED
							      ? b->eo.header : b->part,
						 b->part, es->info.uuid, pass, len);
	r = boot_volume_ref(&b->eo, es, &ref);
	if (r < 0)
		return r;
	/* the configured vault wins over what the disk says (issue 16); the
	 * secret must be this volume's: its VolumeUUID tag (issue 16.2) */
	r = volume_fetch_ref(&b->kv, &ref, es->info.uuid, pass, len);
	kv_ref_free(&ref);
	return r;
}

static int later_boot(struct boot *b, const struct engine_status *es)
{
	enum engine_state state = es->state;
	int r = -EIO;

	/* Try Key Vault once (with its own bounded retries), then the console. */
	for (int attempt = 0; attempt <= b->prompt_tries; attempt++) {
		char *pass = NULL;
		size_t len = 0;

		r = get_passphrase(b, es, attempt > 0, &pass, &len);
		if (r == -ESTALE)
			return r;
		if (r < 0) {
			if (attempt == 0) {
				report(b, state == ENGINE_STATE_ENCRYPTED ? BOOTSTATUS_ENCRYPTED
									  : BOOTSTATUS_IN_PROGRESS,
				       "key not fetched from Key Vault");
				if (b->prompt_tries > 0)
					continue;
			}
			if (r == -EBADMSG) /* typed in neither form (said why): ask again */
				continue;
			break;
		}
		/* online: stock cryptsetup resumes once the volume is open */
		if (state == ENGINE_STATE_ENCRYPTING && !es->online) {
			log_info("resuming the encryption of \"%s\"", b->part);
			r = run_engine(b, pass, len, NULL);
		}
		if (r == 0)
			r = unlock(b, pass, len);
		if (r == 0 && es->online)
			online_hand_over(b, es->info.uuid, pass, len);
		secmem_free(pass);
		if (r == 0) {
			report(b, es->online ? BOOTSTATUS_IN_PROGRESS : BOOTSTATUS_ENCRYPTED, NULL);
			return 0;
		}
		if (r != -EPERM)
			break;
		log_error(EPERM, "the %s does not open \"%s\"",
			  attempt == 0 ? "secret from Key Vault" : "secret typed", b->part);
		report(b, state == ENGINE_STATE_ENCRYPTED ? BOOTSTATUS_ENCRYPTED
							  : BOOTSTATUS_IN_PROGRESS,
		       "wrong passphrase");
	}
	return r;
}

/* A cut in online mode's set-up (ONLINE.md step 4) can leave a guard over
 * a head cryptsetup had begun to write: it decides before the state does.
 * r and es: boot_volume_read's result, read again when the disk changed. */
static int settle_online_guard(struct boot *b, int r, struct engine_status *es)
{
	int s;

	/* A header with no requirement and no conversion token (the end of
	 * online mode's pass) over a valid guard cannot be a finished pass:
	 * the first hotzone overwrites the guard. Such a header is a torn or
	 * stale write, and the guard's rule decides as for a foreign one; a
	 * really finished volume has ciphertext there and no guard. */
	bool online_done = r == 0 && es->state == ENGINE_STATE_ENCRYPTED && !es->info.ours;

	if (b->eo.layout != ENGINE_LAYOUT_SHIFT ||
	    (r == 0 && es->state != ENGINE_STATE_PLAIN && es->state != ENGINE_STATE_FOREIGN &&
	     !online_done))
		return r;
	s = online_boot_settle(b->part);
	if (s <= 0)
		return s < 0 ? s : r;
	engine_status_clear(es);
	return boot_volume_read(&b->eo, es);
}

static void usage(FILE *f)
{
	fprintf(f, "rootcrypt boot [--config F] [--cmdline F] [--status-dir D]\n"
		   "               [--device-timeout S] [--prompt-timeout S] [--prompt-tries N]\n\n"
		   "Initramfs entry point (called by the dracut module and the initramfs-tools\n"
		   "script). Exit 0: /dev/mapper/NAME is ready to mount as root.\n");
}

int cmd_boot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "cmdline", required_argument, NULL, 'k' },
		{ "status-dir", required_argument, NULL, 's' },
		{ "device-timeout", required_argument, NULL, 'd' },
		{ "prompt-timeout", required_argument, NULL, 't' },
		{ "prompt-tries", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *config_path = CONFIG_DEFAULT_PATH, *cmdline = "/proc/cmdline";
	struct boot b = { .status_dir = "/run/rootcrypt", .prompt_timeout_s = 0,
			  .prompt_tries = 3, .disk_lock_fd = -1 };
	int device_timeout = 120, c, r;
	struct engine_status es = { 0 };

	optind = 1;
	r = 0;
	while (r == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'k': cmdline = optarg; break;
		case 's': b.status_dir = optarg; break;
		case 'd': r = parse_int(optarg, 0, 86400, &device_timeout); break;
		case 't': r = parse_int(optarg, 0, 86400, &b.prompt_timeout_s); break;
		case 'n': r = parse_int(optarg, 0, 1000, &b.prompt_tries); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CMD_USAGE;
		}
	}
	if (r < 0)
		return log_error(EINVAL, "invalid number '%s'", optarg), CMD_USAGE;
	if (optind != argc) {
		usage(stderr);
		return CMD_USAGE;
	}
	r = config_load(&b.cfg, config_path, cmdline);
	if (r == 0)
		r = config_validate(&b.cfg);
	if (r < 0)
		goto out;
	if (!b.cfg.device || !b.cfg.vault) {
		r = log_error(EINVAL, "no rootcrypt.device/rootcrypt.vault configured (in \"%s\" or "
				      "on the kernel command line)", config_path);
		goto out;
	}
	b.name = b.cfg.name ? b.cfg.name : "root";
	/* Options given explicitly win over rootcrypt.prompt_timeout= etc. */
	if (b.cfg.prompt_timeout_ms && b.prompt_timeout_s == 0)
		b.prompt_timeout_s = (int)(b.cfg.prompt_timeout_ms / 1000);
	if (b.cfg.device_timeout_ms && device_timeout == 120)
		device_timeout = (int)(b.cfg.device_timeout_ms / 1000);
	keystore_config_from(&b.kv, &b.cfg);

	r = bootdev_wait(b.cfg.device, device_timeout * 1000, b.part, sizeof(b.part));
	if (r < 0)
		goto out;
	b.st.device = b.part;
	if (b.cfg.header_device) {
		char dev[PATH_MAX];

		r = bootdev_wait(b.cfg.header_device, device_timeout * 1000, dev, sizeof(dev));
		if (r < 0)
			goto out;
		snprintf(b.header_fs, sizeof(b.header_fs), "%s/header-fs", b.status_dir);
		r = bootmount_header_fs(dev, b.header_fs);
		if (r < 0) {
			b.header_fs[0] = '\0';
			goto out;
		}
		if ((size_t)snprintf(b.header, sizeof(b.header), "%s%s", b.header_fs, b.cfg.header) >=
		    sizeof(b.header)) {
			r = log_error(ENAMETOOLONG, "header path \"%s\" is too long", b.cfg.header);
			goto out;
		}
	}
	engine_target(&b);
	b.device_timeout_ms = device_timeout * 1000;
	lock_disk(&b);

	r = settle_online_guard(&b, boot_volume_read(&b.eo, &es), &es);
	if (r < 0)
		goto out;
	log_info("\"%s\" is %s", b.part, engine_state_name(es.state));
	b.st.bytes_done = es.done;
	b.st.bytes_total = es.total;
	switch (es.state) {
	case ENGINE_STATE_PLAIN:
		r = first_boot(&b);
		break;
	case ENGINE_STATE_ENCRYPTING:
	case ENGINE_STATE_ENCRYPTED:
		r = later_boot(&b, &es);
		/* online set-up undone (its header never opened): plain again */
		if (r == -ESTALE)
			r = first_boot(&b);
		break;
	default:
		r = log_error(EEXIST, "\"%s\" holds %s, not a rootcrypt volume: refusing to touch it",
			      b.part, es.what ? es.what : "something else");
		report(&b, BOOTSTATUS_NOT_ENCRYPTED, "foreign signature on the root partition");
	}
out:
	unlock_disk(&b);
	if (b.header_fs[0])
		bootmount_release(b.header_fs);
	engine_status_clear(&es);
	config_free(&b.cfg);
	return r;
}
