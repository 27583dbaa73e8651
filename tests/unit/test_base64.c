#include <errno.h>

#include "base64.h"
#include "test.h"

/* RFC 4648 §10 vectors. */
static const char *const rfc_in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const rfc_std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
static const char *const rfc_url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };

TEST(base64_rfc4648_vectors)
{
	char out[32];
	unsigned char dec[32];
	size_t n;

	for (size_t i = 0; i < 7; i++) {
		size_t len = strlen(rfc_in[i]);

		CHECK_EQ_INT(base64_encode(rfc_in[i], len, out, false), strlen(rfc_std[i]));
		CHECK_EQ_STR(out, rfc_std[i]);
		CHECK_EQ_INT(base64_encoded_len(len, false), strlen(rfc_std[i]));
		CHECK_EQ_INT(base64_encode(rfc_in[i], len, out, true), strlen(rfc_url[i]));
		CHECK_EQ_STR(out, rfc_url[i]);
		CHECK_EQ_INT(base64_encoded_len(len, true), strlen(rfc_url[i]));
		CHECK_EQ_INT(base64_decode(rfc_std[i], strlen(rfc_std[i]), dec, &n, false), 0);
		CHECK_EQ_INT(n, len);
		CHECK_MEM(dec, rfc_in[i], len);
		CHECK_EQ_INT(base64_decode(rfc_url[i], strlen(rfc_url[i]), dec, &n, true), 0);
		CHECK_EQ_INT(n, len);
		CHECK_MEM(dec, rfc_in[i], len);
	}
}

TEST(base64url_alphabet_and_padding)
{
	const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
	unsigned char dec[8];
	char out[8];
	size_t n;

	base64_encode(bytes, 3, out, true);
	CHECK_EQ_STR(out, "-_-_");
	base64_encode(bytes, 3, out, false);
	CHECK_EQ_STR(out, "+/+/");
	/* The other alphabet is refused. */
	CHECK_EQ_INT(base64_decode("+/+/", 4, dec, &n, true), -EINVAL);
	CHECK_EQ_INT(base64_decode("-_-_", 4, dec, &n, false), -EINVAL);
	/* url accepts padding too; std accepts it missing. */
	CHECK_EQ_INT(base64_decode("Zg==", 4, dec, &n, true), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(base64_decode("Zg", 2, dec, &n, false), 0);
	CHECK_EQ_INT(n, 1);
}

TEST(base64_rejects_malformed)
{
	unsigned char dec[16];
	size_t n;

	CHECK_EQ_INT(base64_decode("Z", 1, dec, &n, true), -EINVAL);          /* lone char */
	CHECK_EQ_INT(base64_decode("Zh", 2, dec, &n, true), -EINVAL);         /* trailing bits */
	CHECK_EQ_INT(base64_decode("Zm9=", 4, dec, &n, false), -EINVAL);      /* trailing bits */
	CHECK_EQ_INT(base64_decode("Zg=", 3, dec, &n, false), -EINVAL);       /* half padding */
	CHECK_EQ_INT(base64_decode("Zg===", 5, dec, &n, false), -EINVAL);
	CHECK_EQ_INT(base64_decode("Z=g=", 4, dec, &n, false), -EINVAL);      /* pad in middle */
	CHECK_EQ_INT(base64_decode("Zm9v Zg", 7, dec, &n, false), -EINVAL);   /* space */
	CHECK_EQ_INT(base64_decode("Zm9v\n", 5, dec, &n, false), -EINVAL);
	CHECK_EQ_INT(base64_decode("Zm9vYmFy====", 12, dec, &n, false), -EINVAL);
	CHECK_EQ_INT(base64_decode("", 0, dec, &n, false), 0);
	CHECK_EQ_INT(n, 0);
}

TEST(base64_round_trip_all_lengths)
{
	unsigned char in[70], dec[80];
	char enc[100];
	size_t n;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(in); len++) {
		for (int url = 0; url < 2; url++) {
			size_t e = base64_encode(in, len, enc, url);

			CHECK(base64_decoded_max(e) >= len);
			CHECK_EQ_INT(base64_decode(enc, e, dec, &n, url), 0);
			CHECK_EQ_INT(n, len);
			CHECK_MEM(dec, in, len);
		}
	}
}
