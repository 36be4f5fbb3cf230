#!/usr/bin/env bash
# tests/cli/quant.sh - ivftrain on quantized (int8, binary) vec0 IVF tables: the
# bulk write puts every row where vec0's own insert would (a twin table filled by
# vec0's inserts on the same centroids gives the same cells and KNN answers),
# vec0's inserts, deletes and queries keep working after it, --check audits the
# float32 copies and the quantized cells, --load fills an empty table, a retrain
# and a repack work, a reinsert is refused with the reason, and a full disk rolls
# back with every row intact. Data: seeded clustered vectors, 768 dims, values
# past [-1, 1] so that int8 distances exceed float32's exact integers (2^24).
# @per-vec0: run once per vec0 build (VEC0_PATH).
. "$(dirname "$0")/lib.sh"

VEC0=${VEC0_PATH:?run through tests/run, which sets VEC0_PATH}
PY=/usr/bin/python3 # Debian's python: its sqlite3 module can load extensions
N=1500
D=768
NLIST=16

cat >"$TMP/h.py" <<'EOF'
import sqlite3, sys
import h5py, numpy as np
from vec0db import connect, command

def data(n, d, seed=5):
    rng = np.random.default_rng(int(seed))
    c = rng.normal(0, 2.0, (12, int(d))).astype(np.float32)
    return (c[rng.integers(0, 12, int(n))] + rng.normal(0, 1.0, (int(n), int(d)))).astype(np.float32)

def ddl(q, d, nlist):
    return (f"create virtual table t using vec0(id integer primary key, emb float[{d}] "
            f"indexed by ivf(nlist={nlist}, nprobe=4, quantizer={q}))")

def mkdb(vec0, path, q, n, d, nlist):
    """An untrained quantized table t with rows 0..n-1 inserted by vec0."""
    x = data(n, d)
    db = connect(vec0, path)
    db.execute(ddl(q, d, nlist))
    db.execute("begin")
    db.executemany("insert into t(id, emb) values (?, ?)", ((i, x[i].tobytes()) for i in range(len(x))))
    db.execute("commit")
    db.close()
    connect(vec0, path).execute("vacuum")

def mkh5(path, n, d):
    with h5py.File(path, "w") as f:
        f["train"] = data(n, d)
        f["test"] = data(10, d, seed=9)
        f.attrs["distance"] = "euclidean"

def mkempty(vec0, path, q, d, nlist):
    connect(vec0, path).execute(ddl(q, d, nlist))

CELLS = ("select m.rowid, c.centroid_id from t_ivf_rowid_map00 m "
         "join t_ivf_cells00 c on c.rowid = m.cell_id order by 1")

def twin(vec0, path, twin_path, q, n, d, nlist):
    """A twin of path filled by vec0's own inserts on path's quantized centroids
    (written directly, as no command can): every row in the same centroid's
    cell, the same KNN distances at nprobe 1, 4 and nlist."""
    n, nlist = int(n), int(nlist)
    x = data(n, d)
    a = connect(vec0, path)
    cents = a.execute("select centroid_id, centroid from t_ivf_centroids00 order by 1").fetchall()
    assert len(cents) == nlist and all(len(c) == (int(d) if q == "int8" else int(d) // 8) for _, c in cents), \
        "centroids not of the quantized size"
    b = connect(vec0, twin_path)
    b.execute(ddl(q, d, nlist))
    b.executemany("insert into t_ivf_centroids00(centroid_id, centroid) values (?, ?)", cents)
    b.execute("insert or replace into t_info(key, value) values ('ivf_trained_0', '1')")
    b.close()
    b = connect(vec0, twin_path)
    b.execute("begin")
    b.executemany("insert into t(id, emb) values (?, ?)", ((i, x[i].tobytes()) for i in range(n)))
    b.execute("commit")
    ca, cb = a.execute(CELLS).fetchall(), b.execute(CELLS).fetchall()
    assert len(ca) == n and ca == cb, \
        f"{sum(u != v for u, v in zip(ca, cb))} of {n} rows in another centroid's cell than vec0's insert chose"
    assert len(set(c for _, c in ca)) > 1, "every row in one cell"
    qs = data(60, d, seed=11)
    for npb in (1, 4, nlist):
        command(a, "t", f"nprobe={npb}")
        command(b, "t", f"nprobe={npb}")
        for v in qs:
            ra = a.execute("select id, distance from t where emb match ? and k = 10", (v.tobytes(),)).fetchall()
            rb = b.execute("select id, distance from t where emb match ? and k = 10", (v.tobytes(),)).fetchall()
            assert len(ra) == 10 and [r[1] for r in ra] == [r[1] for r in rb], f"nprobe {npb}: {ra} vs {rb}"
            last = ra[-1][1]  # ids may swap only among ties at the last distance
            assert {r for r in ra if r[1] < last} == {r for r in rb if r[1] < last}, f"nprobe {npb}"

def quantize(q, v):
    if q == "int8":
        return (np.clip(v, -1, 1) * 127).astype(np.int8).tobytes()  # astype truncates
    return np.packbits(v > 0, bitorder="little").tobytes()

def live(vec0, path, q, n, d, nlist):
    """vec0's own insert, KNN, delete and point read on the written index."""
    n, nlist = int(n), int(nlist)
    x = np.concatenate([data(n, d), data(5, d, seed=13)])
    db = connect(vec0, path)
    full = dict(db.execute("select rowid, vector from t_ivf_vectors00"))
    for i in (0, 7, n - 1):
        assert full[i] == x[i].tobytes(), f"row {i}: _ivf_vectors copy differs"
        # vec0's point read gives the quantized bytes (then unrelated memory: upstream bug)
        got = db.execute("select emb from t where id = ?", (i,)).fetchone()[0]
        assert got[:len(quantize(q, x[i]))] == quantize(q, x[i]), f"row {i}: point read"
    db.executemany("insert into t(id, emb) values (?, ?)", ((i, x[i].tobytes()) for i in range(n, n + 5)))
    command(db, "t", f"nprobe={nlist}")
    for i in range(n, n + 5):
        got = db.execute("select id, distance from t where emb match ? and k = 3", (x[i].tobytes(),)).fetchall()
        assert got[0][1] == 0 and any(r[0] == i for r in got if r[1] == 0), f"new row {i}: {got}"
    db.execute("delete from t where id in (3, 4, 5)")
    assert db.execute("select count(*) from t_ivf_vectors00 where rowid in (3, 4, 5)").fetchone()[0] == 0
    got = [r[0] for r in db.execute("select id from t where emb match ? and k = 20", (x[3].tobytes(),))]
    assert 3 not in got, "a deleted row still found"
    assert db.execute("select count(*) from t").fetchone()[0] == n + 2

def same_centroids(vec0, a, b):
    ca = connect(vec0, a).execute("select * from t_ivf_centroids00 order by 1").fetchall()
    cb = connect(vec0, b).execute("select * from t_ivf_centroids00 order by 1").fetchall()
    assert ca == cb, "centroids differ"

def rows_intact(vec0, path, n, d):
    """Every row's float32 copy as inserted, whatever the index holds."""
    x = data(n, d)
    db = connect(vec0, path)
    full = dict(db.execute("select rowid, vector from t_ivf_vectors00"))
    assert len(full) == int(n), f"{len(full)} copies"
    assert all(full[i] == x[i].tobytes() for i in range(int(n))), "a copy changed"
    assert db.execute("select count(*) from t").fetchone()[0] == int(n)

getattr(sys.modules[__name__], sys.argv[1])(*sys.argv[2:])
EOF
h() { "$PY" "$TMP/h.py" "$@"; }

ivftrain() { "$BIN/ivftrain" --vec0 "$VEC0" "$@"; }

need_ivf() {
	[ "$(has_ivf "$VEC0" "$PY")" = 1 ] || skip_test "vec0 at $VEC0 has no IVF"
}

# fresh NAME Q: a copy of the untrained Q table at $DB.
fresh() {
	[ -e "$TMP/base-$2.db" ] || h mkdb "$VEC0" "$TMP/base-$2.db" "$2" $N $D $NLIST
	DB=$TMP/$1.db
	cp "$TMP/base-$2.db" "$DB"
}

test_bulk_write_places_rows_as_vec0_insert_does() {
	need_ivf
	for q in int8 binary; do
		fresh "w-$q" $q
		expect_status 0 ivftrain --nlist $NLIST --niter 5 --json "$DB"
		[ "$(json 'd["assigned"], d["index"]["rows_moved"]' <<<"$OUT")" = "('bulk', $N)" ] ||
			fail "$q: $OUT"
		expect_status 0 ivftrain --check "$DB"
		expect_match "$OUT" "0 of $N rows not in their nearest centroid's cell" "$q --check"
		expect_match "$OUT" "verdict +clean" "$q --check"
		local r
		r=$(h twin "$VEC0" "$DB" "$TMP/twin-$q.db" $q $N $D $NLIST 2>&1) || fail "$q twin: $r"
		r=$(h live "$VEC0" "$DB" $q $N $D $NLIST 2>&1) || fail "$q after the write: $r"
		# rows vec0 inserted, then deleted: still every invariant, vec0's choices agree
		expect_status 0 ivftrain --check "$DB"
		expect_match "$OUT" "0 of $((N + 2)) rows not in their nearest centroid's cell" "$q --check after vec0's writes"
		expect_match "$OUT" "verdict +clean" "$q --check after vec0's writes"
	done
}

test_retrain_repack_and_load() {
	need_ivf
	for q in int8 binary; do
		fresh "r-$q" $q
		expect_status 0 ivftrain --nlist 8 --niter 3 "$DB"
		expect_status 0 ivftrain --nlist $NLIST --niter 3 --seed 7 "$DB"
		expect_match "$OUT" "bulk: $N rows written" "$q retrain"
		cp "$DB" "$TMP/r-$q.before"
		expect_status 0 ivftrain --repack "$DB"
		h same_centroids "$VEC0" "$DB" "$TMP/r-$q.before" || fail "$q: --repack changed the centroids"
		expect_status 0 ivftrain --check "$DB"
		expect_match "$OUT" "verdict +clean" "$q after --repack"
		# an empty table filled from HDF5 without a vec0 insert
		[ -e "$TMP/d.hdf5" ] || h mkh5 "$TMP/d.hdf5" $N $D
		DB=$TMP/load-$q.db
		h mkempty "$VEC0" "$DB" $q $D $NLIST
		expect_status 0 ivftrain --load "$TMP/d.hdf5" --niter 3 "$DB"
		expect_status 0 ivftrain --check "$DB"
		expect_match "$OUT" "verdict +clean" "$q after --load"
		local r
		r=$(h rows_intact "$VEC0" "$DB" $N $D 2>&1) || fail "$q --load: $r"
		r=$(h twin "$VEC0" "$DB" "$TMP/twin-load-$q.db" $q $N $D $NLIST 2>&1) || fail "$q --load twin: $r"
	done
}

test_reinsert_refused_with_reason() {
	need_ivf
	fresh refuse int8
	local before; before=$(sha "$DB")
	for a in reinsert native; do
		expect_status 2 ivftrain --niter 2 --assign $a "$DB"
		expect_one_line "$ERR" "--assign $a"
		expect_match "$ERR" "table t uses quantizer=int8: only the bulk assignment can move its rows \(sqlite-vec's point read" "--assign $a"
	done
	[ "$(sha "$DB")" = "$before" ] || fail "a refused write changed the database"
	# centroids only: stored quantized, so vec0's next inserts are assigned
	expect_status 0 ivftrain --niter 2 --assign none "$DB"
	expect_status 1 ivftrain --check "$DB"
	expect_match "$OUT" "rows in unassigned cells \(centroid -1\): $N" "--assign none"
	expect_status 0 ivftrain --repack "$DB"
	expect_status 0 ivftrain --check "$DB"
	expect_match "$OUT" "verdict +clean" "--assign none, then --repack"
}

test_check_finds_a_damaged_quantized_index() {
	need_ivf
	fresh damaged binary
	expect_status 0 ivftrain --niter 3 "$DB"
	"$PY" - "$DB" <<'EOF' || fail "damaging the index"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("delete from t_ivf_vectors00 where rowid = 11")
db.execute("update t_ivf_vectors00 set vector = zeroblob(length(vector)) where rowid = 12")
db.execute("insert into t_ivf_vectors00(rowid, vector) values (99999, zeroblob(3072))")
EOF
	expect_status 1 ivftrain --check "$DB"
	expect_match "$OUT" "rows without a float32 copy of their size in _ivf_vectors: 1 \(first: rowid 11\)" "missing copy"
	expect_match "$OUT" "cell vectors that are not their _ivf_vectors copy quantized: 1 \(first: rowid 12\)" "changed copy"
	expect_match "$OUT" "_ivf_vectors copies of rows that are not in the index: 1 \(first: rowid 99999\)" "extra copy"
	# a write refuses to move a row it cannot read in full
	local before; before=$(sha "$DB")
	expect_status 1 ivftrain --repack "$DB"
	expect_one_line "$ERR" "repack without a copy"
	expect_match "$ERR" "rowid 11: no 3072-byte float32 copy in its _ivf_vectors table" "repack without a copy"
	[ "$(sha "$DB")" = "$before" ] || fail "a failed write changed the database"
}

# A real full disk: a 24 MiB tmpfs with a filler leaving KiB free; each run
# either commits a clean index or rolls back, every row's float32 copy intact.
test_full_disk_rolls_back_quantized_write() {
	need_ivf
	local mnt=$TMP/tmpfs full=0 q free
	mount_tmpfs "$mnt" 24 || return
	for q in int8 binary; do
		[ -e "$TMP/base-$q.db" ] || h mkdb "$VEC0" "$TMP/base-$q.db" $q $N $D $NLIST
		for free in 300 1500 3000; do
			rm -f "$mnt"/*
			DB=$mnt/full.db
			cp "$TMP/base-$q.db" "$DB"
			head -c $((24 * 1048576 - free * 1024 - $(stat -c %s "$DB"))) /dev/zero >"$mnt/filler"
			local before; before=$(sha "$DB")
			"$BIN/ivftrain" --vec0 "$VEC0" --niter 3 "$DB" >"$TMP/.out" 2>"$TMP/.err"
			local rc=$?
			ERR=$(cat "$TMP/.err")
			rm -f "$mnt/filler"
			echo "  $q, $free KiB free: exit $rc ${ERR:+($ERR)}"
			local r
			r=$(h rows_intact "$VEC0" "$DB" $N $D 2>&1) || fail "$q, $free KiB free: $r"
			if [ $rc -eq 0 ]; then
				expect_status 0 ivftrain --check "$DB"
				continue
			fi
			full=$((full + 1))
			expect_rolled_back $rc "$DB" "$before" "$q, $free KiB free"
			expect_match "$ERR" "^ivftrain: error: disk full" "$q, $free KiB free"
		done
	done
	umount "$mnt"
	[ $full -ge 2 ] || fail "only $full runs ran out of space"
}

run_tests
