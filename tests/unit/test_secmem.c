#include "secmem.h"
#include "test.h"

TEST(secmem_alloc_is_zeroed_and_sized)
{
	unsigned char *p = secmem_alloc(100);

	CHECK(p != NULL);
	CHECK_EQ_INT(secmem_size(p), 100);
	for (int i = 0; i < 100; i++)
		CHECK_EQ_INT(p[i], 0);
	secmem_free(p);
	secmem_free(NULL);
}

TEST(secmem_cleanup_attribute_frees)
{
	_cleanup_secmem_ char *k = secmem_alloc(64);

	CHECK(k != NULL);
	memset(k, 0xaa, 64);
}
