#!/usr/bin/env bash
# tests/cli/load.sh - ivftrain --load: an empty vec0 IVF table filled from an HDF5
# dataset, a vec0 table (flat or IVF, this file or another) or a plain table (BLOB
# or JSON vectors) without vec0's per-row insert, against the same rows inserted
# through vec0 and bulk-assigned from the same centroids: identical base tables
# (sparse rowids, text keys, auxiliary values), cells and KNN results; vec0's point
# reads, inserts and deletes on the loaded table with --check clean after each; a
# real full disk, kill -9 at 20 points and a locked database leave the empty table
# as it was; bad inputs and bad source rows refused in one line with the database
# unchanged. @per-vec0: once per vec0 build (VEC0_PATH);
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
    """The empty table items, or one with another key or columns: text, aux, meta, vec2,
    l1, aux2 (+label text, +score float), textaux (a text key and aux2's columns)."""
    key = "id text primary key" if columns in ("text", "textaux") else "id integer primary key"
    metric = " distance_metric=l1" if columns == "l1" else ""
    extra = {"aux": ", +label text", "meta": ", label text", "vec2": ", e2 float[4]",
             "aux2": ", +label text, +score float", "textaux": ", +label text, +score float"
             }.get(columns, "")
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

def source(vec0, h5, path, kind, n):
    """Table src of the first n train rows. vec0 / ivf: a flat / untrained IVF vec0
    table; ivf8: an untrained int8 IVF vec0 table; plain: a plain table, vectors as BLOBs, every third as JSON text; text: a
    vec0 table with a text key; plaintext: a plain table with a text primary key.
    Integer keys are sparse (7 + 3i, as rowids), rows go in shuffled (vec0: then
    every 50th deleted), and the auxiliary values label (text) and score (float,
    every fifth NULL) come along."""
    x = rows(h5)[:int(n)]
    d = x.shape[1]
    db = connect(vec0, path)
    db.execute("begin")
    ddl = {"vec0": f"create virtual table src using vec0(id integer primary key, emb float[{d}], +label text, +score float)",
           "ivf": f"create virtual table src using vec0(id integer primary key, emb float[{d}] indexed by ivf(nlist=8))",
           "ivf8": f"create virtual table src using vec0(id integer primary key, emb float[{d}] indexed by ivf(nlist=8, quantizer=int8))",
           "plain": "create table src(id integer primary key, vec, label text, score real)",
           "text": f"create virtual table src using vec0(id text primary key, emb float[{d}], +label text, +score float)",
           "plaintext": "create table src(key text primary key, vec blob, label text, score real)"}[kind]
    db.execute(ddl)
    for i in np.random.default_rng(1).permutation(len(x)):
        i = int(i)
        key = f"k{i:05d}" if kind in ("text", "plaintext") else 7 + 3 * i
        v = x[i].tobytes()
        if kind == "plain" and i % 3 == 0:
            v = "[" + ",".join(repr(float(f)) for f in x[i]) + "]"
        aux = (f"label {i % 7}", None if i % 5 == 0 else i / 4)
        if kind in ("ivf", "ivf8"):
            db.execute("insert into src(id, emb) values (?, ?)", (key, v))
        else:
            db.execute(f"insert into src values (?, ?, ?, ?)", (key, v) + aux)
    if kind == "vec0":  # holes in its chunks: every 50th row deleted
        db.execute("delete from src where id % 150 = 10")
    db.execute("commit")

def insert_from(vec0, src, path, cols):
    """The source's rows (select cols from src, in its scan order) through vec0's own
    insert into items (id, emb and, with 4 columns, label and score)."""
    got = connect(vec0, src).execute(f"select {cols} from src").fetchall()
    db = connect(vec0, path)
    db.execute("begin")
    names = "id, emb, label, score" if len(got[0]) == 4 else "id, emb"
    db.executemany(f"insert into items({names}) values ({', '.join('?' * len(got[0]))})", got)
    db.execute("commit")

def reads_back(vec0, src, path, cols):
    """Every source row (select cols from src) read back from items by its key:
    the vector bytes (as float32) and the auxiliary values equal."""
    s = connect(vec0, src)
    db = connect(vec0, path)
    got = s.execute(f"select {cols} from src").fetchall()
    assert db.execute("select count(*) from items").fetchone()[0] == len(got)
    for r in got:
        want = s.execute("select vec_f32(?)", (r[1],)).fetchone()[0]
        q = "select emb, label, score from items where id = ?" if len(r) == 4 else \
            "select emb from items where id = ?"
        back = db.execute(q, (r[0],)).fetchone()
        assert back and back[0] == want, f"row {r[0]}: vector differs"
        assert len(r) == 2 or tuple(back[1:]) == tuple(r[2:]), f"row {r[0]}: aux {back[1:]} != {r[2:]}"

def rw_text(vec0, h5, path):
    """vec0's own insert, point read and delete on a text-key table with aux columns."""
    x = rows(h5)
    db = connect(vec0, path)
    v = (x[7] + 0.5).astype(np.float32).tobytes()
    db.execute("insert into items(id, emb, label, score) values ('new', ?, 'fresh', 2.5)", (v,))
    assert db.execute("select emb, label, score from items where id = 'new'").fetchone() == (v, "fresh", 2.5)
    db.execute("delete from items where id = 'k00005'")
    assert db.execute("select count(*) from items where id = 'k00005'").fetchone()[0] == 0
    command(db, "items", "nprobe=32")
    got = [r[0] for r in db.execute("select id from items where emb match ? and k = 3", (v,))]
    assert "new" in got, f"KNN gives {got}"

def badsource(vec0, h5, path):
    """Tables with one bad row each (dim16, nullvec, short, nan, badjson, number), one
    with text keys (textsrc), two candidate vector columns (two), no rows (none), a
    view (vw: no rowids) and an integer where the target's label is text (auxtype)."""
    x = rows(h5)[:6]
    d = x.shape[1]
    nan = x[4].copy()
    nan[5] = np.nan
    db = connect(vec0, path)
    db.execute("create virtual table dim16 using vec0(emb float[16])")
    db.execute("insert into dim16(rowid, emb) values (1, ?)", (np.zeros(16, np.float32).tobytes(),))
    for name, at, bad in (("nullvec", 3, None), ("short", 2, np.zeros(3, np.float32).tobytes()),
                          ("nan", 4, nan.tobytes()), ("badjson", 1, "hello"), ("number", 2, 5)):
        db.execute(f"create table {name}(id integer primary key, vec)")
        for i in range(1, 6):
            db.execute(f"insert into {name} values (?, ?)", (i, bad if i == at else x[i].tobytes()))
    db.execute(f"create virtual table textsrc using vec0(id text primary key, emb float[{d}])")
    db.execute("insert into textsrc(id, emb) values ('a', ?)", (x[0].tobytes(),))
    db.execute("create table two(a, b)")
    db.execute("insert into two values (?, ?)", (x[0].tobytes(), x[1].tobytes()))
    db.execute("create table none(id integer primary key, vec blob)")
    db.execute("create view vw as select * from short")
    db.execute("create table auxtype(id integer primary key, vec blob, label integer)")
    db.execute("insert into auxtype values (1, ?, 5)", (x[0].tobytes(),))

def plain_in(vec0, path):
    """A plain table named two beside items."""
    connect(vec0, path).execute("create table two(a, b)")

def dump(vec0, path):
    """Every shadow table's content and sqlite_sequence, one line each."""
    db = connect(vec0, path)
    aux = db.execute("select count(*) from sqlite_master where name = 'items_auxiliary'").fetchone()[0]
    for q in ("select * from items_auxiliary order by rowid" if aux else "select 1","select * from items_rowids order by rowid",
              "select chunk_id, size, hex(validity), hex(rowids) from items_chunks order by chunk_id",
              "select * from sqlite_sequence where name like 'items%' order by name",
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
                            np.asarray(f["train"][:600:3], dtype=np.float32)])
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

def same_rows(vec0, h5, path, n):
    """Each of the first n train rows reads back from items by its source key (7 + 3i)
    with its float32 bytes."""
    x = rows(h5)[:int(n)]
    db = connect(vec0, path)
    assert db.execute("select count(*) from items").fetchone()[0] == len(x)
    for i in range(len(x)):
        got = db.execute("select emb from items where id = ?", (7 + 3 * i,)).fetchone()
        assert got and got[0] == x[i].tobytes(), f"row {7 + 3 * i} reads back differently"

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
# loaded NAME [COLUMNS]: the empty table loaded with the shared centroids, path in $DB.
loaded() {
	empty "$1" "${2:-}"
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

# aux_or: prints COLUMNS when this build creates IVF tables with auxiliary columns,
# else FALLBACK (alpha.1 refuses them, which is checked).
aux_or() {
	if h create "$VEC0" "$TMP/probe-$1.db" $D "$1" 2>"$TMP/.err"; then
		echo "$1"
	else
		expect_match "$(cat "$TMP/.err")" "not supported with IVF" "vec0 refusing $1 on IVF" >&2
		echo "$2"
	fi
	rm -f "$TMP/probe-$1.db"
}

# same_as_inserted NAME SPEC COLUMNS SRCDB COLS: --load SPEC into an empty table
# (create COLUMNS) and the source's rows (select COLS from src of SRCDB) inserted
# through vec0 into another, bulk-assigned from the same centroids, give identical
# shadow tables and KNN results (ids, distances) at nprobe 1, 8 and nlist; every row
# reads back by its key with its auxiliary values; --check is clean. $DB: the load.
same_as_inserted() {
	local name=$1 spec=$2 cols=$3 src=$4 sel=$5
	empty "$name-ins" "$cols"
	local B=$DB
	h insert_from "$VEC0" "$src" "$B" "$sel" || fail "$name: vec0 inserts"
	expect_status 0 ivftrain --load-centroids "$TMP/c.h5" "$B"
	empty "$name" "$cols"
	expect_status 0 ivftrain --load "$spec" --load-centroids "$TMP/c.h5" "$DB"
	expect_match "$OUT" "^load +[0-9]+ rows of table src.* into items_rowids" "$name: --load summary"
	h dump "$VEC0" "$DB" >"$TMP/dump-$name" || fail "$name: dump loaded"
	h dump "$VEC0" "$B" >"$TMP/dump-$name-ins" || fail "$name: dump inserted"
	[ "$(wc -l <"$TMP/dump-$name")" -gt $((2 * M)) ] || fail "$name: dump has $(wc -l <"$TMP/dump-$name") lines"
	cmp -s "$TMP/dump-$name" "$TMP/dump-$name-ins" ||
		fail "$name: shadow tables differ: $(diff "$TMP/dump-$name" "$TMP/dump-$name-ins" | head -4 | cut -c1-160)"
	h knn "$VEC0" "$TMP/fm.hdf5" "$DB" >"$TMP/knn-$name" || fail "$name: knn on loaded"
	h knn "$VEC0" "$TMP/fm.hdf5" "$B" >"$TMP/knn-$name-ins" || fail "$name: knn on inserted"
	[ "$(wc -l <"$TMP/knn-$name")" -eq 900 ] || fail "$name: $(wc -l <"$TMP/knn-$name") result lines"
	cmp -s "$TMP/knn-$name" "$TMP/knn-$name-ins" ||
		fail "$name: KNN differs on $(diff "$TMP/knn-$name" "$TMP/knn-$name-ins" | grep -c '^<') of 900 queries"
	h reads_back "$VEC0" "$src" "$DB" "$sel" || fail "$name: rows read back"
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "verdict +clean" "$name: --check after --load"
}
M=600 # rows of the table sources

test_load_from_vec0_table_sparse_rowids_with_aux() {
	need_ivf
	local cols; cols=$(aux_or aux2 "")
	local sel="id, emb"
	[ -n "$cols" ] && sel="id, emb, label, score"
	h source "$VEC0" "$TMP/fm.hdf5" "$TMP/vsrc.db" vec0 $M || fail "source"
	same_as_inserted vec0 "$TMP/vsrc.db:src" "$cols" "$TMP/vsrc.db" "$sel"
	# the source in the target's own file (--load TABLE): the same tables
	cp "$TMP/vsrc.db" "$TMP/same.db"
	h create "$VEC0" "$TMP/same.db" $D "$cols"
	expect_status 0 ivftrain --load src --load-centroids "$TMP/c.h5" "$TMP/same.db"
	h dump "$VEC0" "$TMP/same.db" >"$TMP/dump-same" || fail "dump same-file load"
	cmp -s "$TMP/dump-same" "$TMP/dump-vec0" || fail "same-file load differs from another file's"
	for step in "insert 1" "insert 2000" "delete 7" "delete 1000"; do
		h modify "$VEC0" "$TMP/fm.hdf5" "$DB" $step || fail "$step"
		expect_status 0 ivftrain --check "$DB"
		expect_match "$OUT" "verdict +clean" "--check after $step"
	done
}

test_load_from_ivf_table_and_plain_table() {
	need_ivf
	h source "$VEC0" "$TMP/fm.hdf5" "$TMP/isrc.db" ivf $M || fail "ivf source"
	same_as_inserted ivf "$TMP/isrc.db:src.emb" "" "$TMP/isrc.db" "id, emb"
	h source "$VEC0" "$TMP/fm.hdf5" "$TMP/psrc.db" plain $M || fail "plain source"
	local cols; cols=$(aux_or aux2 "")
	local sel="rowid, vec"
	[ -n "$cols" ] && sel="rowid, vec, label, score"
	# without auxiliary columns in the target, label and score are candidates too
	local spec=$TMP/psrc.db:src
	[ -n "$cols" ] || spec=$spec.vec
	same_as_inserted plain "$spec" "$cols" "$TMP/psrc.db" "$sel"
}

# vec0's scan of a quantized column gives its quantized bytes: the rows' float32
# copies are what a load must take
test_load_from_quantized_ivf_table() {
	need_ivf
	h source "$VEC0" "$TMP/fm.hdf5" "$TMP/q8src.db" ivf8 $M || fail "int8 source"
	empty q8
	expect_status 0 ivftrain --load "$TMP/q8src.db:src" --load-centroids "$TMP/c.h5" "$DB"
	h same_rows "$VEC0" "$TMP/fm.hdf5" "$DB" $M || fail "rows loaded from the int8 table differ"
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "verdict +clean" "--check after the load"
}

test_load_text_keys_with_aux() {
	need_ivf
	local cols; cols=$(aux_or textaux text)
	local sel="id, emb"
	[ "$cols" = textaux ] && sel="id, emb, label, score"
	h source "$VEC0" "$TMP/fm.hdf5" "$TMP/tsrc.db" text $M || fail "text source"
	same_as_inserted text "$TMP/tsrc.db:src" "$cols" "$TMP/tsrc.db" "$sel"
	if [ "$cols" = textaux ]; then
		h rw_text "$VEC0" "$TMP/fm.hdf5" "$DB" || fail "vec0 insert/read/delete by text key"
		expect_status 0 ivftrain --check "$DB"
		expect_match "$OUT" "verdict +clean" "--check after text-key writes"
	fi
	h source "$VEC0" "$TMP/fm.hdf5" "$TMP/ptsrc.db" plaintext $M || fail "plain text source"
	[ "$cols" = textaux ] && sel="key, vec, label, score" || sel="key, vec"
	same_as_inserted plaintext "$TMP/ptsrc.db:src.vec" "$cols" "$TMP/ptsrc.db" "$sel"
}

test_load_trains_on_a_sample_and_reports_json() {
	need_ivf
	empty json
	expect_status 0 ivftrain --load "$TMP/fm.hdf5" --ntrain 1000 --niter 4 --json "$DB"
	[ "$(json 'd["load"].endswith("fm.hdf5"), d["params"]["ntrain"], d["params"]["nlist"], d["assigned"], d["index"]["rows_moved"], d["index"]["unassigned"], d["free_pages"]' <<<"$OUT")" = \
		"(True, 1000, $NLIST, 'bulk', $N, 0, 0)" ] || fail "json: $OUT"
	# every row's centroid was worked out before the lock: none under it
	[ "$(json 'd["bulk"]["planned_rows"], d["bulk"]["plan_s"] > 0' <<<"$OUT")" = "($N, True)" ] ||
		fail "plan: $OUT"
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

# full_disk MNT FREE ORIG SOURCE: --load SOURCE into a copy of ORIG on the 20 MiB
# tmpfs MNT with a filler leaving FREE MiB: it runs out of space and leaves the
# table empty and the file byte-identical.
full_disk() {
	local mnt=$1 free=$2 name; name=$(basename "$3")
	rm -f "$mnt"/*
	cp "$3" "$mnt/$name"
	DB=$mnt/$name
	fill_tmpfs "$mnt" 20 "$free" "$DB"
	local before; before=$(sha "$DB")
	"$BIN/ivftrain" --vec0 "$VEC0" --load "$4" --load-centroids "$TMP/c.h5" \
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
}

# loaded_rows: $DB passes --check and holds $ROWS rows (a kill_9_points check).
loaded_rows() {
	"$BIN/ivftrain" --vec0 "$VEC0" --check "$DB" >/dev/null 2>&1 &&
		[ "$(h count "$VEC0" "$DB")" = "$ROWS" ]
}

# A real full disk: a 20 MiB tmpfs with a filler leaving a few MiB free.
test_load_full_disk_rolled_back() {
	need_ivf
	local mnt=$TMP/tmpfs
	mount_tmpfs "$mnt" 20 || return
	empty full
	for free in 1 4 8; do
		full_disk "$mnt" $free "$TMP/full.db" "$TMP/fm.hdf5"
	done
	umount "$mnt"
}

# A table source with text keys (and auxiliary values where the build has them):
# kill -9 at 8 points inside the write and a full disk leave the empty table.
test_table_source_kill_9_and_full_disk_roll_back() {
	need_ivf
	local cols; cols=$(aux_or textaux text)
	h source "$VEC0" "$TMP/fm.hdf5" "$TMP/ksrc.db" text $M || fail "source"
	empty ktext "$cols"
	cp "$DB" "$TMP/ktext.orig"
	ROWS=$M
	kill_9_points 8 "$TMP/ktext.orig" "$DB" loaded_rows \
		"$BIN/ivftrain" --vec0 "$VEC0" --load "$TMP/ksrc.db:src" --load-centroids "$TMP/c.h5" "$DB"
	local mnt=$TMP/tmpfs2
	mount_tmpfs "$mnt" 20 || return
	full_disk "$mnt" 1 "$TMP/ktext.orig" "$TMP/ksrc.db:src"
	umount "$mnt"
}

# kill -9 at points of a load until 20 land inside the transaction: each leaves,
# once the journal is played back, the empty table byte for byte; one after COMMIT a
# loaded table that --check finds clean.
test_kill_9_during_load_leaves_empty_table() {
	need_ivf
	empty kill
	cp "$DB" "$TMP/kill.orig"
	ROWS=$N
	kill_9_points 20 "$TMP/kill.orig" "$DB" loaded_rows \
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
	for c in meta vec2; do
		DB=$TMP/$c.db
		if h create "$VEC0" "$DB" $D $c 2>"$TMP/.err"; then
			expect_refused "table items has columns besides its key, emb and auxiliary columns" \
				--load "$TMP/fm.hdf5" "$DB"
		else # alpha.1 has no auxiliary or metadata columns on IVF tables
			expect_match "$(cat "$TMP/.err")" "not supported with IVF" "vec0 refusing a $c table"
		fi
	done
	empty l1 l1
	expect_refused "table items cannot be loaded directly: sqlite-vec assigns l1" --load "$TMP/fm.hdf5" "$DB"
}

# An HDF5 file has no auxiliary values: a table with +label loads with label NULL.
test_hdf5_into_aux_table_leaves_aux_null() {
	need_ivf
	[ "$(aux_or aux "")" = aux ] || skip_test "vec0 $VEC0 has no auxiliary columns on IVF tables"
	loaded auxnull aux
	expect_match "$OUT" "fm.hdf5 has no column label: left NULL" "--load summary"
	[ "$("$PY" -c 'import sys, vec0db; print(vec0db.connect(sys.argv[1], sys.argv[2]).execute("select count(*), count(label) from items").fetchone())' "$VEC0" "$DB")" = "($N, 0)" ] ||
		fail "aux values after an HDF5 load"
	expect_status 0 ivftrain --check "$DB"
}

test_bad_sources_refused() {
	need_ivf
	local S=$TMP/bads.db
	h badsource "$VEC0" "$TMP/fm.hdf5" "$S" || fail "bad sources"
	empty bad
	expect_refused "table dim16 of $S: column emb holds 16-dimensional float vectors, table items.emb takes $D float ones" \
		--load "$S:dim16" "$DB"
	expect_refused "table nullvec of $S, rowid 3: vec is NULL, not a float32 BLOB or JSON text" --load "$S:nullvec" "$DB"
	expect_refused "table number of $S, rowid 2: vec is a number" --load "$S:number.vec" "$DB"
	expect_refused "table short of $S, rowid 2: vec holds 12 bytes \(3 float32\), table items.emb has $D dimensions" \
		--load "$S:short" "$DB"
	expect_refused "table nan of $S, rowid 4: vec\[5\] is nan" --load "$S:nan" "$DB"
	expect_refused "table badjson of $S, rowid 1: vec is text vec0 does not read as a vector: JSON array parsing error" --load "$S:badjson" "$DB"
	expect_refused "table items has integer keys: table textsrc of $S gives text keys" --load "$S:textsrc" "$DB"
	expect_refused "table two of $S: cannot tell which column holds the vectors \(a, b\): name it" --load "$S:two" "$DB"
	expect_refused "table none of $S has no rows to load" --load "$S:none" "$DB"
	expect_refused "table two of $S has no column c" --load "$S:two.c" "$DB"
	expect_refused "--load $S:nosuch: no table nosuch in $S" --load "$S:nosuch" "$DB"
	expect_refused "--load $S:vw: no table vw in $S" --load "$S:vw" "$DB"
	expect_refused "--load $TMP/nofile.db:src: no file $TMP/nofile.db" --load "$TMP/nofile.db:src" "$DB"
	expect_refused "--load $S is an SQLite database: name a table in it, $S:TABLE" --load "$S" "$DB"
	expect_refused "--load nosuch: no table nosuch in $DB" --load nosuch "$DB"
	expect_refused "--load items is the table being loaded" --load items "$DB"
	h plain_in "$VEC0" "$DB"
	(cd "$TMP" && touch two && expect_refused "--load two names both a file and a table of $DB: write ./two for the file, $DB:two for the table" \
		--load two "$DB") | grep FAIL
	[ "$(aux_or aux "")" = aux ] || return 0
	empty auxbad aux
	expect_refused "table auxtype of $S, id 1: label is integer, but items.label is declared text \(vec0 refuses it\)" \
		--load "$S:auxtype" "$DB"
}

run_tests
