#!/usr/bin/env bash
# tests/cli/vecdata.sh - vecdata end to end on small real files: a Fashion-MNIST
# cut built once from Debian's IDX files, h5py reading our files the way
# ann-benchmarks does, files written by h5py the ann-benchmarks way loading here,
# and every bad input giving exit 2, one line naming the file and no output.
. "$(dirname "$0")/lib.sh"

VD=$BIN/vecdata
PY=/usr/bin/python3 # Debian's, with python3-h5py and python3-numpy
FMDIR=/usr/share/datasets/fashion-mnist
FM=$TMP/fm.hdf5
# 2,000 train rows and 50 queries keep every test fast; the full default is
# exercised by scripts/bench-groundtruth.
"$VD" fashion-mnist "$FM" --train 2000 --test 50 >"$TMP/fm.out" 2>"$TMP/fm.err"
FM_RC=$?

need_fm() { [ "$FM_RC" -eq 0 ] || fail "fashion-mnist fixture failed: $(cat "$TMP/fm.err")"; }

# py SCRIPT ARGS...: runs a Python snippet with h5py/numpy; its stdout in $OUT.
py() {
	local script=$1; shift
	OUT=$("$PY" -c "import sys, h5py, numpy as np
$script" "$@" 2>&1) || fail "python: $OUT"
}

# Brute-force check in numpy (float64) of a file's ground truth: each stored row
# must be a top-k up to ties (1e-4 relative at the k-th distance) with matching
# distances. Prints "ok".
CHECK_GT='
f = h5py.File(sys.argv[1], "r")
X = f["train"][:].astype(np.float64); Q = f["test"][:].astype(np.float64)
nb = f["neighbors"][:]; di = f["distances"][:]; k = nb.shape[1]
if f.attrs["distance"] == "angular":
    X /= np.linalg.norm(X, axis=1, keepdims=True); Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    D = 1 - Q @ X.T
else:
    D2 = (Q * Q).sum(1)[:, None] + (X * X).sum(1)[None, :] - 2 * Q @ X.T
    D = np.sqrt(np.maximum(D2, 0))
kth = np.sort(D, axis=1)[:, k - 1]
mine = np.take_along_axis(D, nb.astype(np.int64), 1)
assert (mine <= kth[:, None] * (1 + 1e-4) + 1e-6).all(), "not a top-k"
assert np.allclose(di, mine, rtol=1e-5, atol=1e-6), "distances differ"
assert all(len(set(r)) == k for r in nb), "repeated ids"
assert (np.diff(di, axis=1) >= 0).all(), "not ascending"
print("ok")'

test_fashion_mnist_h5py_reads_it_like_ann_benchmarks() {
	need_fm
	expect_match "$(cat "$TMP/fm.out")" "fm.hdf5: 2000 train, 50 test, 784-d, euclidean, top-100 ground truth, labels" "summary"
	py '
f = h5py.File(sys.argv[1], "r")
a = f.attrs
assert a["distance"] == "euclidean" and isinstance(a["distance"], str), a["distance"]
assert a["point_type"] == "float" and a["type"] == "dense"
assert int(a["dimension"]) == 784
shapes = {k: (f[k].shape, f[k].dtype.str) for k in f}
assert shapes == {"train": ((2000, 784), "<f4"), "test": ((50, 784), "<f4"),
                  "neighbors": ((50, 100), "<i4"), "distances": ((50, 100), "<f4"),
                  "train_labels": ((2000,), "<i4"), "test_labels": ((50,), "<i4")}, shapes
assert f["train"][:].max() == 255 and f["train_labels"][:].max() == 9
print("ok")' "$FM"
	expect_match "$OUT" '^ok$' "h5py attributes and shapes"
	py "$CHECK_GT" "$FM"
	expect_match "$OUT" '^ok$' "ground truth vs numpy"
}

test_info_reports_shapes_and_catches_bad_ground_truth() {
	need_fm
	expect_status 0 "$VD" info "$FM"
	expect_match "$OUT" 'train +2000 x 784' "train shape"
	expect_match "$OUT" 'ground truth top-100' "k"
	expect_match "$OUT" 'check exact ok \(10 of 10 spot-checked' "spot check"
	cp "$FM" "$TMP/bad.hdf5"
	py 'f = h5py.File(sys.argv[1], "r+"); f["neighbors"][0, 5] = 5000; f["distances"][3, 0] = 1e6' "$TMP/bad.hdf5"
	expect_status 1 "$VD" info "$TMP/bad.hdf5" --spot 50
	expect_match "$OUT" 'check ids +FAIL \(1 of 50' "bad id reported"
	expect_match "$OUT" 'check order FAIL \(1 of 50' "order reported"
	expect_match "$OUT" 'check exact FAIL \(48 of 50' "spot check fails"
	expect_one_line "$ERR" "info failure"
	expect_match "$ERR" 'bad.hdf5: ground truth check failed \(first at query 0\)' "info error"
}

test_groundtruth_recomputes_in_place() {
	need_fm
	cp "$FM" "$TMP/gt.hdf5"
	expect_status 0 "$VD" groundtruth "$TMP/gt.hdf5" --metric angular --k 10 --json --threads 1
	py 'import json; j = json.loads(sys.argv[1]); assert j["k"] == 10 and j["metric"] == "angular" and j["threads"] == 1 and j["knn_s"] > 0, j; print("ok")' "$OUT"
	expect_match "$OUT" '^ok$' "json summary"
	py '
f = h5py.File(sys.argv[1], "r")
assert f.attrs["distance"] == "angular" and f["neighbors"].shape == (50, 10)
assert f["train_labels"].shape == (2000,) and int(f.attrs["dimension"]) == 784
print("ok")' "$TMP/gt.hdf5"
	expect_match "$OUT" '^ok$' "file updated, the rest kept"
	py "$CHECK_GT" "$TMP/gt.hdf5"
	expect_match "$OUT" '^ok$' "angular ground truth vs numpy"
	# --metric defaults to the file's: now angular
	expect_status 0 "$VD" groundtruth "$TMP/gt.hdf5" --k 5
	expect_match "$OUT" 'angular, top-5' "metric kept"
	[ -z "$(ls -A "$TMP" | grep '\.tmp-')" ] || fail "temporary file left"
}

test_subset_first_and_random_rows() {
	need_fm
	expect_status 0 "$VD" subset "$FM" "$TMP/s1.hdf5" --train 300 --test 7
	expect_match "$OUT" '300 train, 7 test, 784-d, euclidean, top-100' "first rows"
	expect_status 0 "$VD" subset "$FM" "$TMP/s2.hdf5" --train 300 --test 7 --random --seed 3 --k 12
	expect_status 0 "$VD" subset "$FM" "$TMP/s3.hdf5" --train 300 --test 7 --random --seed 3 --k 12
	py '
a, b, c, d = (h5py.File(p, "r") for p in sys.argv[1:5])
X = a["train"][:]
assert (b["train"][:] == X[:300]).all() and (b["test"][:] == a["test"][:7]).all()
assert (b["train_labels"][:] == a["train_labels"][:300]).all()
assert (b["test_labels"][:] == a["test_labels"][:7]).all()
# random rows: each one of the source rows, in source order, same for the same seed
rows = [int(np.flatnonzero((X == r).all(1))[0]) for r in c["train"][:]]
assert rows == sorted(rows) and rows != list(range(300)), rows[:10]
assert (c["train_labels"][:] == a["train_labels"][:][rows]).all()
assert (c["train"][:] == d["train"][:]).all() and c["neighbors"].shape == (7, 12)
print("ok")' "$FM" "$TMP/s1.hdf5" "$TMP/s2.hdf5" "$TMP/s3.hdf5"
	expect_match "$OUT" '^ok$' "subset contents"
	py "$CHECK_GT" "$TMP/s2.hdf5"
	expect_match "$OUT" '^ok$' "subset ground truth"
}

test_import_fvecs_bvecs_and_ivecs() {
	py '
d = sys.argv[1]
rng = np.random.default_rng(4)
def vecs(path, a, dt):
    a = np.asarray(a, dtype=dt)
    with open(path, "wb") as f:
        for r in a:
            f.write(np.int32(len(r)).tobytes()); f.write(r.tobytes())
B = rng.normal(size=(400, 16)).astype(np.float32); Q = rng.normal(size=(9, 16)).astype(np.float32)
vecs(d + "/base.fvecs", B, np.float32); vecs(d + "/query.fvecs", Q, np.float32)
vecs(d + "/base.bvecs", rng.integers(0, 256, (400, 16)), np.uint8)
vecs(d + "/query.bvecs", rng.integers(0, 256, (9, 16)), np.uint8)
D = ((Q[:, None] - B[None]) ** 2).sum(-1); I = np.argsort(D, 1, kind="stable")[:, :20]
vecs(d + "/gt.ivecs", I, np.int32)
print("ok")' "$TMP"
	expect_status 0 "$VD" import "$TMP/base.fvecs" "$TMP/query.fvecs" "$TMP/imp.hdf5" --k 20
	expect_match "$OUT" '400 train, 9 test, 16-d, euclidean, top-20' "import computed"
	py "$CHECK_GT" "$TMP/imp.hdf5"
	expect_match "$OUT" '^ok$' "imported ground truth"
	expect_status 0 "$VD" import "$TMP/base.fvecs" "$TMP/query.fvecs" "$TMP/imp2.hdf5" --gt "$TMP/gt.ivecs" --k 10
	py '
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert (a["neighbors"][:, :10] == b["neighbors"][:]).all()
assert np.allclose(a["distances"][:, :10], b["distances"][:], rtol=1e-6)
print("ok")' "$TMP/imp.hdf5" "$TMP/imp2.hdf5"
	expect_match "$OUT" '^ok$' "ivecs ground truth with recomputed distances"
	expect_status 0 "$VD" import "$TMP/base.bvecs" "$TMP/query.bvecs" "$TMP/impb.hdf5" --metric angular
	expect_match "$OUT" '400 train, 9 test, 16-d, angular, top-100' "bvecs angular"
	py "$CHECK_GT" "$TMP/impb.hdf5"
	expect_match "$OUT" '^ok$' "bvecs ground truth"
}

# An output that is one of the inputs (same inode: the same path, another
# spelling, a symlink, a hard link) is refused before anything is read or
# written, and the input is left as it was.
test_output_that_is_an_input_is_refused() {
	need_fm
	local d=$TMP/same
	mkdir -p "$d/sub"
	py '
d = sys.argv[1]; rng = np.random.default_rng(5)
for name, n in (("base", 50), ("q", 5)):
    with open(d + "/" + name + ".fvecs", "wb") as f:
        for r in rng.normal(size=(n, 8)).astype(np.float32):
            f.write(np.int32(8).tobytes()); f.write(r.tobytes())
print("ok")' "$d"
	cp "$FM" "$d/a.hdf5"
	ln -s base.fvecs "$d/link.fvecs"
	ln "$d/a.hdf5" "$d/hard.hdf5"
	local before; before=$(md5sum "$d/base.fvecs" "$d/q.fvecs" "$d/a.hdf5" | awk '{print $1}')
	local args
	while IFS= read -r args; do
		eval "expect_status 2 \"\$VD\" $args"
		expect_one_line "$ERR" "$args"
		expect_match "$ERR" 'output is the input .*: writing it would destroy the input' "$args"
	done <<EOF
import "$d/base.fvecs" "$d/q.fvecs" "$d/base.fvecs"
import "$d/base.fvecs" "$d/q.fvecs" "$d/q.fvecs"
import "$d/base.fvecs" "$d/q.fvecs" "$d/link.fvecs"
import "$d/base.fvecs" "$d/q.fvecs" "$d/sub/../base.fvecs"
subset "$d/a.hdf5" "$d/a.hdf5" --train 10 --test 5
subset "$d/a.hdf5" "$d/sub/../a.hdf5" --train 10 --test 5
subset "$d/a.hdf5" "$d/hard.hdf5" --train 10 --test 5
EOF
	[ "$(md5sum "$d/base.fvecs" "$d/q.fvecs" "$d/a.hdf5" | awk '{print $1}')" = "$before" ] ||
		fail "an input was changed"
	expect_status 0 "$VD" subset "$d/a.hdf5" "$d/b.hdf5" --train 10 --test 5
}

test_h5py_written_ann_benchmarks_file_loads() {
	# as ann_benchmarks/datasets.py write_output() does it
	py '
rng = np.random.default_rng(2)
train = rng.normal(size=(300, 12)).astype(np.float32); test = rng.normal(size=(8, 12)).astype(np.float32)
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["type"] = "dense"; f.attrs["distance"] = "angular"
    f.attrs["dimension"] = len(train[0]); f.attrs["point_type"] = "float"
    f.create_dataset("train", data=train); f.create_dataset("test", data=test)
    tn = train / np.linalg.norm(train, axis=1, keepdims=True); qn = test / np.linalg.norm(test, axis=1, keepdims=True)
    D = 1 - qn @ tn.T; I = np.argsort(D, 1)[:, :100]
    f.create_dataset("neighbors", (len(test), 100), dtype="i")[:] = I
    f.create_dataset("distances", (len(test), 100), dtype="f")[:] = np.take_along_axis(D, I, 1)
print("ok")' "$TMP/annb.hdf5"
	expect_status 0 "$VD" info "$TMP/annb.hdf5"
	expect_match "$OUT" 'metric +angular' "metric"
	expect_match "$OUT" 'check exact ok \(8 of 8' "their ground truth agrees with ours"
	expect_status 0 "$VD" subset "$TMP/annb.hdf5" "$TMP/annb-s.hdf5" --train 100 --test 4
	expect_match "$OUT" '100 train, 4 test, 12-d, angular, top-100' "subset of it"
}

# bad WHAT STATUS FILE CMD...: CMD exits STATUS with one line
# "vecdata: error: FILE..." and leaves the folder $TMP/o empty.
bad() {
	local what=$1 status=$2 file=$3; shift 3
	expect_status "$status" "$@"
	expect_one_line "$ERR" "$what"
	[[ $ERR == "vecdata: error: $file"* ]] || fail "$what: message does not start with '$file': $ERR"
	[ -z "$(ls -A "$TMP/o")" ] || fail "$what: left behind: $(ls -A "$TMP/o")"
}

test_bad_inputs_exit_2_with_one_line_and_no_output() {
	need_fm
	mkdir -p "$TMP/o" "$TMP/in"
	local o=$TMP/o/out.hdf5 in=$TMP/in
	echo "plain text" >"$in/text.hdf5"
	py '
src = h5py.File(sys.argv[2], "r"); X = src["train"][:50]; Q = src["test"][:5]
def mk(name, **ds):
    with h5py.File(sys.argv[1] + "/" + name, "w") as f:
        f.attrs["distance"] = "euclidean"
        for k, v in ds.items():
            f.create_dataset(k, data=v)
mk("notrain.hdf5", test=Q)
mk("notest.hdf5", train=X)
mk("shape.hdf5", train=X.reshape(50, 28, 28), test=Q)
mk("dim.hdf5", train=X, test=Q[:, :700])
mk("int.hdf5", train=X.astype(np.int32), test=Q)
Xn = X.copy(); Xn[7, 9] = np.nan
mk("nan.hdf5", train=Xn, test=Q)
mk("small.hdf5", train=X, test=Q)
print("ok")' "$in" "$FM"
	local c
	for c in notrain:"no 'train' dataset" notest:"no 'test' dataset" shape:"'train' is 3-D" \
		dim:"'test' has dimension 700, 'train' has 784" int:"'train' holds integer data" \
		nan:"'train' row 7 column 9 is NaN"; do
		bad "${c%%:*}" 2 "$in/${c%%:*}.hdf5" "$VD" subset "$in/${c%%:*}.hdf5" "$o" --train 5 --test 2
		expect_match "$ERR" "${c#*:}" "${c%%:*} message"
	done
	bad "missing file" 2 "$in/none.hdf5" "$VD" info "$in/none.hdf5"
	expect_match "$ERR" 'cannot open: No such file' "missing file message"
	bad "not HDF5" 2 "$in/text.hdf5" "$VD" subset "$in/text.hdf5" "$o" --train 5 --test 2
	expect_match "$ERR" 'not an HDF5 file' "not HDF5 message"
	bad "k > train rows" 2 "$in/small.hdf5" "$VD" subset "$in/small.hdf5" "$o" --train 20 --test 2 --k 21
	expect_match "$ERR" 'k = 21 is larger than the train set \(20 rows\)' "k message"
	bad "subset larger than file" 2 "$in/small.hdf5" "$VD" subset "$in/small.hdf5" "$o" --train 51 --test 2
	# groundtruth in place: a failure leaves the file as it was
	local sum; sum=$(md5sum <"$in/small.hdf5")
	bad "groundtruth k" 2 "$in/small.hdf5" "$VD" groundtruth "$in/small.hdf5" --k 51
	bad "groundtruth metric" 2 "" "$VD" groundtruth "$in/small.hdf5" --metric cosine
	expect_match "$ERR" "--metric cosine: expected euclidean or angular" "metric message"
	[ "$(md5sum <"$in/small.hdf5")" = "$sum" ] || fail "groundtruth changed the file on failure"
	[ -z "$(ls -A "$in" | grep '\.tmp-')" ] || fail "temporary file left in $in"

	# IDX: truncated gzip stream, truncated plain file, labels that do not match
	mkdir -p "$in/fm"
	cp "$FMDIR"/*.gz "$in/fm/"
	head -c 100000 "$FMDIR/train-images-idx3-ubyte.gz" >"$in/fm/train-images-idx3-ubyte.gz"
	bad "truncated IDX" 2 "$in/fm/train-images-idx3-ubyte.gz" "$VD" fashion-mnist "$o" --dir "$in/fm"
	expect_match "$ERR" 'truncated: [0-9]+ of 47040000 data bytes' "truncated IDX message"
	cp "$FMDIR/train-images-idx3-ubyte.gz" "$in/fm/"
	zcat "$FMDIR/t10k-labels-idx1-ubyte.gz" | head -c 5000 >"$in/fm/t10k-labels-idx1-ubyte.gz"
	bad "truncated plain IDX" 2 "$in/fm/t10k-labels-idx1-ubyte.gz" "$VD" fashion-mnist "$o" --dir "$in/fm" --train 10 --test 10
	bad "missing IDX" 2 "$in/none/train-images-idx3-ubyte.gz" "$VD" fashion-mnist "$o" --dir "$in/none"
	bad "k > fashion-mnist cut" 2 "$FMDIR" "$VD" fashion-mnist "$o" --train 10 --test 5 --k 11
	# a header claiming 60,000 x 1517 x 1517 bytes (138 GB): refused before allocating
	py '
import gzip
h = b"\x00\x00\x08\x03" + np.array([60000, 1517, 1517], dtype=">u4").tobytes()
open(sys.argv[1], "wb").write(h + bytes(1000))
print("ok")' "$in/fm/train-images-idx3-ubyte"
	gzip -c "$in/fm/train-images-idx3-ubyte" >"$in/fm/train-images-idx3-ubyte.gz"
	bad "IDX header claims 138 GB (gzip)" 2 "$in/fm/train-images-idx3-ubyte.gz" "$VD" fashion-mnist "$o" --dir "$in/fm"
	expect_match "$ERR" 'header claims 138077340000 data bytes, more than this gzip file can inflate to \([0-9]+ at most\)' "138 GB gzip"
	mv "$in/fm/train-images-idx3-ubyte" "$in/fm/train-images-idx3-ubyte.gz"
	bad "IDX header claims 138 GB (plain)" 2 "$in/fm/train-images-idx3-ubyte.gz" "$VD" fashion-mnist "$o" --dir "$in/fm"
	expect_match "$ERR" 'truncated: 1000 of 138077340000 data bytes present' "138 GB plain"

	# fvecs: truncated record, dimension changing mid-file, NaN, query dimension
	py '
d = sys.argv[1]
def rec(f, v, dt=np.float32):
    f.write(np.int32(len(v)).tobytes()); f.write(np.asarray(v, dt).tobytes())
with open(d + "/ok.fvecs", "wb") as f:
    for i in range(30): rec(f, np.arange(8) + i)
with open(d + "/q7.fvecs", "wb") as f:
    rec(f, np.arange(7))
with open(d + "/trunc.fvecs", "wb") as f:
    rec(f, np.arange(8)); rec(f, np.arange(8)); f.write(np.int32(8).tobytes() + b"\0" * 12)
with open(d + "/change.fvecs", "wb") as f:
    rec(f, np.arange(8)); rec(f, np.arange(8)); rec(f, np.arange(9))
with open(d + "/nan.fvecs", "wb") as f:
    rec(f, np.arange(8)); rec(f, [0, 1, np.inf, 3, 4, 5, 6, 7])
with open(d + "/short.ivecs", "wb") as f:
    rec(f, np.arange(3), np.int32)
print("ok")' "$in"
	bad "truncated fvecs" 2 "$in/trunc.fvecs" "$VD" import "$in/trunc.fvecs" "$in/ok.fvecs" "$o"
	expect_match "$ERR" 'truncated record 2 \(12 of 32 value bytes\)' "truncated fvecs message"
	bad "fvecs dimension change" 2 "$in/change.fvecs" "$VD" import "$in/ok.fvecs" "$in/change.fvecs" "$o"
	expect_match "$ERR" 'record 2 has dimension 9, the records before it 8 \(dimension changes mid-file\)' "dim change message"
	bad "fvecs Inf" 2 "$in/nan.fvecs" "$VD" import "$in/nan.fvecs" "$in/ok.fvecs" "$o"
	expect_match "$ERR" 'record 1 value 2 is \+Inf' "Inf message"
	bad "query dimension" 2 "$in/q7.fvecs" "$VD" import "$in/ok.fvecs" "$in/q7.fvecs" "$o"
	bad "ivecs rows" 2 "$in/short.ivecs" "$VD" import "$in/ok.fvecs" "$in/ok.fvecs" "$o" --gt "$in/short.ivecs"
	bad "import k > rows" 2 "$in/ok.fvecs" "$VD" import "$in/ok.fvecs" "$in/ok.fvecs" "$o" --k 31

	# output path unwritable: missing folder, a folder, in-place on a missing file
	bad "output folder missing" 2 "$TMP/o/no/such/out.hdf5" "$VD" subset "$in/small.hdf5" "$TMP/o/no/such/out.hdf5" --train 5 --test 2
	expect_match "$ERR" 'cannot write' "unwritable message"
	bad "output is a folder" 2 "$TMP/o/" "$VD" import "$in/ok.fvecs" "$in/ok.fvecs" "$TMP/o/"
	if [ "$(id -u)" -ne 0 ]; then # root writes anywhere: the permission case needs a user
		mkdir -p "$TMP/ro" && chmod 555 "$TMP/ro"
		bad "read-only folder" 2 "$TMP/ro/out.hdf5" "$VD" subset "$in/small.hdf5" "$TMP/ro/out.hdf5" --train 5 --test 2
	fi
}

test_synth_is_seeded_clustered_and_exact() {
	local a="$TMP/s1.hdf5" b="$TMP/s2.hdf5"
	expect_status 0 "$VD" synth "$a" --train 3000 --test 40 --dim 32 --clusters 16 --k 20
	expect_match "$OUT" "s1.hdf5: 3000 train, 40 test, 32-d, angular, top-20 ground truth, labels" "summary"
	expect_status 0 "$VD" synth "$b" --train 3000 --test 40 --dim 32 --clusters 16 --k 20 --threads 1
	py '
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
assert a.attrs["distance"] == "angular" and int(a.attrs["dimension"]) == 32
for k in ("train", "test", "neighbors", "train_labels"):
    assert np.array_equal(a[k][:], b[k][:]), k + " differs between thread counts"
x = a["train"][:]
assert np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5), "rows not unit"
assert sorted(set(a["train_labels"][:])) == list(range(16)), "clusters"
print("ok")' "$a" "$b"
	expect_match "$OUT" '^ok$' "h5py: same file for 1 and 2 threads, unit rows, 16 clusters"
	py "$CHECK_GT" "$a"
	expect_match "$OUT" '^ok$' "ground truth vs numpy"
	expect_status 0 "$VD" info "$a"
	expect_status 2 "$VD" synth "$TMP/synth-bad.hdf5" --spread -1
	expect_one_line "$ERR" "negative spread"
	expect_match "$ERR" "--spread -1" "negative spread"
	[ ! -e "$TMP/synth-bad.hdf5" ] || fail "a refused synth left a file"
}

# numpy's filtered ground truth: per query a brute force over the train rows whose
# train_F equals its test_F: a top-min(k, matches) up to ties, labels right, then
# -1 / inf padding. Prints "ok".
CHECK_FGT='
f = h5py.File(sys.argv[1], "r"); F = sys.argv[2]
X = f["train"][:].astype(np.float64); Q = f["test"][:].astype(np.float64)
lab = f["train_" + F][:]; qf = f["test_" + F][:]
nb = f["filtered_neighbors"][:]; di = f["filtered_distances"][:]; k = nb.shape[1]
assert f["filtered_neighbors"].attrs["filter"] == F
for q in range(len(Q)):
    rows = np.flatnonzero(lab == qf[q]); m = min(k, len(rows))
    D = np.sqrt(((X[rows] - Q[q]) ** 2).sum(1)); kth = np.sort(D)[m - 1] if m else 0
    got = nb[q, :m]
    assert (nb[q, m:] == -1).all() and np.isinf(di[q, m:]).all(), ("padding", q)
    assert (lab[got] == qf[q]).all() and len(set(got)) == m, ("labels", q)
    mine = np.sqrt(((X[got] - Q[q]) ** 2).sum(1))
    assert (mine <= kth * (1 + 1e-4) + 1e-6).all(), ("not a top-k", q)
    assert np.allclose(di[q, :m], mine, rtol=1e-5, atol=1e-6), ("distances", q)
print("ok")'

test_filtered_groundtruth_tags_and_labels() {
	need_fm
	local f=$TMP/filt.hdf5
	mkdir -p "$TMP/o"
	cp "$FM" "$f"
	expect_status 0 "$VD" tags "$f" --selectivity 0.1,0.01,0.001 --seed 5
	py '
f = h5py.File(sys.argv[1], "r"); t = f["train_tags"][:]
assert [int((t == v).sum()) for v in range(4)] == [1778, 200, 20, 2], [int((t == v).sum()) for v in range(4)]
assert list(f["test_tags"][:6]) == [1, 2, 3, 1, 2, 3]
assert f["neighbors"].shape == (50, 100)
print("ok")' "$f"
	expect_match "$OUT" '^ok$' "tags: exact selectivities, queries cycle, the rest kept"
	expect_status 0 "$VD" groundtruth "$f" --filter tags --k 10
	# tag 3 has 2 rows: queries 2, 5, ..., 47 are short
	expect_match "$OUT" '16 of 50 queries match fewer than 10 rows' "short queries counted"
	py "$CHECK_FGT" "$f" tags
	expect_match "$OUT" '^ok$' "filtered ground truth (tags) vs numpy"
	expect_status 0 "$VD" info "$f"
	expect_match "$OUT" 'filtered gt top-10, filter tags' "info names the filter"
	expect_match "$OUT" 'check fexact ok \(10 of 10' "info spot check"
	expect_status 0 "$VD" groundtruth "$f" --filter labels --k 20
	py "$CHECK_FGT" "$f" labels
	expect_match "$OUT" '^ok$' "filtered ground truth (labels) vs numpy"
	# a row of another label is caught by info (exit 1)
	py '
f = h5py.File(sys.argv[1], "r+"); nb = f["filtered_neighbors"]; lab = f["train_labels"][:]
q0 = f["test_labels"][0]; nb[0, 3] = int(np.flatnonzero(lab != q0)[0]); print("ok")' "$f"
	expect_status 1 "$VD" info "$f"
	expect_match "$OUT" 'check fids  FAIL \(1 of 50' "corrupted filtered ground truth"
	expect_match "$ERR" 'filtered: ground truth check failed \(first at query 0\)' "message"
	bad "unknown filter" 2 "" "$VD" groundtruth "$f" --filter nope
	expect_match "$ERR" "no 'train_nope' dataset" "unknown filter"
	bad "bad filter name" 2 "" "$VD" groundtruth "$f" --filter 'a;b'
	bad "selectivity out of range" 2 "" "$VD" tags "$f" --selectivity 0.5,2
	bad "selectivities over 1" 2 "" "$VD" tags "$f" --selectivity 0.6,0.5
	expect_match "$ERR" 'add up to 1.1' "selectivities over 1"
}

# A real full disk: `tags` and `groundtruth` rewrite the file through a temporary
# copy; with no room for it they fail with one line, the file untouched (HDF5
# crashed inside its copy when the disk filled midway).
test_rewrites_on_a_full_tmpfs_leave_the_file_unchanged() {
	need_fm
	local mnt=$TMP/tmpfs
	mount_tmpfs "$mnt" 16 || return
	cp "$FM" "$mnt/f.hdf5"
	local before
	before=$(sha "$mnt/f.hdf5")
	fill_tmpfs "$mnt" 16 1 "$mnt/f.hdf5"
	local cmd
	for cmd in tags groundtruth; do
		expect_status 1 "$VD" $cmd "$mnt/f.hdf5"
		expect_one_line "$ERR" "$cmd on a full tmpfs"
		expect_match "$ERR" 'f.hdf5: not enough free space' "$cmd on a full tmpfs"
	done
	[ "$(sha "$mnt/f.hdf5")" = "$before" ] || fail "the file changed"
	[ -z "$(ls -A "$mnt" | grep '\.tmp-')" ] || fail "temporary file left"
	umount "$mnt"
}

test_usage_errors_exit_2() {
	mkdir -p "$TMP/o"
	bad "no args" 2 "" "$VD" subset
	expect_match "$ERR" 'subset: expected IN.hdf5 OUT.hdf5' "missing args"
	bad "unknown option" 2 "" "$VD" info x.hdf5 --bogus
	bad "bad number" 2 "" "$VD" groundtruth x.hdf5 --k 12x
	expect_match "$ERR" '--k 12x: expected a whole number' "number message"
	bad "negative" 2 "" "$VD" subset a b --train -5 --test 1
	bad "seed without random" 2 "" "$VD" subset a b --train 5 --test 1 --seed 3
	bad "unknown command" 2 "" "$VD" frobnicate
	bad "option of another command" 2 "" "$VD" info x.hdf5 --random
	expect_status 0 "$VD" --help
	expect_match "$OUT" 'fashion-mnist OUT.hdf5' "top help"
	expect_status 0 "$VD" import --help
	expect_match "$OUT" '--gt FILE' "import help"
	expect_status 2 "$VD"
}

run_tests
