/* Azure Instance Metadata Service: managed-identity access tokens and the
 * VM's identity (vmId, name). Plain HTTP to 169.254.169.254, never through
 * a proxy (IMDS rejects proxied requests), header "Metadata: true".
 * Retries follow Azure's guidance per endpoint and status (imds_retry_rule):
 * the token endpoint retries 404 (identity not yet assigned, IMDS
 * updating), 410 (IMDS updating: for at least 70 s), 429 and 5xx (at least
 * 1 s apart); the instance metadata endpoint answers 404 only for an
 * element that does not exist, so there it is final. Transport errors and
 * timeouts are retried everywhere; other 4xx are final with IMDS's own
 * message. All within the retry budget, with backoff + jitter. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "retry.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_API_VERSION "2018-02-01"
#define IMDS_INSTANCE_API_VERSION "2021-02-01"

struct imds_client {
	/* Set by the caller (all optional): */
	const char *endpoint;       /* base URL; NULL = IMDS_DEFAULT_ENDPOINT */
	const char *client_id;      /* user-assigned identity: at most one of these */
	const char *object_id;
	const char *msi_res_id;
	struct retry_policy retry;
	long request_timeout_ms;    /* one HTTP request; 0 = 10 s */
	/* Token cache (private): one resource at a time. */
	char *token;                /* secmem */
	char *token_resource;
	int64_t token_expires_on;   /* Unix seconds */
};

/* A token for `resource` (e.g. "https://vault.azure.net"). Cached until
 * 5 minutes before expires_on; refresh=true skips the cache (after the
 * vault rejected it). *ret_token points into the client (valid until the
 * next call or imds_client_done; never log it). 0 or a negative errno,
 * with one line printed: -EACCES/-EINVAL for a final 4xx, -ETIMEDOUT when
 * the budget ran out, -EBADMSG for an unusable reply. */
int imds_get_token(struct imds_client *c, const char *resource, bool refresh,
		   const char **ret_token);

/* An optional instance metadata call (tags only) gets this much of the
 * budget and at most this many attempts: it must not hold up the store. */
#define IMDS_OPTIONAL_BUDGET_MS 5000L
#define IMDS_OPTIONAL_ATTEMPTS 3u

/* vmId and name from /metadata/instance/compute (malloc'ed). optional: the
 * caller goes on without them (IMDS_OPTIONAL_* limits, the failure is
 * still printed); else the client's whole retry budget. */
int imds_get_instance(struct imds_client *c, bool optional, char **ret_vm_id, char **ret_name);

/* Wipes the cached token. */
void imds_client_done(struct imds_client *c);

/* --- pure parts (unit-tested, fuzzed) --- */

/* Token reply: access_token (copied to secmem), expiry from expires_on or
 * else now + expires_in (numbers or strings), token_type must be Bearer
 * when present. -EBADMSG when unusable. */
int imds_parse_token(const char *body, size_t len, time_t now, char **ret_token_secmem,
		     int64_t *ret_expires_on);

/* Instance compute reply -> vmId, name (malloc'ed); -EBADMSG if missing. */
int imds_parse_instance(const char *body, size_t len, char **ret_vm_id, char **ret_name);

/* IMDS error body {"error","error_description"} (or {"error": "text"}) as
 * one line "error: description" into out; falls back to the raw body. */
void imds_error_message(const char *body, size_t len, char *out, size_t n);

/* Token URL with the resource and identity selector percent-encoded. */
int imds_token_url(const struct imds_client *c, const char *resource, char **ret);

/* Instance compute metadata URL. */
int imds_instance_url(const struct imds_client *c, char **ret);

enum imds_endpoint {
	IMDS_EP_TOKEN,      /* /metadata/identity/oauth2/token */
	IMDS_EP_INSTANCE,   /* /metadata/instance/compute */
};

/* What to do with an HTTP status from an IMDS endpoint. */
struct imds_retry_rule {
	bool retry;
	long min_delay_ms;   /* wait at least this long before the next attempt */
	long min_budget_ms;  /* keep trying at least this long from the first */
};

/* Pure: Azure's retry guidance as a table (imds.c follows it). */
struct imds_retry_rule imds_retry_rule(enum imds_endpoint ep, long status);

/* Percent-encodes everything but RFC 3986 unreserved characters. */
char *imds_url_encode(const char *s);
