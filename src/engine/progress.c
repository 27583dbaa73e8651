/* Progress reporting. The format is fixed by the design: one human line or
 * one JSON object per update, so boot diagnostics can show or parse it. */
#include <inttypes.h>
#include <time.h>

#include "progress.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int progress_format(char *buf, size_t size, bool json, const char *what, uint64_t total,
		    uint64_t done_at_start, uint64_t done, double elapsed)
{
	double pct = total ? 100.0 * (double)done / (double)total : 100.0;
	double moved = (double)(done >= done_at_start ? done - done_at_start : 0);
	double rate = elapsed > 0 ? moved / elapsed : 0; /* bytes/s */
	double gib = 1024.0 * 1024.0 * 1024.0;
	long long eta = rate > 0 ? (long long)((double)(total - done) / rate + 0.5) : -1;

	if (json)
		return snprintf(buf, size,
				"{\"state\":\"%s\",\"percent\":%.1f,\"bytes_done\":%" PRIu64
				",\"bytes_total\":%" PRIu64 ",\"mb_per_s\":%.1f,\"eta_s\":%lld}",
				what, pct, done, total, rate / 1e6, eta);
	if (eta < 0)
		return snprintf(buf, size, "%s %5.1f%% %.2f/%.2f GiB, %.1f MB/s, ETA --:--:--",
				what, pct, (double)done / gib, (double)total / gib, rate / 1e6);
	return snprintf(buf, size, "%s %5.1f%% %.2f/%.2f GiB, %.1f MB/s, ETA %lld:%02lld:%02lld",
			what, pct, (double)done / gib, (double)total / gib, rate / 1e6, eta / 3600,
			eta / 60 % 60, eta % 60);
}

static unsigned progress_tenth(uint64_t total, uint64_t done)
{
	if (!total || done >= total)
		return 10;
	/* exact (a line at 50.0 %, not one step later) unless done * 10
	 * would overflow, i.e. past 1.8 EB, where one step early is harmless */
	if (done <= UINT64_MAX / 10)
		return (unsigned)(done * 10 / total);
	return (unsigned)(done / (total / 10 + 1));
}

void progress_init(struct progress *p, FILE *out, bool json, const char *what, uint64_t total,
		   uint64_t done)
{
	p->out = out;
	p->json = json;
	p->what = what;
	p->total = total;
	p->done_at_start = done;
	p->start = p->last = now_s();
	p->last_tenth = progress_tenth(total, done);
	p->last_done = done;
	p->printed = false;
}

void progress_update(struct progress *p, uint64_t done, bool force)
{
	double t = now_s();
	unsigned tenth = progress_tenth(p->total, done);
	char line[256];

	if (!p->out || (!force && t - p->last < PROGRESS_INTERVAL_S && tenth == p->last_tenth))
		return;
	/* the forced final update right after the tenth rule printed 100 % */
	if (force && p->printed && done == p->last_done)
		return;
	p->last = t;
	p->last_tenth = tenth;
	p->last_done = done;
	p->printed = true;
	progress_format(line, sizeof(line), p->json, p->what, p->total, p->done_at_start, done,
			t - p->start);
	fprintf(p->out, p->json ? "%s\n" : "rootcrypt: %s\n", line);
	fflush(p->out);
}
