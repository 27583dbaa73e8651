#include "online_resume.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootdev.h"
#include "bootstatus.h"
#include "csversion.h"
#include "engine.h"
#include "log.h"
#include "online_boot.h"
#include "online_header.h"
#include "online_key.h"
#include "online_refetch.h"
#include "parse.h"
#include "secmem.h"
#include "spawn.h"
#include "unlock.h"
#include "volume_key_ref.h"

/* cryptsetup's progress every 5 s (ONLINE.md "Progress") */
#define PROGRESS_SECONDS "5"

static volatile sig_atomic_t stop_signal;

static void note_signal(int sig)
{
	stop_signal = sig;
}

/* A program found in PATH (the library fence asks the package manager
 * only when there is one; a missing one is no error). */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		if (n && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name) < sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

int online_resume_library_fence(char *why, size_t why_len)
{
	const char *argv[] = { "dpkg-query", "-W", "-f=${Version}", "libcryptsetup12", NULL };
	char out[128] = "";
	struct spawn_io io = { .output = out, .output_size = sizeof(out) };
	int status;

	if (!in_path("dpkg-query")) {
		log_info("online: no dpkg-query, libcryptsetup's version unknown: only the "
			 "cryptsetup binary's version is checked");
		return 0;
	}
	if (spawn_run(argv, &io, &status) < 0 || status != 0 || !out[0]) {
		log_info("online: no libcryptsetup12 package known to dpkg: only the cryptsetup "
			 "binary's version is checked");
		return 0;
	}
	return csversion_library_ok(out, why, why_len);
}

struct progress {
	struct bootstatus *st;
	const char *status_dir;
	int last_permille;
};

/* A number cryptsetup's --progress-json writes as a decimal string. */
static bool json_u64(struct json_object *o, const char *key, uint64_t *ret)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
	       parse_u64(json_object_get_string(v), ret) == 0;
}

/* One --progress-json line: {"device_bytes":"N","device_size":"N",
 * "speed":"N",...} -> status.json, and a log line per percent. */
static void on_progress(const char *line, void *ctx)
{
	struct progress *p = ctx;
	struct json_object *o = json_tokener_parse(line);
	uint64_t done, size, speed = 0;
	int permille;

	if (!o)
		return; /* not a progress line: cryptsetup's own words go to our stdout */
	if (json_u64(o, "device_bytes", &done) && json_u64(o, "device_size", &size) && size &&
	    done <= size) {
		json_u64(o, "speed", &speed);
		p->st->bytes_done = done;
		p->st->bytes_total = size;
		p->st->mb_per_s = (double)speed / 1e6;
		bootstatus_write(p->status_dir, p->st);
		permille = (int)(done * 1000 / size);
		if (permille / 10 != p->last_permille / 10 || p->last_permille < 0)
			log_info("encrypting (online), %" PRIu64 " of %" PRIu64 " bytes (%d%%), "
				 "%.1f MB/s", done, size, permille / 10, p->st->mb_per_s);
		p->last_permille = permille;
	}
	json_object_put(o);
}

/* status.json says why nothing runs now; the volume stays openable. */
static void paused(const char *status_dir, struct bootstatus *st, const char *why)
{
	char text[600];

	snprintf(text, sizeof(text), "paused: %s", why);
	st->state = BOOTSTATUS_IN_PROGRESS;
	st->last_error = text;
	bootstatus_write(status_dir, st);
	st->last_error = NULL;
}

/* ONLINE.md "Rate limit": io.max on the disk under the partition, through
 * systemd (the unit's cgroup holds cryptsetup, whose direct I/O is charged
 * there). A failure costs the cap, not the conversion: a warning. */
static void cap_io(const struct online_resume *o, const char *part)
{
	char disk[PATH_MAX], rd[PATH_MAX + 64], wr[PATH_MAX + 64];
	const char *argv[] = { "systemctl", "set-property", "--runtime", o->unit, rd, wr, NULL };
	unsigned partno;
	int status;

	if (bootdev_partition_of(part, disk, sizeof(disk), &partno) < 0)
		snprintf(disk, sizeof(disk), "%s", part);
	/* each converted byte is read once and written once */
	snprintf(rd, sizeof(rd), "IOReadBandwidthMax=%s %llu", disk,
		 (unsigned long long)o->rate_mbs * 1000000ULL);
	snprintf(wr, sizeof(wr), "IOWriteBandwidthMax=%s %llu", disk,
		 (unsigned long long)o->rate_mbs * 1000000ULL);
	if (spawn_wait(argv, &status) < 0 || status != 0)
		log_warn("online: cannot cap \"%s\" at %u MB/s (systemctl set-property failed): "
			 "the pass runs unthrottled", disk, o->rate_mbs);
	else
		log_info("online: I/O of %s capped at %u MB/s on \"%s\"", o->unit, o->rate_mbs, disk);
}

/* cryptsetup reencrypt --resume-only on the active mapping; 0 when it
 * exited 0, 1 when a signal stopped it (the next start resumes), -EIO. */
static int run_pass(const struct online_resume *o, const struct online_marker *m,
		    const char *hdr, struct bootstatus *st, const char *pass, size_t len)
{
	struct progress p = { .st = st, .status_dir = o->status_dir, .last_permille = -1 };
	struct spawn_io io = { .input = pass, .input_len = len, .on_line = on_progress,
			       .line_ctx = &p };
	struct sigaction sa = { .sa_handler = note_signal }, old_term, old_int;
	const char *argv[16];
	int n = 0, status, r;

	argv[n++] = unlock_cryptsetup_path();
	argv[n++] = "reencrypt";
	argv[n++] = "--resume-only";
	argv[n++] = "--active-name";
	argv[n++] = m->name;
	argv[n++] = "--key-file=-";
	argv[n++] = "--batch-mode";
	argv[n++] = "--progress-json";
	argv[n++] = "--progress-frequency";
	argv[n++] = PROGRESS_SECONDS;
	if (hdr) {
		argv[n++] = "--header";
		argv[n++] = hdr;
	}
	argv[n] = NULL;
	/* systemd's stop sends SIGTERM to cryptsetup too, which finishes its
	 * hotzone and exits; we wait for that instead of dying first (its
	 * progress pipe would break under it) */
	stop_signal = 0;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	log_info("online: resuming the conversion of \"%s\" (volume %s) on /dev/mapper/%s",
		 m->device, m->uuid, m->name);
	r = spawn_run(argv, &io, &status);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	if (r < 0)
		return r;
	if (status == 0)
		return 0;
	if (stop_signal)
		return 1;
	return log_error(EIO, "\"%s reencrypt --resume-only\" failed with %s %d", argv[0],
			 status < 256 ? "exit code" : "signal", status < 256 ? status : status - 256);
}

/* The volume as the disk says now (hdr: the detached header, or NULL). */
static int read_volume(const char *hdr, const char *device, struct engine_status *es)
{
	struct engine_opts eo = { .target = device,
				  .layout = hdr ? ENGINE_LAYOUT_DETACHED : ENGINE_LAYOUT_SHIFT,
				  .header = hdr,
				  .key_token_type = VOLUME_TOKEN_TYPE };

	return engine_status(&eo, es);
}

/* The pass is over: what the initramfs handed over goes. */
static int finished(const struct online_resume *o, const struct online_marker *m,
		    struct bootstatus *st, const struct engine_status *es)
{
	int r = online_key_forget(m->uuid);

	st->state = BOOTSTATUS_ENCRYPTED;
	st->bytes_done = st->bytes_total = es->total;
	st->last_error = NULL;
	bootstatus_write(o->status_dir, st);
	if (r >= 0)
		r = online_marker_remove(o->status_dir);
	if (r >= 0)
		log_info("online: \"%s\" (volume %s) is encrypted", m->device, m->uuid);
	return r < 0 ? r : 0;
}

/* The key the initramfs handed over, or (ONLINE.md option (a)) the one
 * Key Vault gives through the header's token; *fetched says which. On
 * failure the status says paused and why. */
static int take_key(const struct online_resume *o, const struct online_marker *m,
		    const char *hdr, const struct engine_status *es, struct bootstatus *st,
		    char **pass, size_t *len, bool *fetched)
{
	char why[480], fetch_why[300];
	int r = online_key_read(m->uuid, pass, len);

	*fetched = false;
	if (r != -ENOKEY && r != -EKEYEXPIRED)
		return r;
	log_info("online: no key rootcrypt:online:%s in root's user keyring (%s): asking Key "
		 "Vault", m->uuid, r == -ENOKEY ? "not handed over, or removed" : "expired");
	if (online_refetch_key(o->kv, hdr ? hdr : m->device, es->key_token, m->uuid, pass, len,
			       fetch_why, sizeof(fetch_why)) == 0) {
		*fetched = true;
		return 0;
	}
	snprintf(why, sizeof(why), "no key rootcrypt:online:%s in root's user keyring (%s), %.250s; "
		 "the next boot hands it over again", m->uuid,
		 r == -ENOKEY ? "not handed over, or removed" : "expired", fetch_why);
	log_error(-r, "online: %s", why);
	paused(o->status_dir, st, why);
	return r;
}

int online_resume_run(const struct online_resume *o)
{
	struct bootstatus st = { .state = BOOTSTATUS_IN_PROGRESS };
	struct engine_status es = { 0 };
	struct online_header oh = { 0 };
	struct online_marker m;
	const char *hdr = o->header;
	char why[480], *pass = NULL;
	size_t len = 0;
	bool fetched;
	int r, slot;

	r = online_marker_read(o->status_dir, &m);
	if (r == -ENOENT) {
		log_info("online: no conversion to resume (no \"%s/" ONLINE_MARKER_NAME "\")",
			 o->status_dir);
		return 0;
	}
	if (r < 0)
		return r;
	st.device = m.device;
	st.layout = hdr || m.header_path[0] ? "detached" : "shift";
	if (!hdr && m.header_path[0]) {
		r = online_header_find(o->status_dir, &m, &oh, why, sizeof(why));
		if (r < 0) {
			paused(o->status_dir, &st, why);
			goto out;
		}
		hdr = oh.path;
	}
	r = read_volume(hdr, m.device, &es);
	if (r < 0)
		goto out;
	st.bytes_done = es.done;
	st.bytes_total = es.total;
	if (es.state == ENGINE_STATE_ENCRYPTED && strcmp(es.info.uuid, m.uuid) == 0) {
		r = finished(o, &m, &st, &es); /* a pass that ended before its clean-up */
		goto out;
	}
	if (es.state != ENGINE_STATE_ENCRYPTING || !es.online || strcmp(es.info.uuid, m.uuid)) {
		if (hdr && es.info.uuid[0] && strcmp(es.info.uuid, m.uuid))
			snprintf(why, sizeof(why), "the header \"%.300s\" is volume %s's, not volume "
				 "%s's", hdr, es.info.uuid, m.uuid);
		else
			snprintf(why, sizeof(why), "\"%.300s\" is not online mode's conversion of "
				 "volume %s (it is %s)", hdr ? hdr : m.device, m.uuid,
				 engine_state_name(es.state));
		r = log_error(EINVAL, "online: %s: nothing to resume", why);
		paused(o->status_dir, &st, why);
		goto out;
	}
	/* ONLINE.md "Version fence": the system's cryptsetup may have been
	 * upgraded since the initramfs was built */
	r = online_boot_fence(why, sizeof(why));
	if (r == 0)
		r = online_resume_library_fence(why, sizeof(why));
	if (r < 0) {
		log_error(EPERM, "online: %s: not resuming \"%s\"; it stays openable as it is, and a "
			  "cryptsetup inside the fence resumes it", why, m.device);
		paused(o->status_dir, &st, why);
		goto out;
	}
	r = take_key(o, &m, hdr, &es, &st, &pass, &len, &fetched);
	if (r < 0)
		goto out;
	/* rootcrypt's own reader first, as at every unlock: the shape of the
	 * header and that this key opens it */
	r = unlock_check_header(hdr ? hdr : m.device, pass, len, &slot);
	if (r < 0) {
		snprintf(why, sizeof(why), "the key %s does not open \"%.300s\"",
			 fetched ? "from Key Vault" : "in the keyring", hdr ? hdr : m.device);
		r = log_error(EPERM, "online: %s: not resuming", why);
		paused(o->status_dir, &st, why);
		goto out;
	}
	/* a fetched key goes back where the initramfs put it: a pass stopped
	 * by shutdown resumes from it without Key Vault */
	if (fetched && online_key_put(m.uuid, pass, len) < 0)
		log_warn("online: the key from Key Vault is not back in the keyring; the pass "
			 "goes on");
	if (o->rate_mbs)
		cap_io(o, m.device);
	bootstatus_write(o->status_dir, &st);
	r = run_pass(o, &m, hdr, &st, pass, len);
	secmem_free(pass);
	pass = NULL;
	if (r == 1) {
		log_info("online: stopped by a signal at a safe point; the next start resumes");
		paused(o->status_dir, &st, "stopped (shutdown or by hand); the next start resumes");
		r = 0;
		goto out;
	}
	if (r < 0) {
		paused(o->status_dir, &st, "cryptsetup reencrypt failed; the next start retries");
		goto out;
	}
	engine_status_clear(&es);
	r = read_volume(hdr, m.device, &es);
	if (r == 0 && es.state == ENGINE_STATE_ENCRYPTED && strcmp(es.info.uuid, m.uuid) == 0) {
		r = finished(o, &m, &st, &es);
	} else if (r == 0) {
		r = log_error(EIO, "online: cryptsetup exited 0 but \"%s\" is %s, not encrypted",
			      m.device, engine_state_name(es.state));
		paused(o->status_dir, &st, "cryptsetup stopped before the end; the next start resumes");
	}
out:
	secmem_free(pass);
	engine_status_clear(&es);
	online_header_release(&oh);
	return r;
}
