#!/usr/bin/env bash
# tests/cli/load.sh - ivftrain --load: an empty vec0 IVF table filled from an HDF5
# dataset without vec0's per-row insert, against the same rows inserted through
# vec0 and bulk-assigned from the same centroids: identical base tables, cells and
# KNN results; vec0's point reads, inserts and deletes on the loaded table with
# --check clean after each; a real full disk, kill -9 at 20 points and a locked
# database leave the empty table as it was; bad inputs refused in one line with the
# database unchanged. @per-vec0: once per vec0 build (VEC0_PATH);
# builds without IVF skip with the reason.
. "$(dirname "$0")/lib.sh"

VEC0=${VEC0_PATH:?run through tests/run, which sets VEC0_PATH}
PY=/usr/bin/python3 # Debian's python: its sqlite3 module can load extensions
N=3000
NLIST=32

cat >"$TMP/h.py" <<'EOF'
import sys
import h5py, numpy as np
from vec0db import connect, command, hold

def rows(h5):
    with h5py.File(h5) as f:
        return np.asarray(f["train"], dtype=np.float32)

def create(vec0, path, d, columns=""):
    """The empty table items, or one with another key or column: text, aux, meta, vec2, l1."""
    key = "id text primary key" if columns == "text" else "id integer primary key"
    metric = " distance_metric=l1" if columns == "l1" else ""
    extra = {"aux": ", +label text", "meta": ", label text", "vec2": ", e2 float[4]"}.get(columns, "")
    connect(vec0, path).execute(f"create virtual table items using vec0({key}, emb float[{d}]"
                                f"{metric} indexed by ivf(nlist=32, nprobe=8){extra})")

def insert(vec0, h5, path):
    """Rows 0..n-1 through vec0's own insert, as vecbench inserts them."""
    x = rows(h5)
    db = connect(vec0, path)
    db.execute("begin")
    db.executemany("insert into items(id, emb) values (?, ?)",
                   ((i, x[i].tobytes()) for i in range(len(x))))
    db.execute("commit")

def dump(vec0, path):
    """Every shadow table's content and sqlite_sequence, one line each."""
    db = connect(vec0, path)
    for q in ("select * from items_rowids order by rowid",
              "select chunk_id, size, hex(validity), hex(rowids) from items_chunks order by chunk_id",
              "select * from sqlite_sequence order by name",
              "select * from items_info order by key",
              "select centroid_id, hex(centroid) from items_ivf_centroids00 order by 1",
              "select rowid, centroid_id, n_vectors, hex(validity), hex(rowids), hex(vectors) "
              "from items_ivf_cells00 order by rowid",
              "select * from items_ivf_rowid_map00 order by rowid"):
        for r in db.execute(q):
            print(r)

def knn(vec0, h5, path):
    """Ids and distances of the 10 nearest rows of 100 test and 200 train rows at
    nprobe 1, 8 and nlist, one line per query."""
    with h5py.File(h5) as f:
        q = np.concatenate([np.asarray(f["test"], dtype=np.float32),
                            np.asarray(f["train"][::15][:200], dtype=np.float32)])
    db = connect(vec0, path)
    for p in (1, 8, 32):
        command(db, "items", f"nprobe={p}")
        for v in q:
            print(db.execute("select id, distance from items where emb match ? and k = 10",
                             (v.tobytes(),)).fetchall())

def point_reads(vec0, h5, path):
    """vec0's point read of every row returns the source row's bytes."""
    x = rows(h5)
    db = connect(vec0, path)
    assert db.execute("select count(*) from items").fetchone()[0] == len(x)
    for i in range(len(x)):
        got = db.execute("select emb from items where id = ?", (i,)).fetchone()
        assert got and got[0] == x[i].tobytes(), f"row {i} reads back differently"

def modify(vec0, h5, path, op, rid):
    """op insert: row rid (past the dataset) as train row 7 plus 0.5; delete: row rid;
    then KNN for the inserted vector finds it (or no longer finds the deleted row)."""
    x = rows(h5)
    rid = int(rid)
    v = x[rid] if rid < len(x) else (x[7] + 0.5).astype(np.float32)
    db = connect(vec0, path)
    if op == "insert":
        db.execute("insert into items(id, emb) values (?, ?)", (rid, v.tobytes()))
        assert db.execute("select emb from items where id = ?", (rid,)).fetchone()[0] == v.tobytes()
    else:
        db.execute("delete from items where id = ?", (rid,))
        assert db.execute("select count(*) from items where id = ?", (rid,)).fetchone()[0] == 0
    command(db, "items", "nprobe=32")
    got = [r[0] for r in db.execute("select id from items where emb match ? and k = 5",
                                    (v.tobytes(),))]
    assert (rid in got) == (op == "insert"), f"{op} {rid}: KNN gives {got}"

def count(vec0, path):
    print(connect(vec0, path).execute("select count(*) from items").fetchone()[0])

globals()[sys.argv[1]](*sys.argv[2:])
EOF
h() { "$PY" "$TMP/h.py" "$@"; }
ivftrain() { "$BIN/ivftrain" --vec0 "$VEC0" "$@"; }

IVF=$(has_ivf "$VEC0" "$PY")
"$BIN/vecdata" fashion-mnist "$TMP/fm.hdf5" --train $N --test 100 >/dev/null 2>&1 ||
	echo "  setup: vecdata fashion-mnist failed"
D=784
# the centroids both tables get, trained once on the dataset
"$BIN/ivftrain" --from "$TMP/fm.hdf5" --dry-run --nlist $NLIST --niter 5 \
	--save-centroids "$TMP/c.h5" >/dev/null 2>&1 || echo "  setup: training failed"

need_ivf() { [ "$IVF" = 1 ] || skip_test "vec0 $VEC0 has no IVF support"; }
# empty NAME [COLUMNS]: a new empty table, path in $DB.
empty() { DB=$TMP/$1.db; rm -f "$DB"; h create "$VEC0" "$DB" $D "${2:-}"; }
# loaded NAME: the empty table loaded with the shared centroids, path in $DB.
loaded() {
	empty "$1"
	expect_status 0 ivftrain --load "$TMP/fm.hdf5" --load-centroids "$TMP/c.h5" "$DB"
}

test_load_equals_vec0_inserts_then_bulk_assign() {
	need_ivf
	loaded load
	expect_match "$OUT" "^load +$N rows of .* into items_rowids and items_chunks" "--load summary"
	expect_match "$OUT" "200/200 sampled rows found themselves" "--load summary"
	local A=$DB
	empty ins
	h insert "$VEC0" "$TMP/fm.hdf5" "$DB" || fail "vec0 inserts"
	expect_status 0 ivftrain --load-centroids "$TMP/c.h5" "$DB"
	h dump "$VEC0" "$A" >"$TMP/dump-load" || fail "dump loaded"
	h dump "$VEC0" "$DB" >"$TMP/dump-ins" || fail "dump inserted"
	[ "$(wc -l <"$TMP/dump-load")" -gt $((2 * N)) ] || fail "dump has $(wc -l <"$TMP/dump-load") lines"
	cmp -s "$TMP/dump-load" "$TMP/dump-ins" ||
		fail "shadow tables differ: $(diff "$TMP/dump-load" "$TMP/dump-ins" | head -4 | cut -c1-160)"
	h knn "$VEC0" "$TMP/fm.hdf5" "$A" >"$TMP/knn-load" || fail "knn on loaded"
	h knn "$VEC0" "$TMP/fm.hdf5" "$DB" >"$TMP/knn-ins" || fail "knn on inserted"
	[ "$(wc -l <"$TMP/knn-load")" -eq 900 ] || fail "$(wc -l <"$TMP/knn-load") result lines"
	cmp -s "$TMP/knn-load" "$TMP/knn-ins" ||
		fail "KNN differs on $(diff "$TMP/knn-load" "$TMP/knn-ins" | grep -c '^<') of 900 queries"
}

test_load_trains_on_a_sample_and_reports_json() {
	need_ivf
	empty json
	expect_status 0 ivftrain --load "$TMP/fm.hdf5" --ntrain 1000 --niter 4 --json "$DB"
	[ "$(json 'd["load"].endswith("fm.hdf5"), d["params"]["ntrain"], d["params"]["nlist"], d["assigned"], d["index"]["rows_moved"], d["index"]["unassigned"], d["free_pages"]' <<<"$OUT")" = \
		"(True, 1000, $NLIST, 'bulk', $N, 0, 0)" ] || fail "json: $OUT"
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "verdict +clean" "--check after --load"
}

test_point_reads_insert_delete_after_load() {
	need_ivf
	loaded rw
	h point_reads "$VEC0" "$TMP/fm.hdf5" "$DB" || fail "point reads"
	for step in "insert $N" "insert $((N + 1))" "delete 5" "delete $((N + 1))" "delete 1500"; do
		h modify "$VEC0" "$TMP/fm.hdf5" "$DB" $step || fail "$step"
		expect_status 0 ivftrain --check "$DB"
		expect_match "$OUT" "verdict +clean" "--check after $step"
	done
	[ "$(h count "$VEC0" "$DB")" = $((N - 1)) ] || fail "rows after: $(h count "$VEC0" "$DB")"
}

# A real full disk: a 20 MiB tmpfs with a filler leaving a few MiB free; a load
# that runs out of space leaves the table empty and the file byte-identical.
test_load_full_disk_rolled_back() {
	need_ivf
	local mnt=$TMP/tmpfs
	mount_tmpfs "$mnt" 20 || return
	empty full
	for free in 1 4 8; do
		rm -f "$mnt"/*
		cp "$TMP/full.db" "$mnt/full.db"
		DB=$mnt/full.db
		fill_tmpfs "$mnt" 20 $free "$DB"
		local before; before=$(sha "$DB")
		"$BIN/ivftrain" --vec0 "$VEC0" --load "$TMP/fm.hdf5" --load-centroids "$TMP/c.h5" \
			"$DB" >"$TMP/.out" 2>"$TMP/.err"
		local rc=$?
		ERR=$(cat "$TMP/.err")
		echo "  $free MiB free: exit $rc: $ERR"
		[ $rc -eq 1 ] || fail "$free MiB free: exit $rc, expected 1"
		expect_one_line "$ERR" "full tmpfs"
		expect_match "$ERR" "rolled back, the database is unchanged" "full tmpfs"
		[ "$(sha "$DB")" = "$before" ] || fail "$free MiB free: database changed"
		[ ! -e "$DB-journal" ] || fail "$free MiB free: journal left behind"
		[ "$(h count "$VEC0" "$DB")" = 0 ] || fail "$free MiB free: table not empty"
	done
	umount "$mnt"
}

# kill -9 at points of a load until 20 land inside the transaction: each leaves,
# once the journal is played back, the empty table byte for byte; one after COMMIT a
# loaded table that --check finds clean.
test_kill_9_during_load_leaves_empty_table() {
	need_ivf
	empty kill
	cp "$DB" "$TMP/kill.orig"
	loaded_clean() {
		"$BIN/ivftrain" --vec0 "$VEC0" --check "$DB" >/dev/null 2>&1 &&
			[ "$(h count "$VEC0" "$DB")" = $N ]
	}
	kill_9_points 20 "$TMP/kill.orig" "$DB" loaded_clean \
		"$BIN/ivftrain" --vec0 "$VEC0" --load "$TMP/fm.hdf5" --load-centroids "$TMP/c.h5" "$DB"
}

# Another writer holds the lock: one line, exit 1, the file untouched.
test_load_into_locked_database() {
	need_ivf
	empty locked
	local before; before=$(sha "$DB")
	start_holder "$TMP/held" h hold "$DB" "$TMP/held" 20
	expect_status 1 ivftrain --load "$TMP/fm.hdf5" --load-centroids "$TMP/c.h5" \
		--busy-timeout 300 "$DB"
	stop_holder
	expect_one_line "$ERR" "locked database"
	expect_match "$ERR" "^ivftrain: error: cannot lock .*locked.db for writing \(another writer holds it\)" \
		"locked database"
	[ "$(sha "$DB")" = "$before" ] || fail "locked database changed"
	[ "$(h count "$VEC0" "$DB")" = 0 ] || fail "locked database: table not empty"
}

# expect_refused REGEX ARGS...: exit 2, one line matching REGEX, $DB unchanged.
expect_refused() {
	local re=$1; shift
	local before; before=$(sha "$DB")
	expect_status 2 ivftrain "$@"
	expect_one_line "$ERR" "ivftrain $*"
	expect_match "$ERR" "^ivftrain: error: .*$re" "ivftrain $*"
	[ "$(sha "$DB")" = "$before" ] || fail "ivftrain $*: database changed"
}

test_bad_inputs_refused() {
	need_ivf
	loaded full
	expect_refused "table items is not empty" --load "$TMP/fm.hdf5" "$DB"
	empty e
	expect_refused "$TMP/missing.hdf5" --load "$TMP/missing.hdf5" "$DB"
	echo "not hdf5" >"$TMP/bad.hdf5"
	expect_refused "$TMP/bad.hdf5" --load "$TMP/bad.hdf5" "$DB"
	"$BIN/vecdata" synth "$TMP/s16.hdf5" --train 200 --test 10 --dim 16 --clusters 4 >/dev/null 2>&1
	expect_refused "--load .*s16.hdf5: 16 dimensions, column items.emb has $D" --load "$TMP/s16.hdf5" "$DB"
	expect_refused "--load takes its training rows" --load "$TMP/fm.hdf5" --from "$TMP/fm.hdf5" "$DB"
	local a
	for a in reinsert native none; do
		expect_refused "--load writes every row straight into its cell \(--assign bulk\): --assign $a has no meaning" \
			--load "$TMP/fm.hdf5" --assign $a "$DB"
	done
	empty text text
	expect_refused "table items has a text primary key" --load "$TMP/fm.hdf5" "$DB"
	local c
	for c in aux meta vec2; do
		DB=$TMP/$c.db
		if h create "$VEC0" "$DB" $D $c 2>"$TMP/.err"; then
			expect_refused "table items has columns besides its key and emb" --load "$TMP/fm.hdf5" "$DB"
		else # alpha.1 has no auxiliary or metadata columns on IVF tables
			expect_match "$(cat "$TMP/.err")" "not supported with IVF" "vec0 refusing a $c table"
		fi
	done
	empty l1 l1
	expect_refused "table items cannot be loaded directly: sqlite-vec assigns l1" --load "$TMP/fm.hdf5" "$DB"
}

run_tests
