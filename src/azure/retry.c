#include "retry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

#define RETRY_DEFAULT_BUDGET_MS 90000L
#define RETRY_DEFAULT_BASE_MS 500L
#define RETRY_DEFAULT_MAX_MS 10000L

int64_t retry_now_ms(void)
{
	struct timespec ts;

	/* BOOTTIME keeps counting across a suspended VM; a budget is wall time. */
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void retry_init(struct retry *r, const struct retry_policy *p)
{
	memset(r, 0, sizeof(*r));
	if (p)
		r->p = *p;
	if (r->p.budget_ms <= 0)
		r->p.budget_ms = RETRY_DEFAULT_BUDGET_MS;
	if (r->p.base_ms <= 0)
		r->p.base_ms = RETRY_DEFAULT_BASE_MS;
	if (r->p.max_delay_ms <= 0)
		r->p.max_delay_ms = RETRY_DEFAULT_MAX_MS;
	r->start_ms = retry_now_ms();
}

long retry_remaining_ms(const struct retry *r)
{
	int64_t left = r->start_ms + r->p.budget_ms - retry_now_ms();

	return left > 0 ? (long)left : 0;
}

long retry_backoff_ms(const struct retry_policy *p, unsigned attempt, uint32_t rnd)
{
	long d = p->base_ms > 0 ? p->base_ms : RETRY_DEFAULT_BASE_MS;
	long cap = p->max_delay_ms > 0 ? p->max_delay_ms : RETRY_DEFAULT_MAX_MS;
	long half;

	for (unsigned i = 0; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	half = d / 2;
	return half + (long)(rnd % (uint32_t)(d - half + 1));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int retry_wait_at_least(struct retry *r, long hint_ms, long min_ms)
{
	uint32_t rnd = 0;
	long d;

	if (r->p.max_retries && r->attempt >= r->p.max_retries)
		return -ETIMEDOUT;
	if (hint_ms > 0) {
		d = hint_ms;
	} else {
		/* Jitter only needs to differ between machines; a short read is fine. */
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (uint32_t)retry_now_ms();
		d = retry_backoff_ms(&r->p, r->attempt, rnd);
	}
	if (d < min_ms)
		d = min_ms;
	if (d >= retry_remaining_ms(r))
		return -ETIMEDOUT;
	log_debug("retry %u in %ld ms (%ld ms of the budget left)", r->attempt + 1, d,
		  retry_remaining_ms(r));
	sleep_ms(d);
	r->attempt++;
	return 0;
}

int retry_wait(struct retry *r, long hint_ms)
{
	return retry_wait_at_least(r, hint_ms, 0);
}

void retry_extend(struct retry *r, long min_budget_ms)
{
	if (r->p.budget_ms < min_budget_ms) {
		log_debug("retry budget extended from %ld to %ld ms", r->p.budget_ms, min_budget_ms);
		r->p.budget_ms = min_budget_ms;
	}
}

static int month_index(const char *m)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (strncmp(months + 3 * i, m, 3) == 0)
			return i;
	return -1;
}

int retry_parse_after(const char *value, time_t now, long *ret_ms)
{
	const char *s = value;
	char wday[4], mon[4], gmt[4];
	int day, year, hh, mm, ss, n = 0;
	struct tm tm = { 0 };
	time_t when;

	while (*s == ' ')
		s++;
	if (*s >= '0' && *s <= '9') {
		long v = 0;

		for (; *s >= '0' && *s <= '9'; s++) {
			if (v > 86400L * 365)
				return -EINVAL;
			v = v * 10 + (*s - '0');
		}
		while (*s == ' ')
			s++;
		if (*s)
			return -EINVAL;
		*ret_ms = v * 1000;
		return 0;
	}
	/* IMF-fixdate only; the obsolete formats are not sent by Azure. */
	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &day, mon, &year, &hh, &mm,
		   &ss, gmt, &n) != 8 || s[n] != '\0' || strcmp(gmt, "GMT") != 0)
		return -EINVAL;
	tm.tm_mon = month_index(mon);
	if (tm.tm_mon < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970)
		return -EINVAL;
	tm.tm_mday = day;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	when = timegm(&tm);
	if (when == (time_t)-1)
		return -EINVAL;
	*ret_ms = when > now ? (long)(when - now) * 1000 : 0;
	return 0;
}
