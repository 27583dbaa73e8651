/* Azure Instance Metadata Service: managed-identity access tokens and the
 * VM's identity (vmId, name). Plain HTTP to 169.254.169.254, never through
 * a proxy (IMDS rejects proxied requests), header "Metadata: true".
 * Retries 404, 410, 429, 5xx and transport errors with backoff + jitter
 * within the retry budget; other 4xx are final with IMDS's own message. */
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

/* vmId and name from /metadata/instance/compute (malloc'ed). */
int imds_get_instance(struct imds_client *c, char **ret_vm_id, char **ret_name);

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

/* 404 (identity not ready), 410 (IMDS updating), 429, 5xx: retry. */
bool imds_status_retryable(long status);

/* Percent-encodes everything but RFC 3986 unreserved characters. */
char *imds_url_encode(const char *s);
