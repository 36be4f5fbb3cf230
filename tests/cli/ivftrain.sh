#!/usr/bin/env bash
# tests/cli/ivftrain.sh - ivftrain end to end on real Fashion-MNIST rows in a real
# vec0 IVF table: training, assignment checked through the shadow tables and KNN
# (self-queries at nprobe 1, recall against exact ground truth), JSON, dry runs,
# centroid files, and every bad input with its exit code, a one-line message and
# the database's sha256 unchanged. @per-vec0: run once per vec0 build (VEC0_PATH);
# what needs IVF skips with the reason on builds without it.
. "$(dirname "$0")/lib.sh"

VEC0=${VEC0_PATH:?run through tests/run, which sets VEC0_PATH}
PY=/usr/bin/python3 # Debian's python: its sqlite3 module can load extensions
NPM_VEC0=$ROOT/.deps/npm/node_modules/sqlite-vec-linux-x64/vec0.so
N=3000     # train rows in the table
NLIST=32

# Sanitizer builds: sqlite-vec leaks a string per row inserted with auxiliary
# columns, through the system libsqlite3 (no frame pointers, so the leak cannot
# be told apart from SQLite's own): suppressed, as in tests/test_vec0.c.
echo "leak:libsqlite3.so" >"$TMP/lsan.supp"
# print_suppressions=0: the summary of suppressed leaks would be a second line of stderr
export LSAN_OPTIONS="suppressions=$TMP/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# Helpers that need sqlite3 with vec0 loaded, numpy or h5py.
cat >"$TMP/h.py" <<'EOF'
import json, os, sqlite3, struct, sys, time
import h5py, numpy as np
from vec0db import connect, command, hold, recover

def mkdb(vec0, h5, path, nlist, n, extra=""):
    """An untrained IVF table items(id, emb [, +label text]) with rows 0..n-1."""
    n, nlist = int(n), int(nlist)
    with h5py.File(h5) as f:
        x = np.asarray(f["train"][:n], dtype=np.float32)
    db = connect(vec0, path)
    aux = ", +label text" if extra == "aux" else ""
    metric = " distance_metric=cosine" if extra == "cosine" else ""
    db.execute(f"create virtual table items using vec0(id integer primary key, "
               f"emb float[{x.shape[1]}]{metric} indexed by ivf(nlist={nlist}, nprobe=8){aux})")
    db.execute("begin")
    if aux:
        db.executemany("insert into items(id, emb, label) values (?, ?, ?)",
                       ((i, x[i].tobytes(), f"item {i}") for i in range(len(x))))
    else:
        db.executemany("insert into items(id, emb) values (?, ?)",
                       ((i, x[i].tobytes()) for i in range(len(x))))
    db.execute("commit")
    db.close()  # vec0 leaves a statement stepped: VACUUM on a connection of its own
    # no free pages: a rolled-back write then leaves every byte as it was (SQLite
    # does not journal reused free pages, whose old bytes carry no data)
    connect(vec0, path).execute("vacuum")

def check(vec0, h5, path, nlist):
    """Shadow tables and KNN agree with the centroids; prints recall@10 at nprobe 8."""
    nlist = int(nlist)
    db = connect(vec0, path)
    c = {cid: np.frombuffer(b, dtype=np.float32)
         for cid, b in db.execute("select centroid_id, centroid from items_ivf_centroids00")}
    assert len(c) == nlist, f"{len(c)} centroids"
    un = db.execute("select coalesce(sum(n_vectors), 0) from items_ivf_cells00 "
                    "where centroid_id = -1").fetchone()[0]
    assert un == 0, f"{un} unassigned"
    ids = sorted(c)
    cm = np.stack([c[i] for i in ids])
    rows = db.execute("select m.rowid, c.centroid_id from items_ivf_rowid_map00 m "
                      "join items_ivf_cells00 c on c.rowid = m.cell_id").fetchall()
    with h5py.File(h5) as f:
        x = np.asarray(f["train"], dtype=np.float32)
        q = np.asarray(f["test"], dtype=np.float32)
        gt = np.asarray(f["neighbors"])[:, :10]
    n = db.execute("select count(*) from items").fetchone()[0]
    assert len(rows) == n, f"{len(rows)} mapped of {n}"
    for rid, cid in rows:
        d = ((cm - x[rid]) ** 2).sum(1)
        assert ids[int(d.argmin())] == cid or d[ids.index(cid)] <= d.min() * (1 + 1e-5), \
            f"row {rid} in cell of centroid {cid}, nearest {ids[int(d.argmin())]}"
    command(db, "items", "nprobe=1")
    for rid in range(0, n, 37):
        got = [r[0] for r in db.execute("select id from items where emb match ? and k = 5",
                                        (x[rid].tobytes(),))]
        assert rid in got, f"row {rid} not found by its own query at nprobe 1: {got}"
    command(db, "items", "nprobe=8")
    hit = 0
    for i in range(len(q)):
        got = [r[0] for r in db.execute("select id from items where emb match ? and k = 10",
                                        (q[i].tobytes(),))]
        hit += len(set(got) & set(gt[i].tolist()))
    print(f"{hit / (10 * len(q)):.3f}")

def poison(path, rid):
    """Row rid's stored vector gets a NaN, as a build that did not check would have
    stored it (newer builds refuse non-finite inserts)."""
    db = sqlite3.connect(path, isolation_level=None)
    cell, slot = db.execute("select cell_id, slot from items_ivf_rowid_map00 where rowid = ?",
                            (int(rid),)).fetchone()
    v = bytearray(db.execute("select vectors from items_ivf_cells00 where rowid = ?",
                             (cell,)).fetchone()[0])
    d = len(v) // 4 // 64
    struct.pack_into("<f", v, (slot * d + 5) * 4, float("nan"))
    db.execute("update items_ivf_cells00 set vectors = ? where rowid = ?", (bytes(v), cell))

def hold_read(path, marker, seconds):
    """Holds a read transaction (a SHARED lock with a rollback journal) for a while;
    touches marker once it holds it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("begin")
    db.execute("select count(*) from sqlite_master").fetchone()
    open(marker, "w").close()
    time.sleep(float(seconds))
    db.execute("rollback")

def reader(vec0, path, marker, stop, out):
    """One long-lived connection querying KNN (k 10) until stop exists, then 20
    more times; touches marker after its first query. Writes one line per query:
    its end time and the number of rows returned."""
    db = connect(vec0, path)
    # the dimension from the schema: reading a vector would leave one of vec0's
    # statements stepped, a read transaction that never ends
    sql = db.execute("select sql from sqlite_master where name = 'items'").fetchone()[0]
    d = int(sql.split("emb float[")[1].split("]")[0])
    q = np.full(d, 0.5, dtype=np.float32).tobytes()
    with open(out, "w") as f:
        after = 0
        while after < 20:
            n = len(db.execute("select id from items where emb match ? and k = 10", (q,)).fetchall())
            f.write(f"{time.time()} {n}\n")
            f.flush()
            if not os.path.exists(marker):
                open(marker, "w").close()
            if os.path.exists(stop):
                after += 1

def queries(out, t0, t1):
    """Queries of a reader's log: how many during [t0, t1], after it, and with
    fewer than 10 rows."""
    t0, t1 = float(t0), float(t1)
    rows = [tuple(map(float, l.split())) for l in open(out)]
    print(sum(t0 <= t <= t1 for t, _ in rows), sum(t > t1 for t, _ in rows),
          sum(n < 10 for _, n in rows))

def unit_centroids(vec0, path):
    db = connect(vec0, path)
    for (b,) in db.execute("select centroid from items_ivf_centroids00"):
        n = float(np.linalg.norm(np.frombuffer(b, dtype=np.float32)))
        assert abs(n - 1) < 1e-4, f"centroid norm {n}"

def centroids_equal(vec0, path, h5):
    db = connect(vec0, path)
    got = np.stack([np.frombuffer(b, dtype=np.float32) for (b,) in
                    db.execute("select centroid from items_ivf_centroids00 order by centroid_id")])
    with h5py.File(h5) as f:
        want = np.asarray(f["centroids"], dtype=np.float32)
    assert got.shape == want.shape and np.array_equal(got, want), "centroids differ"

def freelist(a):
    """Page size and the set of free pages (1-based) of database image a."""
    ps = struct.unpack(">H", a[16:18])[0]
    ps = 65536 if ps == 1 else ps
    free, trunk = set(), struct.unpack(">I", a[32:36])[0]
    while trunk:
        free.add(trunk)
        off = (trunk - 1) * ps
        nxt, n = struct.unpack(">II", a[off:off + 8])
        free.update(struct.unpack(f">{n}I", a[off + 8:off + 8 + 4 * n]))
        trunk = nxt
    return ps, free

def used_hash(path):
    """sha256 of the page count and every page in use (not on the freelist)."""
    import hashlib
    a = open(path, "rb").read()
    ps, free = freelist(a)
    h = hashlib.sha256(str(len(a) // ps).encode())
    for p in range(len(a) // ps):
        if p + 1 not in free:
            h.update(a[p * ps:(p + 1) * ps])
    print(h.hexdigest())

def rows_intact(vec0, h5, path, n, aux):
    """integrity_check ok, rows 0..n-1 each with its vector (and label) from h5,
    read through vec0 (which plays back a hot journal first)."""
    n = int(n)
    with h5py.File(h5) as f:
        x = np.asarray(f["train"][:n], dtype=np.float32)
    db = connect(vec0, path)
    ok = db.execute("pragma integrity_check").fetchone()[0]
    assert ok == "ok", f"integrity_check: {ok}"
    cols = "id, emb, label" if aux == "aux" else "id, emb, null"
    got = {r[0]: r[1:] for r in db.execute(f"select {cols} from items")}
    assert sorted(got) == list(range(n)), f"{len(got)} rows of {n}"
    for i in range(n):
        assert got[i][0] == x[i].tobytes(), f"row {i}: vector changed"
        assert aux != "aux" or got[i][1] == f"item {i}", f"row {i}: label {got[i][1]!r}"
    m = db.execute("select count(*) from items_ivf_rowid_map00").fetchone()[0]
    c = db.execute("select coalesce(sum(n_vectors), 0) from items_ivf_cells00").fetchone()[0]
    assert m == n and c == n, f"{n} rows, rowid map {m}, cells {c}"

def same_but_free(before, after):
    """Same length and every page byte-identical except pages on the freelist of
    before: SQLite does not journal a free page it reuses, its old bytes carry no
    data, so a rollback may leave other unused bytes there."""
    a, b = open(before, "rb").read(), open(after, "rb").read()
    ps, free = freelist(a)
    assert len(a) == len(b), f"size {len(a)} -> {len(b)}"
    diff = {p + 1 for p in range(len(a) // ps) if a[p * ps:(p + 1) * ps] != b[p * ps:(p + 1) * ps]}
    assert not diff - free, f"pages in use changed: {sorted(diff - free)[:10]}"
    print(f"{len(free)} free pages, {len(diff)} of them with other bytes after the rollback")

def knn(vec0, h5, path, nlist):
    """Ids and distances of the 10 nearest rows of 100 test and 200 train rows at
    nprobe 1, 8 and nlist, one line per query: equal output means equal results."""
    with h5py.File(h5) as f:
        q = np.concatenate([np.asarray(f["test"], dtype=np.float32),
                            np.asarray(f["train"][::15][:200], dtype=np.float32)])
    db = connect(vec0, path)
    for p in (1, 8, int(nlist)):
        command(db, "items", f"nprobe={p}")
        for v in q:
            print(db.execute("select id, distance from items where emb match ? and k = 10",
                             (v.tobytes(),)).fetchall())

def tiny(vec0, path, *steps):
    """The upstream data-loss reproduction's table: nlist 1, trained, then the
    steps: 'fill' inserts ids 1..10, 'del3' deletes id 3, 'ins11' inserts id 11."""
    db = connect(vec0, path)
    v = lambda i: np.full(8, float(i), dtype=np.float32).tobytes()
    if "fill" in steps:
        db.execute("create virtual table items using vec0(id integer primary key, "
                   "emb float[8] indexed by ivf(nlist=1, nprobe=1))")
        hidden = any(r[1] == "items" and r[6] for r in db.execute('pragma table_xinfo("items")'))
        db.execute(f'insert into items({"items" if hidden else "id"}, emb) values (?, ?)',
                   ("set-centroid:0", v(5)))
        for i in range(1, 11):
            db.execute("insert into items(id, emb) values (?, ?)", (i, v(i)))
    if "del3" in steps:
        db.execute("delete from items where id = 3")
    if "ins11" in steps:
        db.execute("insert into items(id, emb) values (?, ?)", (11, v(11)))

def found(vec0, path, *ids):
    """Each id is returned by a query for its own vector."""
    db = connect(vec0, path)
    for i in map(int, ids):
        got = [r[0] for r in db.execute("select id from items where emb match ? and k = 3",
                                        (np.full(8, float(i), dtype=np.float32).tobytes(),))]
        assert i in got, f"id {i} not found: {got}"

def matrix(path, k, d):
    with h5py.File(path, "w") as f:
        f["centroids"] = np.zeros((int(k), int(d)), dtype=np.float32)

def field(expr):
    d = json.load(sys.stdin)
    print(eval(expr, {"d": d}))

globals()[sys.argv[1]](*sys.argv[2:])
EOF
h() { "$PY" "$TMP/h.py" "$@"; }

# What this build can do, and the data, once for all tests.
IVF=$(has_ivf "$VEC0" "$PY")
VERSION=$("$PY" -c 'import sqlite3,sys; db=sqlite3.connect(":memory:"); db.enable_load_extension(True); db.load_extension(sys.argv[1]); print(db.execute("select vec_version()").fetchone()[0])' "$VEC0")
"$BIN/vecdata" fashion-mnist "$TMP/fm.hdf5" --train $N --test 100 >/dev/null 2>&1 ||
	echo "  setup: vecdata fashion-mnist failed"
if [ "$IVF" = 1 ] && ! h mkdb "$VEC0" "$TMP/fm.hdf5" "$TMP/base.db" $NLIST $N; then
	echo "  setup: cannot build the IVF table"
	IVF=setup-failed
fi

need_ivf() {
	[ "$IVF" != setup-failed ] || fail "setup failed: no IVF table to test with"
	[ "$IVF" != setup-failed ] || exit 1
	[ "$IVF" = 1 ] || skip_test "vec0 $VERSION ($VEC0) has no IVF support"
}
# fresh NAME: a copy of the untrained table, path in $DB.
fresh() { DB=$TMP/$1.db; cp "$TMP/base.db" "$DB"; }
ivftrain() { "$BIN/ivftrain" --vec0 "$VEC0" "$@"; }

# expect_refused CODE REGEX ARGS...: exit CODE, one line matching REGEX, $DB unchanged.
expect_refused() {
	local code=$1 re=$2; shift 2
	local before; before=$(sha "$DB")
	expect_status "$code" ivftrain "$@"
	expect_one_line "$ERR" "ivftrain $*"
	expect_match "$ERR" "^ivftrain: error: .*$re" "ivftrain $*"
	[ "$(sha "$DB")" = "$before" ] || fail "ivftrain $*: database changed"
	[ ! -e "$DB-journal" ] || fail "ivftrain $*: journal left behind"
}

test_trains_assigns_and_reports_json() {
	need_ivf
	fresh train
	expect_status 0 ivftrain --json --seed 7 "$DB"
	[ "$(json 'd["index"]["centroids"], d["index"]["unassigned"], d["index"]["verify_failed"]' <<<"$OUT")" = "($NLIST, 0, 0)" ] ||
		fail "index summary: $OUT"
	[ "$(json 'd["index"]["rows_moved"] == d["rows"] == '$N <<<"$OUT")" = True ] || fail "rows moved: $OUT"
	[ "$(json 'd["lock_s"] <= d["total_s"] and d["assign_s"] > 0 and d["vec0"]["ivf"]' <<<"$OUT")" = True ] ||
		fail "timings: $OUT"
	local recall
	recall=$(h check "$VEC0" "$TMP/fm.hdf5" "$DB" $NLIST) || fail "check: $recall"
	echo "  recall@10 at nprobe 8: $recall"
	[ "$("$PY" -c "print($recall >= 0.95)")" = True ] || fail "recall $recall < 0.95"
}

test_text_summary_names_build_and_phases() {
	need_ivf
	fresh text
	expect_status 0 ivftrain --nlist 16 --niter 5 "$DB"
	for w in "vec0 $VERSION from" "IVF: yes" sample train write assign verify "write lock held" \
		"16 centroids, 0 unassigned" "free pages"; do
		expect_match "$OUT" "$w" "summary"
	done
}

test_retrains_a_trained_table() {
	need_ivf
	fresh retrain
	expect_status 0 ivftrain --nlist 8 --niter 5 "$DB"
	expect_status 0 ivftrain --json --vacuum "$DB"
	[ "$(json 'd["index"]["was_trained"], d["index"]["centroids"], d["free_pages"]' <<<"$OUT")" = "(True, $NLIST, 0)" ] ||
		fail "retrain: $OUT"
	h check "$VEC0" "$TMP/fm.hdf5" "$DB" $NLIST >/dev/null || fail "check after retrain"
}

test_dry_run_writes_nothing() {
	need_ivf
	fresh dry
	local before; before=$(sha "$DB")
	expect_status 0 ivftrain --dry-run --json "$DB"
	[ "$(json 'd["dry_run"], d["kmeans"]["iterations"] > 0, "index" in d' <<<"$OUT")" = "(True, True, False)" ] ||
		fail "dry run: $OUT"
	[ "$(sha "$DB")" = "$before" ] || fail "dry run changed the database"
}

test_kmeans_alone_from_hdf5_without_database() {
	expect_status 0 "$BIN/ivftrain" --from "$TMP/fm.hdf5" --nlist 16 --niter 5 --threads 2 --dry-run --json
	[ "$(json 'd["database"], d["source"], d["params"]["nlist"], d["params"]["ntrain"], d["kmeans"]["inertia"] > 0' <<<"$OUT")" = "(None, 'hdf5', 16, $N, True)" ] ||
		fail "--from: $OUT"
	expect_status 2 "$BIN/ivftrain" --from "$TMP/fm.hdf5" --nlist 16
	expect_match "$ERR" "missing DB.sqlite" "--from without --dry-run"
}

test_save_and_load_centroids_round_trip() {
	need_ivf
	fresh save
	expect_status 0 ivftrain --dry-run --nlist 12 --niter 5 --save-centroids "$TMP/c.h5" "$DB"
	fresh load
	expect_status 0 ivftrain --load-centroids "$TMP/c.h5" "$DB"
	h centroids_equal "$VEC0" "$DB" "$TMP/c.h5" || fail "loaded centroids differ from the file"
	h check "$VEC0" "$TMP/fm.hdf5" "$DB" 12 >/dev/null || fail "check after --load-centroids"
}

test_from_hdf5_into_table() {
	need_ivf
	fresh from
	expect_status 0 ivftrain --from "$TMP/fm.hdf5" --json "$DB"
	[ "$(json 'd["source"], d["index"]["centroids"]' <<<"$OUT")" = "('hdf5', $NLIST)" ] || fail "$OUT"
}

test_aux_columns_survive() {
	need_ivf
	DB=$TMP/aux.db
	h mkdb "$VEC0" "$TMP/fm.hdf5" "$DB" 16 500 aux 2>/dev/null ||
		skip_test "vec0 $VERSION allows no auxiliary columns with IVF"
	expect_status 0 ivftrain "$DB"
	local n
	n=$("$PY" -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[2]); db.enable_load_extension(True); db.load_extension(sys.argv[1]); print(db.execute("select count(*) from items where label = printf(\"item %d\", id)").fetchone()[0])' "$VEC0" "$DB")
	[ "$n" = 500 ] || fail "$n of 500 labels intact"
}

test_cosine_table_gets_spherical_centroids() {
	need_ivf
	DB=$TMP/cosine.db
	h mkdb "$VEC0" "$TMP/fm.hdf5" "$DB" 16 1000 cosine
	expect_status 0 ivftrain --json "$DB"
	[ "$(json 'd["metric"], d["params"]["spherical"], d["index"]["verify_failed"], d["index"]["unassigned"]' <<<"$OUT")" = "('cosine', True, 0, 0)" ] ||
		fail "cosine: $OUT"
	h unit_centroids "$VEC0" "$DB" || fail "centroids of a cosine table are not unit-norm"
}

test_native_assign_caught_and_rolled_back() {
	need_ivf
	fresh native
	local before; before=$(sha "$DB")
	expect_status 1 ivftrain --assign native "$DB"
	expect_one_line "$ERR" "--assign native"
	expect_match "$ERR" "verification failed: .* rolled back, the database is unchanged" "--assign native"
	[ "$(sha "$DB")" = "$before" ] || fail "--assign native changed the database"
}

test_bad_options_exit_2() {
	need_ivf
	fresh opts
	expect_refused 2 "--nlist: '0' is not an integer" --nlist 0 "$DB"
	expect_refused 2 "--nlist: '65537' is not an integer" --nlist 65537 "$DB"
	expect_refused 2 "nlist 3001 > the 3000 rows of table items" --nlist 3001 "$DB"
	expect_refused 2 "ntrain 20 < nlist 32" --ntrain 20 "$DB"
	expect_refused 2 "ntrain 100 < nlist 200" --nlist 200 --ntrain 100 "$DB"
	expect_refused 2 "--threads: 'many'" --threads many "$DB"
	expect_refused 2 "--init: 'best'" --init best "$DB"
	expect_refused 2 "--assign: 'fast'" --assign fast "$DB"
	expect_refused 2 "unknown option --frobnicate" --frobnicate "$DB"
	expect_refused 2 "one database at most" "$DB" "$DB"
}

test_ntrain_above_rows_warns_and_uses_all() {
	need_ivf
	fresh ntrain
	expect_status 0 ivftrain --ntrain 999999 --json "$DB"
	expect_match "$ERR" "warning: --ntrain 999999 > the 3000 rows of table items" "warning"
	[ "$(json 'd["params"]["ntrain"]' <<<"$OUT")" = $N ] || fail "ntrain: $OUT"
	expect_match "$(json 'd["warnings"][0]' <<<"$OUT")" \
		"^ntrain 999999 > the 3000 rows of table items: training on all of them" "json warning"
}

test_missing_database_not_created() {
	DB=$TMP/missing.db
	expect_status 2 ivftrain "$DB"
	expect_one_line "$ERR" "missing db"
	expect_match "$ERR" "missing.db: No such file" "missing db"
	[ ! -e "$DB" ] || fail "missing database was created"
}

test_not_sqlite() {
	DB=$TMP/notdb.db
	head -c 20000 /dev/urandom >"$DB"
	expect_refused 2 "is not an SQLite database" "$DB"
}

test_no_vec0_loadable() {
	DB=$TMP/plain.db
	sqlite3 "$DB" "create table t(a)"
	expect_refused 2 "vec0 extension /no/such/vec0.so" --vec0 /no/such/vec0.so "$DB"
	expect_refused 2 "cannot load vec0 extension" --vec0 /etc/hostname "$DB"
}

test_vec0_without_ivf() {
	DB=$TMP/plain2.db
	sqlite3 "$DB" "create table t(a)"
	local build=$VEC0
	if [ "$IVF" = 1 ]; then
		[ -f "$NPM_VEC0" ] || skip_test "no build without IVF to try (run scripts/install-deps)"
		build=$NPM_VEC0
	fi
	local before; before=$(sha "$DB")
	expect_status 2 "$BIN/ivftrain" --vec0 "$build" "$DB"
	expect_one_line "$ERR" "no IVF"
	expect_match "$ERR" "has no IVF support" "no IVF"
	[ "$(sha "$DB")" = "$before" ] || fail "database changed"
}

test_bad_tables() {
	need_ivf
	fresh tables
	"$PY" - "$VEC0" "$DB" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[2]); db.enable_load_extension(True); db.load_extension(sys.argv[1])
db.execute("create table plain(a, b)")
db.execute("create virtual table flat using vec0(v float[4])")
db.execute("create virtual table empty using vec0(id integer primary key, v float[4] indexed by ivf(nlist=2))")
db.commit()
EOF
	expect_refused 2 "no table nope in" --table nope "$DB"
	expect_refused 2 "table plain is not a vec0 virtual table" --table plain "$DB"
	expect_refused 2 "table flat has no vector column indexed by ivf" --table flat "$DB"
	expect_refused 2 "2 vec0 tables with an IVF column \(empty, items\): name one" "$DB"
	expect_refused 2 "table empty is empty" --table empty "$DB"
	expect_refused 2 "table items has no vector column nope" --table items --column nope "$DB"
}

# Loaded centroids that are all the same put every row in one cell: written (it
# is what was asked), but the summary and the JSON say the index is degenerate.
test_degenerate_index_warns() {
	need_ivf
	fresh degenerate
	h matrix "$TMP/same.h5" $NLIST 784
	expect_status 0 ivftrain --load-centroids "$TMP/same.h5" --json "$DB"
	[ "$(json 'len(d["warnings"]), float(d["index"]["imbalance"])' <<<"$OUT")" = "(1, $NLIST.0)" ] ||
		fail "warnings: $OUT"
	expect_match "$(json 'd["warnings"][0]' <<<"$OUT")" \
		"^degenerate index: imbalance $NLIST\.000 > 8\.000 for $NLIST cells" "json warning"
	fresh degenerate-text
	expect_status 0 ivftrain --load-centroids "$TMP/same.h5" "$DB"
	expect_match "$OUT" "^warning +degenerate index: imbalance $NLIST\.000 > 8\.000" "summary warning"
	# a real training is not degenerate
	fresh balanced
	expect_status 0 ivftrain --json "$DB"
	[ "$(json 'd["warnings"]' <<<"$OUT")" = "[]" ] || fail "warning on a real training: $OUT"
}

# --json answers failures in JSON on stdout too (the one-line error stays on
# stderr); an unknown --column is named.
test_json_error_object_and_column_named() {
	need_ivf
	fresh column
	expect_refused 2 "table items has no vector column nosuch" --column nosuch "$DB"
	expect_refused 2 "table items has no vector column nosuch" --json --column nosuch "$DB"
	[ "$(json 'd["error"], d["exit_status"]' <<<"$OUT")" = "('table items has no vector column nosuch', 2)" ] ||
		fail "json error: $OUT"
	expect_status 2 ivftrain --nlist x --json "$DB"
	[ "$(json 'd["exit_status"], "nlist" in d["error"]' <<<"$OUT")" = "(2, True)" ] || fail "json error: $OUT"
}

# Values whose squared norms overflow float32 are an error, not "inertia -nan".
test_overflowing_values_refused_in_dry_run() {
	"$PY" -c 'import h5py, numpy as np, sys
x = np.full((200, 8), 3e38, np.float32); x[::2] *= -1
with h5py.File(sys.argv[1], "w") as f:
    f["train"] = x; f["test"] = x[:5]; f.attrs["distance"] = "euclidean"' "$TMP/huge.hdf5" ||
		fail "h5py fixture"
	expect_status 2 "$BIN/ivftrain" --from "$TMP/huge.hdf5" --nlist 4 --dry-run
	expect_one_line "$ERR" "huge values"
	expect_match "$ERR" '^ivftrain: error: training row 0 has squared norm inf, beyond .* scale the vectors down' "message"
	[ -z "$OUT" ] || fail "a summary was printed: $OUT"
}

test_nan_in_sample_refused() {
	need_ivf
	fresh nan
	h poison "$DB" 1234
	expect_refused 2 "table items, id 1234: items.emb\[5\] is nan" "$DB"
}

test_load_centroids_wrong_dimension() {
	need_ivf
	fresh dim
	h matrix "$TMP/small.h5" 8 100
	expect_refused 2 "centroids have 100 dimensions, column items.emb has 784" \
		--load-centroids "$TMP/small.h5" "$DB"
	expect_refused 2 "nope.h5" --load-centroids "$TMP/nope.h5" "$DB"
}

test_locked_by_another_writer() {
	need_ivf
	fresh locked
	start_holder "$TMP/held" h hold "$DB" "$TMP/held" 20
	expect_refused 1 "cannot lock .*locked.db for writing \(another writer holds it\)" \
		--busy-timeout 300 --niter 2 "$DB"
	stop_holder
}

test_reader_held_past_busy_timeout() {
	need_ivf
	fresh heldread
	local before; before=$(sha "$DB")
	start_holder "$TMP/reading" h hold_read "$DB" "$TMP/reading" 30
	# COMMIT needs every reader gone (rollback journal): the wait for it must
	# end within --busy-timeout, not when the reader lets go
	expect_status 1 ivftrain --busy-timeout 500 --niter 2 "$DB"
	kill -0 "$HOLDER" 2>/dev/null || fail "ivftrain waited until the reader ended its transaction"
	expect_one_line "$ERR" "reader held"
	expect_match "$ERR" "one still held it after 0\.[0-9] s of waiting \(busy timeout 500 ms\); rolled back, the database is unchanged" "reader held"
	stop_holder
	[ "$(sha "$DB")" = "$before" ] || fail "database changed"
}

# readers_see_rows MODE: a reader connection open before the first training keeps
# getting all its rows during the write and after it, without reconnecting.
readers_see_rows() {
	need_ivf
	fresh "reader-$1"
	sqlite3 "$DB" "pragma journal_mode=$1" >/dev/null
	rm -f "$TMP/r.$1.first" "$TMP/r.$1.stop"
	h reader "$VEC0" "$DB" "$TMP/r.$1.first" "$TMP/r.$1.stop" "$TMP/r.$1.log" &
	local rd=$!
	for _ in $(seq 200); do [ -e "$TMP/r.$1.first" ] && break; sleep 0.05; done
	local t0 t1; t0=$(date +%s.%N)
	expect_status 0 ivftrain --niter 3 "$DB"
	t1=$(date +%s.%N)
	touch "$TMP/r.$1.stop"
	wait "$rd" || fail "$1: the reader failed"
	local during after short
	read -r during after short < <(h queries "$TMP/r.$1.log" "$t0" "$t1")
	echo "  $1: $during queries during ivftrain, $after after, $short with fewer than 10 rows"
	[ "$short" = 0 ] || fail "$1: $short queries got fewer than 10 rows"
	[ "$after" -ge 20 ] || fail "$1: $after queries after the write"
	[ "$1" != wal ] || [ "$during" -gt 0 ] || fail "wal: no query ran during the write"
}

test_reader_sees_rows_during_and_after_wal() { readers_see_rows wal; }
test_reader_sees_rows_after_rollback_journal() { readers_see_rows delete; }

# write_fails DB: ivftrain --assign reinsert on DB while its file may grow by 2 MiB
# at most: a real write failure part-way (SIGXFSZ ignored, so writes fail with
# EFBIG). The bulk write hardly grows the file: test_bulk_full_disk_rolled_back.
write_fails() {
	local kib=$(($(stat -c %s "$1") / 1024 + 2048))
	( trap '' XFSZ; ulimit -f "$kib"; exec "$BIN/ivftrain" --vec0 "$VEC0" --assign reinsert "$1" ) \
		>"$TMP/.out" 2>"$TMP/.err"
	local rc=$?
	ERR=$(cat "$TMP/.err")
	[ "$rc" -eq 1 ] || fail "exit $rc, expected 1: $ERR"
	expect_one_line "$ERR" "disk full"
	expect_match "$ERR" "File too large.*rolled back, the database is unchanged" "disk full"
	[ ! -e "$1-journal" ] || fail "journal left behind"
}

test_disk_full_mid_way_rolled_back() {
	need_ivf
	fresh full
	local before; before=$(sha "$DB")
	write_fails "$DB"
	[ "$(sha "$DB")" = "$before" ] || fail "database changed"
	# a file with free pages: every page in use comes back byte for byte
	DB=$TMP/full-free.db
	h mkdb "$VEC0" "$TMP/fm.hdf5" "$DB" $NLIST $N
	sqlite3 "$DB" "create table pad(x); insert into pad select randomblob(4000) from
		(with recursive c(i) as (select 1 union all select i + 1 from c where i < 200)
		 select i from c); drop table pad;"
	cp "$DB" "$TMP/full-free.orig"
	write_fails "$DB"
	local r
	r=$(h same_but_free "$TMP/full-free.orig" "$DB") || fail "pages in use changed: $r"
	echo "  $r"
}

test_bulk_is_the_default_and_gives_reinsert_s_results() {
	need_ivf
	fresh bulk
	expect_status 0 ivftrain --json --seed 3 "$DB"
	[ "$(json 'd["params"]["assign"], d["assigned"], d["index"]["rows_moved"], d["free_pages"]' <<<"$OUT")" = "('bulk', 'bulk', $N, 0)" ] ||
		fail "bulk: $OUT"
	h check "$VEC0" "$TMP/fm.hdf5" "$DB" $NLIST >/dev/null || fail "check after bulk"
	DB2=$TMP/reinsert.db
	cp "$TMP/base.db" "$DB2"
	expect_status 0 ivftrain --seed 3 --assign reinsert "$DB2"
	h knn "$VEC0" "$TMP/fm.hdf5" "$DB" $NLIST >"$TMP/knn-bulk" || fail "knn on bulk"
	h knn "$VEC0" "$TMP/fm.hdf5" "$DB2" $NLIST >"$TMP/knn-reinsert" || fail "knn on reinsert"
	[ "$(wc -l <"$TMP/knn-bulk")" -eq 900 ] || fail "$(wc -l <"$TMP/knn-bulk") result lines"
	cmp -s "$TMP/knn-bulk" "$TMP/knn-reinsert" ||
		fail "bulk and reinsert differ on $(diff "$TMP/knn-bulk" "$TMP/knn-reinsert" | grep -c '^<') of 900 queries"
}

# A real full disk: a 40 MiB tmpfs with a filler leaving free MiB; each run
# either commits a checked index or leaves the file byte-identical.
test_bulk_full_disk_rolled_back() {
	need_ivf
	local mnt=$TMP/tmpfs failed=0
	mount_tmpfs "$mnt" 40 || return
	for free in 1 3 6 9 12; do
		rm -f "$mnt"/*
		DB=$mnt/full.db
		cp "$TMP/base.db" "$DB"
		fill_tmpfs "$mnt" 40 $free "$DB"
		local before; before=$(sha "$DB")
		"$BIN/ivftrain" --vec0 "$VEC0" --niter 3 "$DB" >"$TMP/.out" 2>"$TMP/.err"
		local rc=$?
		ERR=$(cat "$TMP/.err")
		if [ $rc -eq 0 ]; then
			h check "$VEC0" "$TMP/fm.hdf5" "$DB" $NLIST >/dev/null || fail "$free MiB free: committed but wrong"
			continue
		fi
		echo "  $free MiB free: $ERR"
		failed=$((failed + 1))
		expect_rolled_back $rc "$DB" "$before" "$free MiB free"
	done
	umount "$mnt"
	[ $failed -ge 2 ] || fail "only $failed of 5 runs ran out of space"
}

# kill -9 at points of a bulk retrain until 20 land inside the transaction (a hot
# journal left): each must leave, once the journal is played back, the old index
# byte for byte; a kill after COMMIT the new one.
test_kill_9_during_bulk_write_leaves_old_index() {
	need_ivf
	fresh kill
	expect_status 0 ivftrain --nlist 16 --niter 3 "$DB"
	expect_status 0 ivftrain --dry-run --niter 3 --save-centroids "$TMP/k.h5" "$DB"
	cp "$DB" "$TMP/kill.orig"
	killed_new() { h check "$VEC0" "$TMP/fm.hdf5" "$DB" $NLIST >/dev/null; }
	kill_9_points 20 "$TMP/kill.orig" "$DB" killed_new \
		"$BIN/ivftrain" --vec0 "$VEC0" --load-centroids "$TMP/k.h5" "$DB"
}

test_check_clean_after_bulk_and_reinsert() {
	need_ivf
	fresh check
	expect_status 1 ivftrain --check "$DB"
	expect_match "$OUT" "problem +the trained flag is not 1" "untrained table"
	expect_match "$OUT" "problem +rows in unassigned cells \(centroid -1\): $N \(first: rowid" "untrained table"
	expect_status 0 ivftrain --niter 3 "$DB"
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "verdict +clean" "--check after bulk"
	expect_match "$OUT" "0 of $N rows not in their nearest centroid's cell" "--check after bulk"
	expect_status 0 ivftrain --check --json "$DB"
	[ "$(json 'd["rows"], d["live"], d["mapped"], d["centroids"], d["problems"]' <<<"$OUT")" = "($N, $N, $N, $NLIST, 0)" ] ||
		fail "--check --json: $OUT"
	fresh check2
	expect_status 0 ivftrain --niter 3 --assign reinsert "$DB"
	local before; before=$(sha "$DB")
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "verdict +clean" "--check after reinsert"
	[ "$(sha "$DB")" = "$before" ] || fail "--check changed the database"
	expect_refused 2 "--check takes no training option" --check --nlist 4 "$DB"
	expect_refused 2 "--check and --repack exclude each other" --check --repack "$DB"
}

# sqlite-vec's insert after a delete in the same cell writes over a live row.
test_check_catches_the_upstream_data_loss_and_repack_prevents_it() {
	need_ivf
	DB=$TMP/loss.db
	h tiny "$VEC0" "$DB" fill del3
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "holes +1 cells have holes left by deletes" "after the delete"
	cp "$DB" "$TMP/loss-repack.db"
	h tiny "$VEC0" "$DB" ins11
	expect_status 1 ivftrain --check "$DB"
	expect_one_line "$ERR" "--check data loss"
	expect_match "$ERR" "error: [0-9]+ problems found in the IVF index of items" "--check data loss"
	expect_match "$OUT" "rowid-map rows on the same slot as another row: 1 \(first: rowids 10 and 11 -> cell 1 slot 9\)" "same slot"
	expect_match "$OUT" "table rows missing from the index: 1 \(first: rowid 10\)" "lost row"
	expect_match "$OUT" "n_vectors differs from their live slots: 1" "count"
	h found "$VEC0" "$DB" 10 2>/dev/null && fail "id 10 still found: the bug is gone upstream?"
	# the same steps with a repack after the delete lose nothing
	DB=$TMP/loss-repack.db
	expect_status 0 ivftrain --repack --json "$DB"
	[ "$(json 'd["assigned"], d["index"]["rows_moved"]' <<<"$OUT")" = "('bulk', 9)" ] || fail "repack: $OUT"
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "verdict +clean" "after --repack"
	[[ "$OUT" != *holes* ]] || fail "holes left after --repack: $OUT"
	h tiny "$VEC0" "$DB" ins11
	expect_status 0 ivftrain --check "$DB"
	h found "$VEC0" "$DB" 1 2 4 5 6 7 8 9 10 11 || fail "rows lost after --repack"
}

test_repack_keeps_centroids_and_rows() {
	need_ivf
	fresh repack
	expect_refused 2 "table items has no centroids: train it first" --repack "$DB"
	expect_status 0 ivftrain --niter 3 --save-centroids "$TMP/r.h5" "$DB"
	"$PY" - "$VEC0" "$DB" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[2], isolation_level=None); db.enable_load_extension(True); db.load_extension(sys.argv[1])
db.execute("delete from items where id % 7 = 0")
EOF
	expect_status 0 ivftrain --repack "$DB"
	expect_match "$OUT" "repack +$NLIST centroids of the table, no training" "--repack"
	h centroids_equal "$VEC0" "$DB" "$TMP/r.h5" || fail "--repack changed the centroids"
	expect_status 0 ivftrain --check --json "$DB"
	[ "$(json 'd["rows"], d["holes"], d["problems"]' <<<"$OUT")" = "($((N - (N + 6) / 7)), 0, 0)" ] ||
		fail "after --repack: $OUT"
	expect_refused 2 "--repack takes no training option" --repack --from "$TMP/fm.hdf5" "$DB"
}

# tmpfs_mount NAME SIZE: a tmpfs of its own at $MNT, unmounted when the test
# ends (needs root, as in CI: a real file system that runs out of room).
tmpfs_mount() {
	MNT=$TMP/mnt.$1
	mkdir -p "$MNT"
	mount -t tmpfs -o "size=$2" tmpfs "$MNT" || { fail "cannot mount a tmpfs at $MNT (needs root)"; exit 1; }
	trap 'umount "$MNT"' EXIT
}

# fill_to BYTES: a filler file leaves about BYTES free on $MNT.
fill_to() {
	rm -f "$MNT/fill"
	local avail=$(($(stat -f -c '%a * %S' "$MNT")))
	[ "$avail" -le "$1" ] || head -c $((avail - $1)) /dev/zero >"$MNT/fill"
}

FULL_N=1000 # rows of the full-disk tables: 3.4 MiB at 784 dims

# full_disk_runs PATH BASE AUX LEVELS ARGS...: ivftrain ARGS on a copy of BASE on
# a tmpfs with LEVELS (per mille of the file's size, e.g. "20 800") free. Whatever
# happens every row keeps its vector and label; a run that fails says "disk full"
# and leaves every page in use as it was; only --vacuum may fail after its COMMIT
# (exit 3, the new index kept). Sets FULL (runs out of disk) and WRITTEN (exit 3).
full_disk_runs() {
	local path=$1 base=$2 aux=$3 levels=$4; shift 4
	local size pm rc before r
	FULL=0 WRITTEN=0
	size=$(stat -c %s "$base")
	for pm in $levels; do
		cp "$base" "$MNT/db"
		fill_to $((size * pm / 1000))
		before=$(h used_hash "$MNT/db")
		"$BIN/ivftrain" --vec0 "$VEC0" --niter 3 "$@" "$MNT/db" >"$TMP/.out" 2>"$TMP/.err"
		rc=$?
		ERR=$(cat "$TMP/.err")
		rm -f "$MNT/fill" # room for the checks
		local at="$path, $((pm / 10))% free"
		echo "  $at: exit $rc ${ERR:+($ERR)}"
		[ ! -e "$MNT/db-journal" ] || fail "$at: journal left behind"
		r=$(h rows_intact "$VEC0" "$TMP/fm.hdf5" "$MNT/db" $FULL_N "$aux" 2>&1) ||
			fail "$at: $r (exit $rc: $ERR)"
		case $rc in
		0) ;;
		1)
			expect_one_line "$ERR" "$at"
			expect_match "$ERR" "rolled back, the database is unchanged$" "$at"
			[ "$(h used_hash "$MNT/db")" = "$before" ] || fail "$at: pages in use changed"
			;;
		3)
			[ "$path" = vacuum ] || fail "$at: exit 3 without --vacuum"
			expect_match "$ERR" "the new index is committed .* but then: disk full: VACUUM failed" "$at"
			WRITTEN=$((WRITTEN + 1))
			;;
		*) fail "$at: exit $rc: $ERR" ;;
		esac
		[ "$rc" -eq 0 ] || { expect_match "$ERR" "disk full" "$at" && FULL=$((FULL + 1)); }
	done
	[ "$FULL" -gt 0 ] || fail "$path: no fill level ran out of disk"
}

test_full_disk_loses_no_row() {
	need_ivf
	local aux=aux base=$TMP/fullbase.db trained=$TMP/fulltrained.db
	h mkdb "$VEC0" "$TMP/fm.hdf5" "$base" 16 $FULL_N aux 2>/dev/null || {
		aux=plain # builds without auxiliary columns on IVF tables
		h mkdb "$VEC0" "$TMP/fm.hdf5" "$base" 16 $FULL_N
	}
	cp "$base" "$trained"
	expect_status 0 ivftrain --niter 3 --vacuum "$trained"
	tmpfs_mount full 16m
	# the levels reach each step: the move, assign-vectors, COMMIT, VACUUM
	full_disk_runs bulk "$base" $aux "200 800 1500"
	full_disk_runs reinsert "$base" $aux "200 800 1500" --assign reinsert
	full_disk_runs native "$base" $aux "200 1500" --assign native
	full_disk_runs none "$base" $aux "3 30 200" --assign none
	full_disk_runs retrain "$trained" $aux "200 1100 2500"
	# after a reinsert, whose move leaves free pages for VACUUM to give back
	full_disk_runs vacuum "$base" $aux "1500 2800 4000" --assign reinsert --vacuum
	[ "$WRITTEN" -gt 0 ] || fail "vacuum: no level let the write commit and VACUUM fail"
}

test_read_only_found_before_training() {
	need_ivf
	# a folder where the journal cannot be created (as nobody: root may write anywhere)
	local dir=$TMP/rofolder
	mkdir -p "$dir" && chmod 711 "$TMP" && chmod 755 "$dir"
	DB=$dir/items.db
	cp "$TMP/base.db" "$DB" && chown 65534:65534 "$DB"
	local before; before=$(sha "$DB")
	expect_status 2 setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BIN/ivftrain" --vec0 "$VEC0" --niter 2 "$DB"
	expect_one_line "$ERR" "read-only folder"
	expect_match "$ERR" "^ivftrain: error: cannot write database .*items.db: .*journal" "read-only folder"
	[ "$(sha "$DB")" = "$before" ] || fail "read-only folder: database changed"
	[ -z "$OUT" ] || fail "read-only folder: trained before refusing: $OUT"
	# a read-only file system
	tmpfs_mount ro 16m
	cp "$TMP/base.db" "$MNT/items.db"
	mount -o remount,ro "$MNT" || fail "cannot remount $MNT read-only"
	DB=$MNT/items.db
	expect_refused 2 "database .*items.db is read-only" --niter 2 "$DB"
}

test_ctrl_c_during_training_leaves_database() {
	need_ivf
	fresh intr
	local before; before=$(sha "$DB")
	# long enough to be interrupted (tol 0: no early stop), bounded if the signal is lost
	"$BIN/ivftrain" --vec0 "$VEC0" --nlist 64 --niter 3000 --tol 0 "$DB" >"$TMP/.out" 2>"$TMP/.err" &
	local pid=$!
	sleep 1.5
	kill -INT "$pid"
	wait "$pid"
	local rc=$?
	ERR=$(cat "$TMP/.err")
	[ "$rc" -eq 130 ] || fail "exit $rc after Ctrl-C, expected 130: $ERR"
	expect_one_line "$ERR" "Ctrl-C"
	expect_match "$ERR" "interrupted .*the database is unchanged" "Ctrl-C"
	[ "$(sha "$DB")" = "$before" ] || fail "database changed"
}

run_tests
