/* The only wrapper around libcurl. Everything that talks HTTP(S) goes
 * through http_request(); no other file includes curl.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct http_request {
	const char *method;            /* "GET", "PUT", "POST" */
	const char *url;
	const char *const *headers;    /* NULL-terminated "Name: value" list, or NULL */
	const void *body;              /* request body (JSON), or NULL */
	size_t body_len;
	const char *ca_file;           /* CA bundle for HTTPS; NULL = none (HTTPS then fails) */
	const char *resolve;           /* "host:port:addr" override for tests, or NULL */
	bool use_env_proxy;            /* false: never use a proxy (IMDS); true: honour
	                                  https_proxy/no_proxy from the environment (vault) */
	long timeout_ms;               /* whole transfer; 0 = 30 s */
	long connect_timeout_ms;       /* 0 = 10 s */
	size_t max_body;               /* reply bodies larger than this fail; 0 = 1 MiB */
};

struct http_response {
	long status;                   /* HTTP status code */
	char *body;                    /* NUL-terminated; wiped on free (may hold secrets) */
	size_t body_len;
	char *content_type;            /* header values, or NULL when absent */
	char *www_authenticate;
	char *retry_after;
	char *proxy;                   /* use_env_proxy: the proxy libcurl chose from the
	                                  environment (credentials cut), or NULL; set on
	                                  transport failures too */
};

/* Performs one request. Returns 0 when any HTTP response arrived (check
 * resp->status), or a negative errno for transport failures, with one line
 * logged naming the URL: -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH,
 * -ECONNRESET, -EBADMSG (TLS/certificate/host name), -EFBIG (body over
 * max_body), -EIO otherwise. resp must be freed with http_response_free()
 * in every case. */
int http_request(const struct http_request *req, struct http_response *resp);
void http_response_free(struct http_response *resp);

/* A proxy URL for messages: "scheme://user:pw@host:port" without "user:pw@". */
void http_proxy_display(const char *url, char *out, size_t n);

/* Transport errors worth retrying (timeouts, refused, reset). */
bool http_error_is_transient(int r);

/* "libcurl/7.88.1" for --version. */
const char *http_library_version(void);
