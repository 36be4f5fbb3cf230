/*
 * test_idx_vecs.c - IDX (plain and gzip) and fvecs/ivecs/bvecs parsing: values
 * come back as written, and each malformed file is ERR_INPUT naming the file and
 * the problem. Input files are written byte by byte into a temporary folder.
 */
#include "testutil.h"

#include <math.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <zlib.h>

#include "err.h"
#include "idx.h"
#include "vecs.h"

/* Writes len bytes to dir/name, gzip-compressed when the name ends in .gz. */
static const char *put(const char *dir, const char *name, const void *buf, size_t len)
{
	const char *p = tu_path(dir, name);
	size_t n = strlen(name);
	if (n > 3 && !strcmp(name + n - 3, ".gz")) {
		gzFile g = gzopen(p, "wb");
		assert_non_null(g);
		assert_int_equal(gzwrite(g, buf, (unsigned)len), (int)len);
		assert_int_equal(gzclose(g), Z_OK);
	} else {
		FILE *f = fopen(p, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, len, f), len);
		fclose(f);
	}
	return p;
}

/* Reading path with read (idx_read_images or vecs_read_float) must fail with
 * ERR_INPUT, a message naming the file and holding want, and no output. */
static void expect_refused(int (*read)(const char *, float **, size_t *, size_t *, char *),
                           const char *name, const char *path, const char *want)
{
	float *x = NULL;
	size_t n, d;
	char err[ERR_LEN] = "";
	int rc = read(path, &x, &n, &d, err);
	if (rc != ERR_INPUT || !strstr(err, want) || !strstr(err, path))
		fail_msg("%s: rc %d, message '%s', expected '%s'", name, rc, err, want);
	assert_null(x);
}

/* An IDX file: magic with type and ndims, big-endian dims, then payload. */
static size_t idx_bytes(unsigned char *out, unsigned char type, int ndims, const uint32_t *dims,
                        const unsigned char *data, size_t len)
{
	size_t o = 0;
	out[o++] = 0;
	out[o++] = 0;
	out[o++] = type;
	out[o++] = (unsigned char)ndims;
	for (int i = 0; i < ndims; i++) {
		out[o++] = dims[i] >> 24;
		out[o++] = dims[i] >> 16;
		out[o++] = dims[i] >> 8;
		out[o++] = dims[i];
	}
	memcpy(out + o, data, len);
	return o + len;
}

static void test_idx__images_plain_and_gz(void **state)
{
	char *dir = tu_mkdtemp();
	unsigned char px[3 * 2 * 2], buf[64];
	for (int i = 0; i < 12; i++)
		px[i] = (unsigned char)(i * 20 + 15);
	uint32_t dims[] = {3, 2, 2};
	size_t len = idx_bytes(buf, 0x08, 3, dims, px, sizeof px);
	const char *names[] = {"img-idx3-ubyte", "img-idx3-ubyte.gz"};
	for (int v = 0; v < 2; v++) {
		const char *p = put(dir, names[v], buf, len);
		float *x;
		size_t n, d;
		char err[ERR_LEN];
		assert_int_equal(idx_read_images(p, &x, &n, &d, err), 0);
		assert_int_equal(n, 3);
		assert_int_equal(d, 4);
		for (int i = 0; i < 12; i++)
			assert_true(x[i] == px[i]);
		free(x);
	}
	tu_rmdir(dir);
}

static void test_idx__labels(void **state)
{
	char *dir = tu_mkdtemp();
	unsigned char lab[] = {9, 0, 3, 255}, buf[32];
	uint32_t dims[] = {4};
	const char *p = put(dir, "l.gz", buf, idx_bytes(buf, 0x08, 1, dims, lab, sizeof lab));
	int32_t *y;
	size_t n;
	char err[ERR_LEN];
	assert_int_equal(idx_read_labels(p, &y, &n, err), 0);
	assert_int_equal(n, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(y[i], lab[i]);
	free(y);
	tu_rmdir(dir);
}

static void test_idx__bad_files(void **state)
{
	static const struct {
		const char *name; /* file name (.gz: compressed) */
		unsigned char type;
		int ndims; /* as written in the header */
		uint32_t dims[3];
		size_t payload;   /* bytes of pixel data written */
		int cut;          /* bytes cut off the end of the whole file */
		const char *want; /* in the message */
	} cases[] = {
	    {"trunc.gz", 0x08, 3, {4, 2, 2}, 13, 0, "truncated: 13 of 16"},
	    {"trunc-plain", 0x08, 3, {4, 2, 2}, 16, 1, "truncated: 15 of 16"},
	    {"header", 0x08, 3, {4, 2, 2}, 0, 14, "truncated IDX header"},
	    {"labels-as-images", 0x08, 1, {4}, 4, 0, "1 dimensions, expected 3"},
	    {"float-type", 0x0D, 3, {1, 1, 1}, 4, 0, "value type 0x0d"},
	    {"trailing", 0x08, 3, {1, 2, 2}, 5, 0, "unexpected bytes after"},
	    {"zero-rows", 0x08, 3, {0, 2, 2}, 0, 0, "dimension 0 is 0"},
	    {"empty", 0x08, 3, {1, 1, 1}, 0, 16, "empty file"},
	    /* 256 GiB claimed: refused from the file size (or, gzip, the most it can
	     * inflate to) before a buffer that size is asked for, which failed as
	     * "out of memory" */
	    {"huge", 0x08, 3, {1u << 20, 512, 512}, 4, 0, "truncated: 4 of 274877906944"},
	    {"huge.gz",
	     0x08,
	     3,
	     {1u << 20, 512, 512},
	     4,
	     0,
	     "more than this gzip file can inflate to"},
	    /* 2^26 x 0x03020000 x 2^28 wraps to 0 bytes: was read as an empty payload
	     * of 2^26 rows */
	    {"wraps", 0x08, 3, {1u << 26, 0x03020000, 1u << 28}, 0, 0, "is implausible"},
	};
	char *dir = tu_mkdtemp();
	unsigned char data[64] = {0}, buf[128];
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		size_t len = idx_bytes(buf, cases[c].type, cases[c].ndims, cases[c].dims, data,
		                       cases[c].payload);
		const char *p = put(dir, cases[c].name, buf, len - (size_t)cases[c].cut);
		expect_refused(idx_read_images, cases[c].name, p, cases[c].want);
	}
	char err[ERR_LEN];
	float *x;
	size_t n, d;
	assert_int_equal(idx_read_images(tu_path(dir, "missing.gz"), &x, &n, &d, err), ERR_INPUT);
	assert_non_null(strstr(err, "missing.gz: cannot open"));
	tu_rmdir(dir);
}

/* Appends one vecs record of dim values of elem bytes each (from vals). */
static size_t rec(unsigned char *out, int32_t dim, const void *vals, size_t elem, size_t nvals)
{
	memcpy(out, &dim, 4);
	memcpy(out + 4, vals, elem * nvals);
	return 4 + elem * nvals;
}

static void test_vecs__fvecs_ivecs_bvecs_read(void **state)
{
	char *dir = tu_mkdtemp();
	unsigned char buf[256];
	float fv[2][3] = {{1.5f, -2, 0}, {3, 4.25f, -1e-3f}};
	int32_t iv[2][3] = {{7, 0, -5}, {1 << 30, 2, 3}};
	unsigned char bv[2][3] = {{0, 128, 255}, {1, 2, 3}};
	char err[ERR_LEN];
	float *x;
	int32_t *ix;
	size_t n, d, o;
	const char *names[] = {"a.fvecs", "a.fvecs.gz"};
	for (int v = 0; v < 2; v++) {
		o = rec(buf, 3, fv[0], 4, 3);
		o += rec(buf + o, 3, fv[1], 4, 3);
		assert_int_equal(vecs_read_float(put(dir, names[v], buf, o), &x, &n, &d, err), 0);
		assert_int_equal(n, 2);
		assert_int_equal(d, 3);
		assert_memory_equal(x, fv, sizeof fv);
		free(x);
	}
	o = rec(buf, 3, iv[0], 4, 3);
	o += rec(buf + o, 3, iv[1], 4, 3);
	assert_int_equal(vecs_read_int(put(dir, "gt.ivecs", buf, o), &ix, &n, &d, err), 0);
	assert_int_equal(n * d, 6);
	assert_memory_equal(ix, iv, sizeof iv);
	free(ix);
	o = rec(buf, 3, bv[0], 1, 3);
	o += rec(buf + o, 3, bv[1], 1, 3);
	assert_int_equal(vecs_read_float(put(dir, "b.bvecs", buf, o), &x, &n, &d, err), 0);
	assert_int_equal(n * d, 6);
	for (int i = 0; i < 6; i++)
		assert_true(x[i] == bv[i / 3][i % 3]);
	free(x);
	tu_rmdir(dir);
}

static void test_vecs__bad_files(void **state)
{
	static const struct {
		const char *name;
		int dim2;     /* dimension field of the second record */
		size_t vals2; /* values written for the second record */
		int cut;      /* bytes cut off the end */
		float poison; /* written as the second record's first value when nonzero */
		const char *want;
	} cases[] = {
	    {"trunc.fvecs", 4, 4, 3, 0, "truncated record 1 (13 of 16 value bytes)"},
	    {"trunc-dim.fvecs", 4, 0, 2, 0, "truncated record 1 (2 of 4 bytes of its dimension"},
	    {"trunc.fvecs.gz", 4, 2, 0, 0, "truncated record 1 (8 of 16"},
	    {"change.fvecs", 3, 3, 0, 0, "record 1 has dimension 3, the records before it 4"},
	    {"change.bvecs", 5, 5, 0, 0, "dimension changes mid-file"},
	    {"neg.fvecs", -1, 0, 0, 0, "record 1 has dimension -1"},
	    {"nan.fvecs", 4, 4, 0, NAN, "record 1 value 0 is NaN"},
	    {"inf.fvecs", 4, 4, 0, -INFINITY, "record 1 value 0 is -Inf"},
	    {"a.txt", 4, 4, 0, 0, "unknown vector file type"},
	    {"ids.ivecs", 4, 4, 0, 0, "ivecs holds integer ids"},
	};
	char *dir = tu_mkdtemp();
	float vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	unsigned char buf[256];
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		size_t elem = strstr(cases[c].name, ".bvecs") ? 1 : 4;
		size_t o = rec(buf, 4, vals, elem, 4);
		float v2[8];
		memcpy(v2, vals, sizeof v2);
		if (cases[c].poison != 0)
			v2[0] = cases[c].poison;
		o += rec(buf + o, cases[c].dim2, v2, elem, cases[c].vals2);
		const char *p = put(dir, cases[c].name, buf, o - (size_t)cases[c].cut);
		expect_refused(vecs_read_float, cases[c].name, p, cases[c].want);
	}
	char err[ERR_LEN];
	float *x;
	size_t n, d;
	assert_int_equal(vecs_read_float(put(dir, "empty.fvecs", buf, 0), &x, &n, &d, err),
	                 ERR_INPUT);
	assert_non_null(strstr(err, "empty file"));
	assert_int_equal(vecs_read_float(tu_path(dir, "none.fvecs"), &x, &n, &d, err), ERR_INPUT);
	assert_non_null(strstr(err, "none.fvecs: cannot open"));
	tu_rmdir(dir);
}

/* A first record claiming 2^20 values over a file that holds 2: refused with
 * what the file holds, and (plain and gzip alike) without a buffer sized by the
 * claim. The reader runs in a child allowed 256 MiB more address space, where the
 * 1024 claimed records (4 GiB) it used to allocate for a gzip file fail. ASan
 * reserves terabytes of shadow and cannot run under such a limit: there the
 * fuzz target's malloc limit holds the allocation bound. */
static void test_vecs__huge_claim_refused_before_allocating(void **state)
{
	char *dir = tu_mkdtemp();
	float vals[2] = {1, 2};
	unsigned char buf[16];
	size_t o = rec(buf, 1 << 20, vals, 4, 2);
	const char *names[] = {"huge.fvecs", "huge.fvecs.gz"};
	for (int v = 0; v < 2; v++) {
		const char *p = put(dir, names[v], buf, o);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
#ifndef __SANITIZE_ADDRESS__
			unsigned long pages;
			FILE *f = fopen("/proc/self/statm", "r");
			if (!f || fscanf(f, "%lu", &pages) != 1)
				_exit(3);
			fclose(f);
			rlim_t as = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (256u << 20);
			struct rlimit lim = {as, as};
			if (setrlimit(RLIMIT_AS, &lim))
				_exit(3);
#endif
			float *x = NULL;
			size_t n, d;
			char err[ERR_LEN] = "";
			int rc = vecs_read_float(p, &x, &n, &d, err);
			_exit(rc == ERR_INPUT && strstr(err, "truncated record 0 (8 of 4194304") ? 0
			      : rc == ERR_NOMEM                                                  ? 1
			                        : 2);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail_msg("%s: child status %d (1: out of memory, 2: other message)",
			         names[v], status);
	}
	tu_rmdir(dir);
}

static void test_vecs__kind_by_extension(void **state)
{
	static const struct {
		const char *path;
		int rc;
		vecs_kind kind;
	} cases[] = {
	    {"x.fvecs", 0, VECS_FVECS},    {"d/x.ivecs", 0, VECS_IVECS},
	    {"x.bvecs.gz", 0, VECS_BVECS}, {"x.fvecs.bz2", ERR_INPUT, 0},
	    {"fvecs", ERR_INPUT, 0},       {"x.gz", ERR_INPUT, 0},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		vecs_kind k = 99;
		char err[ERR_LEN];
		assert_int_equal(vecs_kind_of(cases[c].path, &k, err), cases[c].rc);
		if (!cases[c].rc)
			assert_int_equal(k, cases[c].kind);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idx__images_plain_and_gz),
	    cmocka_unit_test(test_idx__labels),
	    cmocka_unit_test(test_idx__bad_files),
	    cmocka_unit_test(test_vecs__fvecs_ivecs_bvecs_read),
	    cmocka_unit_test(test_vecs__bad_files),
	    cmocka_unit_test(test_vecs__huge_claim_refused_before_allocating),
	    cmocka_unit_test(test_vecs__kind_by_extension),
	};
	return cmocka_run_group_tests_name("idx_vecs", tests, NULL, NULL);
}
