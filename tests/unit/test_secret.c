/*
 * test_secret.c: the token heap (secret.h): blocks come zeroed, are zeroed
 * when freed, are recycled per size class, and big ones get their own
 * mapping. Reading a block after secret_free() is deliberate here: slabs are
 * never unmapped, and "zeroed when freed" can only be seen that way.
 */
#include <stdint.h>
#include <string.h>

#include "secret.h"
#include "unit.h"

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

START_TEST(test_secret_alloc_returns_zeroed_writable_memory)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 1000, 4096, 60000 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = secret_alloc(sizes[i]);

		ck_assert_msg(p != NULL, "secret_alloc(%zu) failed", sizes[i]);
		ck_assert_msg(all_zero(p, sizes[i]), "secret_alloc(%zu) not zeroed", sizes[i]);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		memset(p, 0xA5, sizes[i]);
		secret_free(p);
	}
}
END_TEST

START_TEST(test_secret_free_zeroes_the_block)
{
	char *p = secret_alloc(100);

	ck_assert_ptr_nonnull(p);
	memset(p, 'T', 100);
	secret_free(p);
	/* Still mapped (slabs are kept); the token bytes must be gone. */
	ck_assert_msg(all_zero(p, 100), "freed secret block still holds its bytes");
}
END_TEST

START_TEST(test_secret_free_list_reuses_last_freed_block_zeroed)
{
	char *p, *q;

	p = secret_alloc(200);
	ck_assert_ptr_nonnull(p);
	memset(p, 'S', 200);
	secret_free(p);
	q = secret_alloc(200);
	ck_assert_ptr_eq(q, p);
	ck_assert(all_zero(q, 200));
	/* Payloads of 113..240 bytes share the 256-byte class: same block. */
	secret_free(q);
	q = secret_alloc(150);
	ck_assert_ptr_eq(q, p);
	secret_free(q);
}
END_TEST

START_TEST(test_secret_strndup_copies_and_terminates)
{
	char *p = secret_strndup("abcdef", 3);

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "abc");
	secret_free(p);
	p = secret_strndup("", 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	secret_free(p);
	/* Bytes, not a C string: an embedded NUL is copied too. */
	p = secret_strndup("a\0b", 3);
	ck_assert_ptr_nonnull(p);
	ck_assert_mem_eq(p, "a\0b\0", 4);
	secret_free(p);
}
END_TEST

START_TEST(test_secret_big_allocation_gets_own_mapping_and_returns_it)
{
	size_t before = secret_mapped_bytes(), len = 200 * 1024;
	unsigned char *p = secret_alloc(len);

	ck_assert_ptr_nonnull(p);
	ck_assert(all_zero(p, len));
	ck_assert_uint_ge(secret_mapped_bytes(), before + len);
	memset(p, 0xEE, len);
	secret_free(p);
	ck_assert_uint_eq(secret_mapped_bytes(), before);
}
END_TEST

START_TEST(test_secret_sizes_around_the_64k_boundary_work)
{
	/* 65520 is the largest pooled payload (16-byte header); above is mapped. */
	static const size_t sizes[] = { 65519, 65520, 65521, 65536, 65537 };
	unsigned char *p[5];
	size_t i;

	for (i = 0; i < 5; i++) {
		p[i] = secret_alloc(sizes[i]);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert(all_zero(p[i], sizes[i]));
		memset(p[i], (int)i + 1, sizes[i]);
	}
	for (i = 0; i < 5; i++) {
		ck_assert_uint_eq(p[i][0], i + 1);
		ck_assert_uint_eq(p[i][sizes[i] - 1], i + 1);
		secret_free(p[i]);
	}
}
END_TEST

START_TEST(test_secret_many_small_blocks_do_not_overlap)
{
	enum { N = 600 };	/* several 64 KiB slabs of mixed classes */
	unsigned char *blocks[N];
	size_t sizes[N], i, j;

	for (i = 0; i < N; i++) {
		sizes[i] = 1 + (i * 37) % 700;
		blocks[i] = secret_alloc(sizes[i]);
		ck_assert_ptr_nonnull(blocks[i]);
		memset(blocks[i], (int)(i & 0xff), sizes[i]);
	}
	for (i = 0; i < N; i++)
		for (j = 0; j < sizes[i]; j++)
			ck_assert_msg(blocks[i][j] == (unsigned char)(i & 0xff),
			    "block %zu overwritten", i);
	for (i = 0; i < N; i++)
		secret_free(blocks[i]);
}
END_TEST

START_TEST(test_secret_free_accepts_null)
{
	secret_free(NULL);
	secret_wipe(NULL, 10);
}
END_TEST

START_TEST(test_secret_double_free_is_ignored_with_a_warning)
{
	char *p = secret_alloc(40), *q, *r;

	ck_assert_ptr_nonnull(p);
	unit_log_reset();
	secret_free(p);
	secret_free(p);
	ck_assert_int_eq(unit_log_count(), 1);
	ck_assert(unit_log_contains("not a secret block"));
	/* The block is on the free list once, not twice. */
	q = secret_alloc(40);
	r = secret_alloc(40);
	ck_assert_ptr_ne(q, r);
	secret_free(q);
	secret_free(r);
}
END_TEST

START_TEST(test_secret_wipe_zeroes_exactly_n_bytes)
{
	char b[8];

	memset(b, 'x', sizeof(b));
	secret_wipe(b, 5);
	ck_assert(all_zero(b, 5));
	ck_assert_mem_eq(b + 5, "xxx", 3);
}
END_TEST

Suite *
secret_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_secret_alloc_returns_zeroed_writable_memory);
	tcase_add_test(tc, test_secret_free_zeroes_the_block);
	tcase_add_test(tc, test_secret_free_list_reuses_last_freed_block_zeroed);
	tcase_add_test(tc, test_secret_strndup_copies_and_terminates);
	tcase_add_test(tc, test_secret_big_allocation_gets_own_mapping_and_returns_it);
	tcase_add_test(tc, test_secret_sizes_around_the_64k_boundary_work);
	tcase_add_test(tc, test_secret_many_small_blocks_do_not_overlap);
	tcase_add_test(tc, test_secret_free_accepts_null);
	tcase_add_test(tc, test_secret_double_free_is_ignored_with_a_warning);
	tcase_add_test(tc, test_secret_wipe_zeroes_exactly_n_bytes);
	suite_add_tcase(s, tc);
	return s;
}
