/* Retries within a total time budget: exponential backoff with jitter, or
 * the server's Retry-After when it gives one. Used for IMDS (404, 410, 429,
 * 5xx, timeouts) and Key Vault (429, 5xx, transport errors). */
#pragma once
#include <stdint.h>
#include <time.h>

struct retry_policy {
	long budget_ms;     /* total time from the first attempt; 0 = 90 s */
	long base_ms;       /* first backoff; 0 = 500 ms */
	long max_delay_ms;  /* cap for one backoff; 0 = 10 s */
	unsigned max_retries; /* 0 = as many as the budget allows */
};

struct retry {
	struct retry_policy p;   /* with defaults filled in */
	int64_t start_ms;        /* monotonic clock at retry_init */
	unsigned attempt;        /* retries done so far */
};

void retry_init(struct retry *r, const struct retry_policy *p);

/* Milliseconds left in the budget (0 when used up). */
long retry_remaining_ms(const struct retry *r);

/* Before the next attempt: sleeps the backoff (or hint_ms, the server's
 * Retry-After, when > 0) and returns 0; returns -ETIMEDOUT without
 * sleeping when that wait would end past the budget. */
int retry_wait(struct retry *r, long hint_ms);
/* The same, waiting at least min_ms (a status Azure says to retry "after
 * at least N seconds"); also -ETIMEDOUT once max_retries are done. */
int retry_wait_at_least(struct retry *r, long hint_ms, long min_ms);

/* Keeps the budget at least min_budget_ms from the first attempt (a
 * status whose guidance is "available again within N seconds"). */
void retry_extend(struct retry *r, long min_budget_ms);

/* Pure: the backoff before retry number `attempt` (0-based) given 32
 * random bits: half of min(base * 2^attempt, max) plus a random part of
 * the other half ("equal jitter"), so a fleet rebooting together spreads. */
long retry_backoff_ms(const struct retry_policy *p, unsigned attempt, uint32_t rnd);

/* Pure: Retry-After value (RFC 9110: delay-seconds or an IMF-fixdate such
 * as "Sun, 06 Nov 1994 08:49:37 GMT") relative to now -> milliseconds
 * (a date in the past gives 0). -EINVAL when unparseable. */
int retry_parse_after(const char *value, time_t now, long *ret_ms);

/* Monotonic milliseconds. */
int64_t retry_now_ms(void);
