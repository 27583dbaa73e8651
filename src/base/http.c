#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secmem.h"

struct body_buf {
	char *data;
	size_t len, cap, max;
	bool too_big;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Grows by doubling; old buffers are wiped because replies carry secrets. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body_buf *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n > b->max) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = malloc(cap);
		if (!d)
			return 0;
		if (b->data) {
			memcpy(d, b->data, b->len);
			secmem_wipe(b->data, b->cap);
			free(b->data);
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + len;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return NULL;
	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return strndup(v, (size_t)(end - v));
}

static void set_header(char **slot, char *value)
{
	if (!value)
		return;
	free(*slot);
	*slot = value;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_response *resp = userdata;
	size_t n = size * nmemb;

	/* A new status line (after a redirect or 100-continue) resets headers. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		free(resp->content_type);
		free(resp->www_authenticate);
		free(resp->retry_after);
		resp->content_type = resp->www_authenticate = resp->retry_after = NULL;
	}
	set_header(&resp->content_type, header_value(ptr, n, "Content-Type"));
	set_header(&resp->www_authenticate, header_value(ptr, n, "WWW-Authenticate"));
	set_header(&resp->retry_after, header_value(ptr, n, "Retry-After"));
	return n;
}

void http_proxy_display(const char *url, char *out, size_t n)
{
	const char *host = strstr(url, "://"), *at;

	host = host ? host + 3 : url;
	at = strchr(host, '@');
	if (at && at < host + strcspn(host, "/"))
		snprintf(out, n, "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(out, n, "%s", url);
}

/* libcurl chooses the proxy itself (its environment rules: <scheme>_proxy,
 * all_proxy, no_proxy); 7.88 has no getinfo for that choice, but says it in
 * an info line, "Uses proxy env variable NAME == 'URL'", which we keep (without
 * credentials) so a failure can name the proxy. Every other line is ignored:
 * header lines carry the bearer token. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *userdata)
{
	static const char tag[] = "Uses proxy env variable ";
	struct http_response *resp = userdata;
	const char *v, *end;
	char url[512];

	(void)c;
	if (type != CURLINFO_TEXT || size < sizeof(tag) - 1 ||
	    memcmp(data, tag, sizeof(tag) - 1) != 0)
		return 0;
	v = memmem(data, size, "== '", 4);
	end = data + size;
	while (end > data && end[-1] != '\'')
		end--;
	if (!v || end - 1 <= v + 4 || (size_t)(end - 1 - (v + 4)) >= sizeof(url))
		return 0;
	memcpy(url, v + 4, (size_t)(end - 1 - (v + 4)));
	url[end - 1 - (v + 4)] = '\0';
	free(resp->proxy);
	resp->proxy = malloc(sizeof(url));
	if (resp->proxy)
		http_proxy_display(url, resp->proxy, sizeof(url));
	explicit_bzero(url, sizeof(url));
	return 0;
}

static int map_curl_error(CURLcode rc, bool too_big)
{
	if (too_big)
		return -EFBIG;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return -EBADMSG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

bool http_error_is_transient(int r)
{
	return r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ECONNRESET ||
	       r == -EHOSTUNREACH;
}

int http_request(const struct http_request *req, struct http_response *resp)
{
	struct body_buf body = { .max = req->max_body ? req->max_body : 1024 * 1024 };
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL, *resolve = NULL, *tmp;
	CURL *curl = NULL;
	CURLcode rc;
	int r = 0;

	memset(resp, 0, sizeof(*resp));
	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		return log_error(EIO, "libcurl initialisation failed: %s",
				 curl_easy_strerror(http_global_rc));

	curl = curl_easy_init();
	if (!curl)
		return log_error(ENOMEM, "%s %s: cannot create transfer", req->method, req->url);

	for (const char *const *h = req->headers; h && *h; h++) {
		tmp = curl_slist_append(headers, *h);
		if (!tmp) {
			r = -ENOMEM;
			goto out;
		}
		headers = tmp;
	}
	if (req->body) {
		tmp = curl_slist_append(headers, "Content-Type: application/json");
		if (!tmp) {
			r = -ENOMEM;
			goto out;
		}
		headers = tmp;
	}
	/* libcurl adds "Expect: 100-continue" for large bodies; servers like
	 * IMDS do not answer it and the request stalls for a second. */
	tmp = curl_slist_append(headers, "Expect:");
	if (!tmp) {
		r = -ENOMEM;
		goto out;
	}
	headers = tmp;
	if (req->resolve) {
		resolve = curl_slist_append(NULL, req->resolve);
		if (!resolve) {
			r = -ENOMEM;
			goto out;
		}
	}

	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : 30000L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms ? req->connect_timeout_ms : 10000L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	/* Without a CA file nothing can verify; an empty CAINFO makes HTTPS fail
	 * closed instead of falling back to a built-in path (there is none). */
	curl_easy_setopt(curl, CURLOPT_CAINFO, req->ca_file ? req->ca_file : "/nonexistent");
	curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
	if (!req->use_env_proxy) {
		curl_easy_setopt(curl, CURLOPT_PROXY, "");
		curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	} else {
		curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(curl, CURLOPT_DEBUGDATA, resp);
		curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	}
	if (resolve)
		curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
	if (req->body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);

	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		r = map_curl_error(rc, body.too_big);
		if (r == -EFBIG)
			log_error(EFBIG, "%s %s: reply larger than %zu bytes", req->method,
				  req->url, body.max);
		else
			log_error(-r, "%s %s: %s", req->method, req->url,
				  errbuf[0] ? errbuf : curl_easy_strerror(rc));
		log_debug("curl code %d for %s", (int)rc, req->url);
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!body.data) {
		body.data = calloc(1, 1);
		if (!body.data) {
			r = -ENOMEM;
			goto out;
		}
	}
	resp->body = body.data;
	resp->body_len = body.len;
	body.data = NULL;
out:
	if (body.data) {
		secmem_wipe(body.data, body.cap);
		free(body.data);
	}
	/* Header values carry the bearer token: wipe our copies before freeing
	 * (libcurl's own request buffer is beyond reach; it is freed on cleanup). */
	for (struct curl_slist *h = headers; h; h = h->next)
		secmem_wipe(h->data, strlen(h->data));
	curl_slist_free_all(headers);
	curl_slist_free_all(resolve);
	curl_easy_cleanup(curl);
	return r;
}

void http_response_free(struct http_response *resp)
{
	if (resp->body) {
		secmem_wipe(resp->body, resp->body_len);
		free(resp->body);
	}
	free(resp->content_type);
	free(resp->www_authenticate);
	free(resp->retry_after);
	free(resp->proxy);
	memset(resp, 0, sizeof(*resp));
}

const char *http_library_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}
