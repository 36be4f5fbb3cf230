/*
 * test_quant.c - sqlite-vec's IVF quantizers as ivfkit reproduces them, against
 * values worked out by hand from sqlite-vec-ivf.c: int8 clamps then truncates,
 * binary sets a bit for v > 0 (LSB first), decode round-trips, and the nearest
 * centroid is vec0's: strict <, the first of equals, float32 sums past 2^24.
 */
#include "testutil.h"

#include <string.h>

#include "err.h"
#include "quant.h"

static void test_quant__int8_clamps_and_truncates(void **state)
{
	const float x[8] = {1.5f, -2.0f, 0.999f, -0.5f, 0.0078f, -0.0079f, 0.5f, 0.0f};
	/* 0.999 x 127 = 126.873 -> 126; 0.0078 x 127 = 0.99 -> 0; -0.0079 x 127 = -1.003 -> -1 */
	const int8_t want[8] = {127, -127, 126, -63, 0, -1, 63, 0};
	int8_t got[8];
	quant_encode(QUANT_INT8, x, 1, 8, (unsigned char *)got);
	assert_memory_equal(got, want, 8);
	assert_int_equal(quant_size(QUANT_INT8, 8), 8);
}

static void test_quant__binary_sets_bits_lsb_first(void **state)
{
	float x[16] = {0};
	x[0] = 0.1f;
	x[3] = 2.0f;
	x[8] = 1e-30f;
	x[9] = -1.0f; /* not > 0 */
	x[15] = 1.0f;
	unsigned char got[2];
	quant_encode(QUANT_BINARY, x, 1, 16, got);
	assert_int_equal(got[0], 0x09);
	assert_int_equal(got[1], 0x81);
	assert_int_equal(quant_size(QUANT_BINARY, 16), 2);
}

static void test_quant__decode_encodes_to_the_same_bytes(void **state)
{
	int8_t all[255];
	for (int i = 0; i < 255; i++)
		all[i] = (int8_t)(i - 127);
	float x[255];
	int8_t back[255];
	quant_decode(QUANT_INT8, (const unsigned char *)all, 1, 255, x);
	quant_encode(QUANT_INT8, x, 1, 255, (unsigned char *)back);
	assert_memory_equal(back, all, 255);
	const unsigned char bits[3] = {0xa5, 0x00, 0xff};
	unsigned char bb[3];
	float xb[24];
	quant_decode(QUANT_BINARY, bits, 1, 24, xb);
	quant_encode(QUANT_BINARY, xb, 1, 24, bb);
	assert_memory_equal(bb, bits, 3);
}

static void test_quant__nearest_takes_the_first_of_equals(void **state)
{
	char err[ERR_LEN];
	/* one byte (8 dims) each: the row 0x0f is 2 bits from 0x03 and from 0x3f */
	const unsigned char c[3] = {0xff, 0x03, 0x3f}, x[2] = {0x0f, 0xfe};
	int32_t near[2];
	assert_int_equal(quant_nearest(QUANT_BINARY, x, 2, c, 3, 8, near, err), 0);
	assert_int_equal(near[0], 1);
	assert_int_equal(near[1], 0);
	const int8_t ci[4] = {10, 0, -10, 0}, xi[2] = {0, 1};
	int32_t ni[1];
	/* (0,1) is 10.05 from (10,0) and from (-10,0): the first wins */
	assert_int_equal(quant_nearest(QUANT_INT8, (const unsigned char *)xi, 1,
	                               (const unsigned char *)ci, 2, 2, ni, err),
	                 0);
	assert_int_equal(ni[0], 0);
}

/* Past 2^24 vec0's float32 sum rounds: centroid 0 is one farther than centroid
 * 1 (exact squared distances 67,032,117 and 67,032,116), yet both float32 sums
 * (dimension order) come to 67,032,124, and vec0 keeps the first. */
static void test_quant__nearest_rounds_as_vec0_sums(void **state)
{
	enum { D = 1040 };
	static int8_t x[D], c[2 * D];
	char err[ERR_LEN];
	for (int i = 0; i < D; i++) {
		x[i] = 127;
		c[i] = c[D + i] = -127; /* 254^2 a dimension */
	}
	x[0] = 0;
	c[0] = 1; /* 1 for centroid 0, 0 for centroid 1 */
	c[D] = 0;
	int32_t near[1];
	assert_int_equal(quant_nearest(QUANT_INT8, (const unsigned char *)x, 1,
	                               (const unsigned char *)c, 2, D, near, err),
	                 0);
	assert_int_equal(near[0], 0);
	/* below 2^24 the same one-apart pair is told apart */
	enum { E = 200 };
	static int8_t c2[2 * E];
	memcpy(c2, c, E);
	memcpy(c2 + E, c + D, E);
	assert_int_equal(quant_nearest(QUANT_INT8, (const unsigned char *)x, 1,
	                               (const unsigned char *)c2, 2, E, near, err),
	                 0);
	assert_int_equal(near[0], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quant__int8_clamps_and_truncates),
	    cmocka_unit_test(test_quant__binary_sets_bits_lsb_first),
	    cmocka_unit_test(test_quant__decode_encodes_to_the_same_bytes),
	    cmocka_unit_test(test_quant__nearest_takes_the_first_of_equals),
	    cmocka_unit_test(test_quant__nearest_rounds_as_vec0_sums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
