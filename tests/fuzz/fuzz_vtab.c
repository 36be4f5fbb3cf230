/*
 * fuzz_vtab.c - libFuzzer target: the vec0 CREATE-statement parser
 * (vtab_parse in ivf/vtab_parse.c), the text-to-struct step of vtab_find, without a
 * database or the extension. The statement text is what a database file's
 * sqlite_master holds, so it is as untrusted as the file. Both column choices
 * (the only IVF one, any) are tried, and a column by name.
 */
#include "fuzz.h"
#include "ivf.h"
#include "vtab_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql = malloc(size + 1);
	if (!sql)
		return 0;
	memcpy(sql, data, size);
	sql[size] = 0;
	static const char *const columns[] = {NULL, "emb"};
	for (int c = 0; c < 2; c++) {
		for (int ivf = 0; ivf < 2; ivf++) {
			vtab t;
			char err[ERR_LEN] = "";
			int rc = vtab_parse("t", sql, columns[c], ivf, &t, err);
			fz_check_err(rc, err);
			/* what vec0's constructor would have accepted: callers size
			 * buffers and k-means by these */
			if (rc == 0 && (!t.column[0] || t.nvec < 1 || t.vec_index >= t.nvec ||
			                (ivf && !t.is_ivf) || t.d < 1 || t.d > VTAB_MAX_DIM))
				abort();
			if (rc == 0 && t.is_ivf &&
			    (t.nlist < 0 || t.nlist > IVF_MAX_NLIST || t.nprobe < 1 ||
			     t.nprobe > IVF_MAX_NLIST || t.oversample < 1))
				abort();
		}
	}
	free(sql);
	return 0;
}
