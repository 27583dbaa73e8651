#include "imds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json_util.h"
#include "log.h"
#include "secmem.h"

#define IMDS_TOKEN_MARGIN_S 300

static bool is_json(const char *ctype)
{
	/* Absent is tolerated; a present non-JSON type is a proxy or portal page. */
	return !ctype || strncasecmp(ctype, "application/json", 16) == 0;
}

/* One IMDS GET with retries as Azure's guidance for endpoint ep says; an
 * optional call (its caller goes on without it) gets IMDS_OPTIONAL_*, else
 * the client's budget. On success *resp holds a 200 JSON reply. `what`
 * names the request in messages. */
static int imds_get(struct imds_client *c, enum imds_endpoint ep, bool optional, const char *url,
		    const char *what, struct http_response *resp,
		    int (*check)(const struct http_response *resp, void *userdata), void *userdata)
{
	static const char *const headers[] = { "Metadata: true", NULL };
	struct retry_policy p = c->retry;
	struct retry rt;
	char last[300] = "";
	long min_delay;
	int r;

	if (optional) {
		/* A few seconds, a few attempts (issue 16.7: a 404 here once
		 * cost the whole budget before the store went on). */
		if (p.budget_ms <= 0 || p.budget_ms > IMDS_OPTIONAL_BUDGET_MS)
			p.budget_ms = IMDS_OPTIONAL_BUDGET_MS;
		p.max_retries = IMDS_OPTIONAL_ATTEMPTS - 1;
	}
	retry_init(&rt, &p);
	for (;;) {
		long timeout = c->request_timeout_ms > 0 ? c->request_timeout_ms : 10000;
		long left = retry_remaining_ms(&rt), hint = 0;
		struct imds_retry_rule rule;
		struct http_request req = {
			.method = "GET", .url = url, .headers = headers,
			.use_env_proxy = false, .max_body = 64 * 1024,
			.connect_timeout_ms = 5000,
		};

		if (left < timeout)
			timeout = left > 1000 ? left : 1000;
		req.timeout_ms = timeout;
		r = http_request(&req, resp);
		min_delay = 0;
		if (r < 0) {
			if (!http_error_is_transient(r)) {
				http_response_free(resp);
				return r;   /* http.c printed the line */
			}
			snprintf(last, sizeof(last), "%s", strerror(-r));
		} else if (resp->status == 200) {
			if (!is_json(resp->content_type)) {
				snprintf(last, sizeof(last), "reply is '%s', not JSON",
					 resp->content_type);
			} else if (check(resp, userdata) == 0) {
				return 0;
			} else {
				snprintf(last, sizeof(last), "malformed reply");
			}
			log_warn("IMDS %s: %s, retrying", what, last);
		} else {
			char msg[256];

			imds_error_message(resp->body, resp->body_len, msg, sizeof(msg));
			rule = imds_retry_rule(ep, resp->status);
			if (!rule.retry) {
				r = log_error(resp->status == 403 || resp->status == 401 ? EACCES : EINVAL,
					      "IMDS %s: HTTP %ld: %s", what, resp->status, msg);
				http_response_free(resp);
				return r;
			}
			if (resp->retry_after)
				retry_parse_after(resp->retry_after, time(NULL), &hint);
			min_delay = rule.min_delay_ms;
			/* An optional call keeps its small budget whatever the status. */
			if (!optional)
				retry_extend(&rt, rule.min_budget_ms);
			snprintf(last, sizeof(last), "HTTP %ld: %s", resp->status, msg);
			log_warn("IMDS %s: %s, retrying", what, last);
		}
		http_response_free(resp);
		r = retry_wait_at_least(&rt, hint, min_delay);
		if (r < 0)
			return log_error(ETIMEDOUT, "IMDS %s: gave up after %u retries in %.1f s: %s",
					 what, rt.attempt,
					 (double)(retry_now_ms() - rt.start_ms) / 1000, last);
	}
}

struct token_check {
	char *token;
	int64_t exp;
};

static int check_token(const struct http_response *resp, void *userdata)
{
	struct token_check *t = userdata;

	return imds_parse_token(resp->body, resp->body_len, time(NULL), &t->token, &t->exp);
}

int imds_get_token(struct imds_client *c, const char *resource, bool refresh,
		   const char **ret_token)
{
	struct token_check t = { 0 };
	struct http_response resp;
	char *url, *res;
	int r;

	if (!refresh && c->token && c->token_resource && strcmp(c->token_resource, resource) == 0 &&
	    c->token_expires_on - IMDS_TOKEN_MARGIN_S > (int64_t)time(NULL)) {
		*ret_token = c->token;
		return 0;
	}
	r = imds_token_url(c, resource, &url);
	if (r < 0)
		return log_error(-r, "IMDS token: out of memory");
	log_debug("IMDS token request for resource '%s'", resource);
	r = imds_get(c, IMDS_EP_TOKEN, false, url, "token", &resp, check_token, &t);
	free(url);
	if (r < 0)
		return r;
	http_response_free(&resp);
	res = strdup(resource);
	if (!res) {
		secmem_free(t.token);
		return log_error(ENOMEM, "IMDS token: out of memory");
	}
	secmem_free(c->token);
	free(c->token_resource);
	c->token = t.token;
	c->token_resource = res;
	c->token_expires_on = t.exp;
	log_debug("IMDS token: %zu bytes, expires in %lld s", strlen(t.token),
		  (long long)(t.exp - time(NULL)));
	*ret_token = c->token;
	return 0;
}

struct instance_check {
	char *vm_id, *name;
};

static int check_instance(const struct http_response *resp, void *userdata)
{
	struct instance_check *i = userdata;

	return imds_parse_instance(resp->body, resp->body_len, &i->vm_id, &i->name);
}

int imds_get_instance(struct imds_client *c, bool optional, char **ret_vm_id, char **ret_name)
{
	struct instance_check i = { 0 };
	struct http_response resp;
	char *url = NULL;
	int r;

	if (imds_instance_url(c, &url) < 0)
		return log_error(ENOMEM, "IMDS instance metadata: out of memory");
	r = imds_get(c, IMDS_EP_INSTANCE, optional, url, "instance metadata", &resp, check_instance,
		     &i);
	free(url);
	if (r < 0)
		return r;
	http_response_free(&resp);
	*ret_vm_id = i.vm_id;
	*ret_name = i.name;
	return 0;
}

void imds_client_done(struct imds_client *c)
{
	secmem_free(c->token);
	free(c->token_resource);
	c->token = NULL;
	c->token_resource = NULL;
	c->token_expires_on = 0;
}
