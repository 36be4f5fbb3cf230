/*
 * test_config.c - vecbench's config.ini: a full valid file read back field by
 * field, defaults, and every kind of mistake reported as "file:line: message"
 * at the right line, leaving the caller's struct untouched.
 */
#include "testutil.h"

#include "config.h"
#include "err.h"
#include "filter.h"
#include "peer.h"

static char *dir;

static int setup(void **state)
{
	dir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	tu_rmdir(dir);
	return 0;
}

/* Writes text to dir/name and returns the path. */
static const char *write_file(const char *name, const char *text)
{
	const char *p = tu_path(dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static void test_config__full_file_read_back(void **state)
{
	const char *p = write_file("full.ini", "# a comment\n"
	                                       "[dataset]\n"
	                                       "path = data/fm.hdf5\n"
	                                       "queries = 100\n"
	                                       "k = 10 ; inline comment\n"
	                                       "\n"
	                                       "[vec0]\n"
	                                       "path = /usr/local/lib/vec0.so\n"
	                                       "[run]\n"
	                                       "name = ci-run\n"
	                                       "seed = 42\n"
	                                       "threads = 2\n"
	                                       "warmup = 0\n"
	                                       "keep_db = yes\n"
	                                       "[gate]\n"
	                                       "min_recall = flat=0.999\n"
	                                       "min_recall = ivf-cf@8=0.9\n"
	                                       "max_recall_drop = 0.01\n"
	                                       "[flat]\n"
	                                       "type = flat\n"
	                                       "chunk_size = 256\n"
	                                       "[ivf-cf]\n"
	                                       "type = ivf\n"
	                                       "nlist = 64\n"
	                                       "nprobe = 8, 1,2\n"
	                                       "ntrain = 1000\n"
	                                       "niter = 10\n"
	                                       "page_size = 8192\n"
	                                       "[ivf-itt]\n"
	                                       "type = ivf\n"
	                                       "nlist = 64\n"
	                                       "order = insert-then-train\n"
	                                       "assign = native\n"
	                                       "[ivf-builtin]\n"
	                                       "type = ivf\n"
	                                       "nlist = 64\n"
	                                       "trainer = builtin\n"
	                                       "distance_metric = l2\n"
	                                       "[ivf-int8]\n"
	                                       "type = ivf\n"
	                                       "nlist = 8\n"
	                                       "trainer = builtin\n"
	                                       "quantizer = int8\n"
	                                       "oversample = 4\n");
	cfg *c = malloc(sizeof *c);
	char err[ERR_LEN];
	cfg_defaults(c);
	assert_int_equal(cfg_load(p, c, err), 0);
	/* relative paths are taken from the config file's folder */
	assert_string_equal(c->dataset, tu_path(dir, "data/fm.hdf5"));
	assert_int_equal(c->queries, 100);
	assert_int_equal(c->k, 10);
	assert_int_equal(c->k_line, 5);
	assert_int_equal(c->queries_line, 4);
	assert_string_equal(c->vec0, "/usr/local/lib/vec0.so");
	assert_string_equal(c->name, "ci-run");
	assert_int_equal(c->seed, 42);
	assert_int_equal(c->threads, 2);
	assert_int_equal(c->warmup, 0);
	assert_int_equal(c->keep_db, 1);
	assert_int_equal(c->gate.nmin, 2);
	assert_string_equal(c->gate.min[1].point, "ivf-cf@8");
	assert_float_equal(c->gate.min[1].recall, 0.9, 0);
	assert_float_equal(c->gate.max_recall_drop, 0.01, 0);
	assert_int_equal(c->nidx, 5);

	const cfg_index *x = cfg_find(c, "flat");
	assert_non_null(x);
	assert_int_equal(x->type_ivf, 0);
	assert_int_equal(x->chunk_size, 256);
	assert_int_equal(x->line, 19);

	x = cfg_find(c, "ivf-cf");
	assert_int_equal(x->type_ivf, 1);
	assert_int_equal(x->nlist, 64);
	assert_int_equal(x->nnprobe, 3);
	assert_int_equal(x->nprobe[0], 8);
	assert_int_equal(x->nprobe[2], 2);
	assert_int_equal(x->ntrain, 1000);
	assert_int_equal(x->niter, 10);
	assert_int_equal(x->page_size, 8192);
	assert_int_equal(x->order, CFG_ORDER_CENTROIDS_FIRST);
	assert_int_equal(x->trainer, CFG_TRAINER_IVFTRAIN);
	assert_int_equal(x->nlist_line, 24);
	assert_int_equal(x->ntrain_line, 26);

	x = cfg_find(c, "ivf-itt");
	assert_int_equal(x->order, CFG_ORDER_INSERT_THEN_TRAIN);
	assert_int_equal(x->assign, IVF_ASSIGN_NATIVE);
	assert_int_equal(x->nnprobe, 1);
	assert_int_equal(x->nprobe[0], 10); /* vec0's default */

	/* the builtin trainer only works on rows already inserted */
	x = cfg_find(c, "ivf-builtin");
	assert_int_equal(x->trainer, CFG_TRAINER_BUILTIN);
	assert_int_equal(x->order, CFG_ORDER_INSERT_THEN_TRAIN);
	assert_int_equal(x->metric_set, 1);
	assert_int_equal(x->metric, VTAB_L2);

	x = cfg_find(c, "ivf-int8");
	assert_string_equal(x->quantizer, "int8");
	assert_int_equal(x->oversample, 4);
	assert_int_equal(x->nprobe[0], 8); /* default nprobe capped at nlist */
	free(c);
}

static void test_config__defaults(void **state)
{
	const char *p = write_file("min.ini", "[dataset]\npath = /data/x.hdf5\n[f]\ntype = flat\n");
	cfg *c = malloc(sizeof *c);
	char err[ERR_LEN];
	cfg_defaults(c);
	assert_int_equal(cfg_load(p, c, err), 0);
	assert_string_equal(c->dataset, "/data/x.hdf5");
	assert_int_equal(c->k, 10);
	assert_int_equal(c->queries, 0);
	assert_string_equal(c->vec0, "");
	assert_string_equal(c->name, "");
	assert_string_equal(c->results, "results");
	assert_int_equal(c->seed, 1234);
	assert_int_equal(c->warmup, 1);
	assert_int_equal(c->batch, 1000);
	assert_int_equal(c->overhead_check, 1);
	assert_true(c->gate.max_recall_drop < 0);
	assert_int_equal(c->gate.nmin, 0);
	assert_int_equal(c->idx[0].metric_set, 0);
	free(c);
}

/* One mistake per file: the line it must be reported at and words the message
 * must contain. */
static const struct bad_case {
	const char *text;
	int line;
	const char *words;
} bad[] = {
    {"[dataset]\npath = d.hdf5\n[f]\ntype = flat\ncolor = red\n", 5, "unknown key \"color\""},
    {"[dataset]\npath = d.hdf5\nk = ten\n[f]\ntype = flat\n", 3, "k: \"ten\" is not an integer"},
    {"[dataset]\npath = d.hdf5\nk = 0\n[f]\ntype = flat\n", 3, "[1, 10000]"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype = hnsw\n", 4, "not one of flat | ivf"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype = flat\ntype = ivf\n", 5, "given twice"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype = flat\n[f]\ntype = flat\n", 5,
     "section [f] given twice (first on line 3)"},
    {"[dataset]\npath = d.hdf5\n[dataset]\nk = 5\n[f]\ntype = flat\n", 3, "given twice"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 4\nnprobe = 1,8\n", 6,
     "nprobe 8 exceeds nlist 4"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 4\nnprobe = 1,,2\n", 6,
     "nprobe: \"\" is not an integer"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 4\nnprobe = 2,2\n", 6, "2 listed twice"},
    {"[dataset]\npath = d.hdf5\n[f]\nnlist = 8\ntype = flat\n", 4,
     "nlist does not apply to [f] (type = flat)"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 8\ntrainer = builtin\nntrain = 100\n", 7,
     "ntrain does not apply to [i] (trainer = builtin)"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 8\norder = centroids-first\n"
     "trainer = builtin\n",
     6, "needs trainer = ivftrain"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 8\noversample = 4\n", 6,
     "(quantizer = none)"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 8\nassign = native\n", 6,
     "(order = centroids-first)"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 8\norder = bulk\nassign = native\n", 7,
     "assign does not apply to [i] (order = bulk)"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 8\norder = bulk\ntrainer = builtin\n", 6,
     "order = bulk needs trainer = ivftrain"},
    {"[dataset]\nk = 10\n[f]\ntype = flat\n", 1, "[dataset] path is required"},
    {"", 1, "[dataset] path is required"},
    {"[dataset]\npath = d.hdf5\n", 2, "no index sections"},
    {"[dataset]\npath = d.hdf5\n\n[i]\ntype = ivf\n", 4, "[i] has type = ivf but no nlist"},
    {"[dataset]\npath = d.hdf5\n[f]\n", 3, "[f] has no type"},
    {"[dataset]\npath = d.hdf5\n[f]\n  type = flat\n", 4, "indented line"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype flat\n", 4, "expected \"key = value\""},
    {"k = 3\n[dataset]\npath = d.hdf5\n[f]\ntype = flat\n", 1, "before any [section]"},
    {"[dataset]\npath = d.hdf5\n[gate]\nmin_recall = nope=0.9\n[f]\ntype = flat\n", 4,
     "no section [nope]"},
    {"[dataset]\npath = d.hdf5\n[gate]\nmin_recall = f@4=0.9\n[f]\ntype = flat\n", 4,
     "[f] is flat"},
    {"[dataset]\npath = d.hdf5\n[gate]\nmin_recall = f=1.5\n[f]\ntype = flat\n", 4,
     "recall must be a number in [0, 1]"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype = flat\npage_size = 1000\n", 5, "power of two"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype = flat\nchunk_size = 12\n", 5, "multiple of 8"},
    {"[dataset]\npath = d.hdf5\n[a b]\ntype = flat\n", 3, "section name [a b]"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 64\nntrain = 10\n", 6,
     "ntrain 10 is less than nlist 64"},
    {"[dataset]\npath = d.hdf5\n[run]\nkeep_db = maybe\n[f]\ntype = flat\n", 4,
     "not true or false"},
    {"[dataset]\npath = d.hdf5\n[run]\nseed = -1\n[f]\ntype = flat\n", 4,
     "not an unsigned integer"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype = flat\ndistance_metric = dot\n", 5,
     "not one of l2 | cosine | l1"},
    {"[dataset]\npath = d.hdf5\n[i]\ntype = ivf\nnlist = 8\nquantizer = int8\norder = "
     "insert-then-train\n",
     7, "quantizer = int8 with trainer = ivftrain needs order = centroids-first or bulk"},
    {"[dataset]\npath = d.hdf5\nfilter = tags\n[i]\ntype = ivf\nnlist = 8\n"
     "filter_column = metadata\n",
     7, "vec0 IVF tables reject metadata columns and partition keys"},
    {"[dataset]\npath = d.hdf5\n[f]\ntype = flat\nfilter_column = partition\n", 5,
     "filter_column applies to a filtered run only"},
    {"[dataset]\npath = d.hdf5\nfilter = tags\n[f]\ntype = flat\nfilter_oversample = 4\n", 6,
     "filter_oversample applies to filter_column = aux or join, not metadata"},
    {"[dataset]\npath = d.hdf5\nfilter = tags\n[i]\ntype = ivf\nnlist = 8\n"
     "nprobe = 1,2,3,4,5,6,7,8\nfilter_oversample = 1,2,3,4,5\n",
     8, "gives 40 points, more than 32"},
    {"[dataset]\npath = d.hdf5\nfilter = tags\n[f]\ntype = flat\ndb = x.sqlite\n", 6,
     "db = in a filtered run"},
    {"[dataset]\npath = d.hdf5\nfilter = a b\n[f]\ntype = flat\n", 3, "filter: use up to"},
    {"[dataset]\npath = d.hdf5\nk = 100\nfilter = t\n[i]\ntype = ivf\nnlist = 8\n"
     "filter_oversample = 41\n",
     8, "k x 41 = 4100 rows, more than vec0's KNN limit of 4096"},
    {"[dataset]\npath = d.hdf5\nfilter = tags\n[p]\ntype = faiss-flat\n"
     "filter_column = metadata\n",
     6, "filter_column does not apply to [p] (type = faiss-flat): it says how a vec0 table"},
    {"[dataset]\npath = d.hdf5\nfilter = tags\n[i]\ntype = ivf\nnlist = 8\n"
     "[p]\ntype = faiss-ivf\ncentroids = i\nfilter_oversample = 4\n",
     10, "filter_oversample does not apply to [p] (type = faiss-ivf)"},
};

/* A filtered run: the filter name, each section's label column (metadata on
 * flat, aux on ivf by default) and the over-fetch list. */
static void test_config__filtered_defaults(void **state)
{
	const char *p =
	    write_file("filt.ini", "[dataset]\npath = d.hdf5\nfilter = tags\n"
	                           "[f]\ntype = flat\n"
	                           "[part]\ntype = flat\nfilter_column = partition\n"
	                           "[i]\ntype = ivf\nnlist = 8\nnprobe = 2,8\n"
	                           "filter_oversample = 1,10,100\n"
	                           "[j]\ntype = ivf\nnlist = 8\nfilter_column = join\n");
	cfg *c = malloc(sizeof *c);
	char err[ERR_LEN];
	cfg_defaults(c);
	if (cfg_load(p, c, err))
		fail_msg("%s", err);
	assert_string_equal(c->filter, "tags");
	assert_int_equal(cfg_find(c, "f")->filter_mode, FLT_METADATA);
	assert_int_equal(cfg_find(c, "part")->filter_mode, FLT_PARTITION);
	const cfg_index *x = cfg_find(c, "i");
	assert_int_equal(x->filter_mode, FLT_AUX);
	assert_int_equal(x->npost_over, 3);
	assert_int_equal(x->post_over[2], 100);
	x = cfg_find(c, "j");
	assert_int_equal(x->filter_mode, FLT_JOIN);
	assert_int_equal(x->npost_over, 1);
	assert_int_equal(x->post_over[0], 1);
	free(c);
}

/* A filtered run takes a peer section exactly when its engine can filter
 * (peer.h's query_filtered), and otherwise says so at the section's line. */
static void test_config__filtered_peer_needs_an_engine_that_filters(void **state)
{
	cfg *c = malloc(sizeof *c);
	for (int t = CFG_TYPE_PEER; t < CFG_TYPE_NTYPES; t++) {
		char text[256], err[ERR_LEN] = "", want[CFG_PATH + 64];
		snprintf(text, sizeof text,
		         "[dataset]\npath = d.hdf5\nfilter = tags\n[i]\ntype = ivf\nnlist = 8\n"
		         "[p]\ntype = %s\n%s",
		         cfg_type_name((cfg_type)t),
		         t == CFG_TYPE_FAISS_IVF ? "centroids = i\n" : "");
		const char *p = write_file("peer.ini", text);
		cfg_defaults(c);
		int rc = cfg_load(p, c, err);
		if (peer_find((cfg_type)t)->query_filtered) {
			if (rc)
				fail_msg("%s: %s", cfg_type_name((cfg_type)t), err);
			assert_int_equal(cfg_find(c, "p")->type, t);
			continue;
		}
		snprintf(want, sizeof want, "%s:7: [p] type = %s: this engine cannot run filtered",
		         p, cfg_type_name((cfg_type)t));
		if (rc != ERR_INPUT || strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: rc %d, \"%s\"", cfg_type_name((cfg_type)t), rc, err);
	}
	free(c);
}

/* pgvector's iterative scans: relaxed_order by default in a filtered run, with
 * pgvector's own limits; what a section sets is read back; off outside one. */
static void test_config__pgvector_iterative_scan(void **state)
{
	const char *p =
	    write_file("iter.ini", "[dataset]\npath = d.hdf5\nfilter = tags\n"
	                           "[h]\ntype = pgvector-hnsw\n"
	                           "[hs]\ntype = pgvector-hnsw\niterative_scan = strict_order\n"
	                           "max_scan_tuples = 50000\nscan_mem_multiplier = 2.5\n"
	                           "[i]\ntype = pgvector-ivfflat\nmax_probes = 40\nfilter_plan = planner\n"
	                           "[io]\ntype = pgvector-ivfflat\niterative_scan = off\n");
	cfg *c = malloc(sizeof *c);
	char err[ERR_LEN];
	cfg_defaults(c);
	if (cfg_load(p, c, err))
		fail_msg("%s", err);
	const cfg_index *x = cfg_find(c, "h");
	assert_int_equal(x->iterative_scan, CFG_ITER_RELAXED);
	assert_int_equal(x->max_scan_tuples, 20000);
	assert_true(x->scan_mem_multiplier == 1);
	x = cfg_find(c, "hs");
	assert_int_equal(x->iterative_scan, CFG_ITER_STRICT);
	assert_int_equal(x->max_scan_tuples, 50000);
	assert_true(x->scan_mem_multiplier == 2.5);
	x = cfg_find(c, "i");
	assert_int_equal(x->iterative_scan, CFG_ITER_RELAXED);
	assert_int_equal(x->max_probes, 40);
	assert_int_equal(x->planner, 1);
	assert_int_equal(cfg_find(c, "h")->planner, 0);
	assert_int_equal(cfg_find(c, "io")->iterative_scan, CFG_ITER_OFF);
	assert_int_equal(cfg_find(c, "io")->max_probes, 32768);
	assert_string_equal(cfg_iter_name(CFG_ITER_RELAXED), "relaxed_order");
	p = write_file("iter2.ini", "[dataset]\npath = d.hdf5\n[h]\ntype = pgvector-hnsw\n");
	cfg_defaults(c);
	if (cfg_load(p, c, err))
		fail_msg("%s", err);
	assert_int_equal(cfg_find(c, "h")->iterative_scan, CFG_ITER_OFF);
	free(c);
}

static void test_config__errors_name_file_and_line(void **state)
{
	cfg *c = malloc(sizeof *c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[32], err[ERR_LEN] = "", want[128];
		snprintf(name, sizeof name, "bad%zu.ini", i);
		const char *p = write_file(name, bad[i].text);
		cfg_defaults(c);
		int rc = cfg_load(p, c, err);
		snprintf(want, sizeof want, "%s:%d: ", p, bad[i].line);
		if (rc != ERR_INPUT || strncmp(err, want, strlen(want)) != 0 ||
		    !strstr(err, bad[i].words))
			fail_msg("case %zu: rc %d, message \"%s\"; wanted \"%s...%s\"", i, rc, err,
			         want, bad[i].words);
		/* the caller's struct is left as it was */
		assert_int_equal(c->nidx, 0);
		assert_string_equal(c->dataset, "");
	}
	free(c);
}

static void test_config__long_line_refused(void **state)
{
	char text[600];
	snprintf(text, sizeof text, "[dataset]\npath = /%0300d\n[f]\ntype = flat\n", 0);
	const char *p = write_file("long.ini", text);
	cfg *c = malloc(sizeof *c);
	char err[ERR_LEN];
	cfg_defaults(c);
	assert_int_equal(cfg_load(p, c, err), ERR_INPUT);
	assert_non_null(strstr(err, ":2: line longer than"));
	free(c);
}

static void test_config__missing_file(void **state)
{
	cfg *c = malloc(sizeof *c);
	char err[ERR_LEN];
	cfg_defaults(c);
	assert_int_equal(cfg_load(tu_path(dir, "absent.ini"), c, err), ERR_INPUT);
	assert_non_null(strstr(err, "No such file"));
	free(c);
}

/* The committed configs stay valid: the main job, the full benchmark and the CI one. */
static void test_config__bundled_configs_parse(void **state)
{
	const char *root = getenv("IVFKIT_ROOT");
	if (!root)
		SKIP_BECAUSE("IVFKIT_ROOT is not set (run through make test)");
	cfg *c = malloc(sizeof *c);
	char path[4096], err[ERR_LEN];
	snprintf(path, sizeof path, "%s/configs/fashion-mnist.ini", root);
	cfg_defaults(c);
	if (cfg_load(path, c, err))
		fail_msg("%s", err);
	assert_int_equal(c->nidx, 3);
	assert_int_equal(cfg_find(c, "ivf-bulk")->order, CFG_ORDER_BULK);
	assert_int_equal(cfg_find(c, "ivf-insert-then-train")->order, CFG_ORDER_INSERT_THEN_TRAIN);
	snprintf(path, sizeof path, "%s/configs/fashion-mnist-full.ini", root);
	cfg_defaults(c);
	if (cfg_load(path, c, err))
		fail_msg("%s", err);
	assert_int_equal(c->nidx, 7);
	assert_int_equal(c->queries, 500);
	const cfg_index *x = cfg_find(c, "ivf-native-assign");
	assert_non_null(x);
	assert_int_equal(x->assign, IVF_ASSIGN_NATIVE);
	assert_int_equal(x->nnprobe, 6);
	x = cfg_find(c, "ivf-int8");
	assert_int_equal(x->trainer, CFG_TRAINER_BUILTIN);
	x = cfg_find(c, "ivf-int8-ivftrain");
	assert_non_null(x);
	assert_int_equal(x->trainer, CFG_TRAINER_IVFTRAIN);
	assert_int_equal(x->order, CFG_ORDER_BULK);
	assert_string_equal(x->quantizer, "int8");
	snprintf(path, sizeof path, "%s/configs/ci-small.ini", root);
	cfg_defaults(c);
	if (cfg_load(path, c, err))
		fail_msg("%s", err);
	assert_int_equal(c->nidx, 5);
	assert_int_equal(c->gate.nmin, 6);
	assert_int_equal(cfg_find(c, "ivf-bulk")->order, CFG_ORDER_BULK);
	snprintf(path, sizeof path, "%s/configs/filtered.ini", root);
	cfg_defaults(c);
	if (cfg_load(path, c, err))
		fail_msg("%s", err);
	assert_string_equal(c->filter, "tags");
	assert_int_equal(cfg_find(c, "flat-partition")->filter_mode, FLT_PARTITION);
	assert_int_equal(cfg_find(c, "faiss-ivf")->nlist, cfg_find(c, "ivf-postfilter")->nlist);
	assert_int_equal(cfg_find(c, "faiss-flat")->type, CFG_TYPE_FAISS_FLAT);
	assert_int_equal(cfg_find(c, "pgvector-hnsw")->iterative_scan, CFG_ITER_RELAXED);
	assert_int_equal(cfg_find(c, "pgvector-hnsw-off")->iterative_scan, CFG_ITER_OFF);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config__full_file_read_back),
	    cmocka_unit_test(test_config__defaults),
	    cmocka_unit_test(test_config__filtered_defaults),
	    cmocka_unit_test(test_config__filtered_peer_needs_an_engine_that_filters),
	    cmocka_unit_test(test_config__pgvector_iterative_scan),
	    cmocka_unit_test(test_config__errors_name_file_and_line),
	    cmocka_unit_test(test_config__long_line_refused),
	    cmocka_unit_test(test_config__missing_file),
	    cmocka_unit_test(test_config__bundled_configs_parse),
	};
	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
