#include <errno.h>
#include <stdlib.h>

#include "imds.h"
#include "retry.h"
#include "secmem.h"
#include "test.h"

TEST(imds_token_numbers_as_strings)
{
	/* The shape IMDS documents: every number a string. */
	const char *body = "{\"access_token\":\"eyJ0eXAi.abc\",\"client_id\":\"x\","
			   "\"expires_in\":\"86399\",\"expires_on\":\"1506484173\","
			   "\"ext_expires_in\":\"86399\",\"not_before\":\"1506397473\","
			   "\"resource\":\"https://vault.azure.net\",\"token_type\":\"Bearer\"}";
	char *tok = NULL;
	int64_t exp = 0;

	CHECK_EQ_INT(imds_parse_token(body, strlen(body), 1000, &tok, &exp), 0);
	CHECK_EQ_STR(tok, "eyJ0eXAi.abc");
	CHECK_EQ_INT(exp, 1506484173);
	secmem_free(tok);
}

TEST(imds_token_numbers_and_expires_in_only)
{
	const char *a = "{\"access_token\":\"t\",\"expires_on\":1506484173}";
	const char *b = "{\"access_token\":\"t\",\"expires_in\":\"3600\"}";
	const char *c = "{\"access_token\":\"t\"}";
	char *tok;
	int64_t exp;

	CHECK_EQ_INT(imds_parse_token(a, strlen(a), 5, &tok, &exp), 0);
	CHECK_EQ_INT(exp, 1506484173);
	secmem_free(tok);
	CHECK_EQ_INT(imds_parse_token(b, strlen(b), 1000, &tok, &exp), 0);
	CHECK_EQ_INT(exp, 4600);
	secmem_free(tok);
	CHECK_EQ_INT(imds_parse_token(c, strlen(c), 1000, &tok, &exp), 0);
	CHECK_EQ_INT(exp, 1000);   /* usable once, never cached */
	secmem_free(tok);
}

TEST(imds_token_rejects_unusable)
{
	const char *bad[] = {
		"{\"access_token\":\"\"}",
		"{\"token\":\"t\"}",
		"{\"access_token\":5}",
		"{\"access_token\":\"t\",\"token_type\":\"MAC\"}",
		"{\"access_token\":\"a b\"}",
		"{\"access_token\":\"a\\r\\nX-Evil: 1\"}",
		"{\"access_token\":\"t\",\"expires_on\":\"soon\"}",
		"{\"access_token\":\"t\",\"expires_in\":\"-1\"}",
		"{\"access_token\":\"t\"",
		"<html>",
	};
	char *tok;
	int64_t exp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(imds_parse_token(bad[i], strlen(bad[i]), 0, &tok, &exp), -EBADMSG);
}

TEST(imds_error_messages)
{
	char m[128];
	const char *a = "{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}";
	const char *b = "{\"error\":\"Bad request. api-version was not specified\"}";

	imds_error_message(a, strlen(a), m, sizeof(m));
	CHECK_EQ_STR(m, "invalid_request: Identity not found");
	imds_error_message(b, strlen(b), m, sizeof(m));
	CHECK_EQ_STR(m, "Bad request. api-version was not specified");
	imds_error_message("Not found\n", 10, m, sizeof(m));
	CHECK_EQ_STR(m, "Not found ");
	imds_error_message("", 0, m, sizeof(m));
	CHECK_EQ_STR(m, "(empty reply)");
}

TEST(imds_token_url_encodes_resource_and_identity)
{
	struct imds_client c = { 0 };
	char *url;

	CHECK_EQ_INT(imds_token_url(&c, "https://vault.azure.net", &url), 0);
	CHECK_EQ_STR(url, "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
			  "&resource=https%3A%2F%2Fvault.azure.net");
	free(url);
	c.endpoint = "http://127.0.0.1:8080/";
	c.msi_res_id = "/subscriptions/x/resourcegroups/rg/providers/Microsoft.ManagedIdentity/"
		       "userAssignedIdentities/id 1";
	CHECK_EQ_INT(imds_token_url(&c, "https://vault.azure.cn", &url), 0);
	CHECK_EQ_STR(url, "http://127.0.0.1:8080/metadata/identity/oauth2/token?api-version=2018-02-01"
			  "&resource=https%3A%2F%2Fvault.azure.cn&msi_res_id=%2Fsubscriptions%2Fx%2F"
			  "resourcegroups%2Frg%2Fproviders%2FMicrosoft.ManagedIdentity%2F"
			  "userAssignedIdentities%2Fid%201");
	free(url);
	c.msi_res_id = NULL;
	c.client_id = "11111111-2222-3333-4444-555555555555";
	CHECK_EQ_INT(imds_token_url(&c, "https://vault.azure.net", &url), 0);
	CHECK(strstr(url, "&client_id=11111111-2222-3333-4444-555555555555") != NULL);
	free(url);
}

TEST(imds_instance_metadata)
{
	const char *a = "{\"vmId\":\"5c08b38e\",\"name\":\"vm1\",\"location\":\"westeurope\"}";
	const char *b = "{\"compute\":{\"vmId\":\"id2\",\"name\":\"vm2\"},\"network\":{}}";
	const char *c = "{\"name\":\"vm3\"}";
	char *id, *name;

	CHECK_EQ_INT(imds_parse_instance(a, strlen(a), &id, &name), 0);
	CHECK_EQ_STR(id, "5c08b38e");
	CHECK_EQ_STR(name, "vm1");
	free(id);
	free(name);
	CHECK_EQ_INT(imds_parse_instance(b, strlen(b), &id, &name), 0);
	CHECK_EQ_STR(id, "id2");
	free(id);
	free(name);
	CHECK_EQ_INT(imds_parse_instance(c, strlen(c), &id, &name), -EBADMSG);
}

TEST(imds_retry_rules_follow_azure_guidance_per_endpoint)
{
	const long both[] = { 410, 429, 408, 500, 502, 503, 504 };
	const long never[] = { 200, 400, 401, 403, 405 };
	struct imds_retry_rule r;

	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		CHECK(imds_retry_rule(IMDS_EP_TOKEN, both[i]).retry);
		CHECK(imds_retry_rule(IMDS_EP_INSTANCE, both[i]).retry);
	}
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		CHECK(!imds_retry_rule(IMDS_EP_TOKEN, never[i]).retry);
		CHECK(!imds_retry_rule(IMDS_EP_INSTANCE, never[i]).retry);
	}
	/* 404: the identity endpoint is updating or the identity is not yet
	 * assigned (retry); instance metadata: no such element (final). */
	CHECK(imds_retry_rule(IMDS_EP_TOKEN, 404).retry);
	CHECK(!imds_retry_rule(IMDS_EP_INSTANCE, 404).retry);
	/* 5xx: at least 1 s apart; 410: keep trying for 70 s. */
	r = imds_retry_rule(IMDS_EP_TOKEN, 503);
	CHECK_EQ_INT(r.min_delay_ms, 1000);
	r = imds_retry_rule(IMDS_EP_TOKEN, 410);
	CHECK_EQ_INT(r.min_budget_ms, 70000);
	CHECK_EQ_INT(r.min_delay_ms, 0);
	CHECK_EQ_INT(imds_retry_rule(IMDS_EP_TOKEN, 429).min_delay_ms, 0);
}

TEST(retry_max_retries_min_delay_and_extend)
{
	struct retry_policy p = { .budget_ms = 2000, .base_ms = 1, .max_delay_ms = 2,
				  .max_retries = 2 };
	struct retry r;
	int64_t t0;

	retry_init(&r, &p);
	CHECK_EQ_INT(retry_wait(&r, 0), 0);
	CHECK_EQ_INT(retry_wait(&r, 0), 0);
	/* the third retry is refused at once, budget or not */
	CHECK_EQ_INT(retry_wait(&r, 0), -ETIMEDOUT);
	CHECK_EQ_INT(r.attempt, 2);

	p.max_retries = 0;
	retry_init(&r, &p);
	t0 = retry_now_ms();
	CHECK_EQ_INT(retry_wait_at_least(&r, 0, 50), 0);
	CHECK(retry_now_ms() - t0 >= 50);
	/* a minimum beyond the budget ends it without sleeping */
	CHECK_EQ_INT(retry_wait_at_least(&r, 0, 5000), -ETIMEDOUT);
	retry_extend(&r, 70000);
	CHECK(retry_remaining_ms(&r) > 60000);
	retry_extend(&r, 1000);   /* never shrinks */
	CHECK(retry_remaining_ms(&r) > 60000);
}

TEST(imds_retry_backoff_grows_with_jitter_and_cap)
{
	struct retry_policy p = { .budget_ms = 60000, .base_ms = 100, .max_delay_ms = 1000 };

	/* Equal jitter: in [d/2, d] with d = min(base * 2^n, cap). */
	CHECK_EQ_INT(retry_backoff_ms(&p, 0, 0), 50);
	CHECK_EQ_INT(retry_backoff_ms(&p, 0, 50), 100);
	CHECK_EQ_INT(retry_backoff_ms(&p, 0, 51), 50);
	CHECK_EQ_INT(retry_backoff_ms(&p, 3, 0), 400);
	CHECK_EQ_INT(retry_backoff_ms(&p, 3, 400), 800);
	CHECK_EQ_INT(retry_backoff_ms(&p, 10, 0), 500);
	CHECK_EQ_INT(retry_backoff_ms(&p, 200, 500), 1000);
	for (uint32_t r = 0; r < 5000; r += 7) {
		long d = retry_backoff_ms(&p, 2, r);

		CHECK(d >= 200 && d <= 400);
	}
}

TEST(imds_retry_after_parsing)
{
	long ms = -1;

	CHECK_EQ_INT(retry_parse_after("3", 0, &ms), 0);
	CHECK_EQ_INT(ms, 3000);
	CHECK_EQ_INT(retry_parse_after(" 0 ", 0, &ms), 0);
	CHECK_EQ_INT(ms, 0);
	/* 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example). */
	CHECK_EQ_INT(retry_parse_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 20, &ms), 0);
	CHECK_EQ_INT(ms, 20000);
	CHECK_EQ_INT(retry_parse_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5, &ms), 0);
	CHECK_EQ_INT(ms, 0);
	CHECK_EQ_INT(retry_parse_after("soon", 0, &ms), -EINVAL);
	CHECK_EQ_INT(retry_parse_after("3s", 0, &ms), -EINVAL);
	CHECK_EQ_INT(retry_parse_after("-1", 0, &ms), -EINVAL);
	CHECK_EQ_INT(retry_parse_after("Sun, 06 Foo 1994 08:49:37 GMT", 0, &ms), -EINVAL);
	CHECK_EQ_INT(retry_parse_after("Sun, 06 Nov 1994 08:49:37 CET", 0, &ms), -EINVAL);
	CHECK_EQ_INT(retry_parse_after("99999999999", 0, &ms), -EINVAL);
}

TEST(imds_retry_budget_stops_waiting)
{
	struct retry_policy p = { .budget_ms = 300, .base_ms = 10, .max_delay_ms = 20 };
	struct retry r;
	int64_t t0 = retry_now_ms();
	int n = 0;

	retry_init(&r, &p);
	/* A hint beyond the budget fails at once, without sleeping. */
	CHECK_EQ_INT(retry_wait(&r, 5000), -ETIMEDOUT);
	CHECK(retry_now_ms() - t0 < 100);
	while (retry_wait(&r, 0) == 0)
		n++;
	CHECK(n >= 10);
	CHECK(retry_now_ms() - t0 <= 400);
	CHECK(retry_remaining_ms(&r) <= 20);
}
