#!/usr/bin/env bash
# tests/cli/peers.sh - vecbench's peer engines end to end: faiss-flat and
# faiss-ivf on a 2,000-row Fashion-MNIST cut (euclidean) and its cosine form.
# @per-vec0: faiss-ivf takes its centroids from an ivf section's table, so the
# faiss checks run on the builds with IVF and skip, with the reason, elsewhere.
#
# At exhaustive settings every engine is exact (recall 1 with ties); faiss IVF on
# vec0's own centroids finds what vec0 finds at every nprobe; peer rows fill the
# same json, csv, md (its per-engine table) and gate as vec0's; ivftrain
# --export-faiss writes a sidecar that faiss.read_index loads and that answers
# as vec0 does at nprobe = nlist; a key a peer type does not take, or a
# bad centroids = SECTION, is file:line and exit 2 before any work.
. "$(dirname "$0")/lib.sh"

VB=$BIN/vecbench
VD=$BIN/vecdata
PY=/usr/bin/python3
VEC0=${VEC0_PATH:?run through tests/run, which sets VEC0_PATH}

FM=$TMP/fm.hdf5
"$VD" fashion-mnist "$FM" --train 2000 --test 50 >/dev/null 2>"$TMP/fm.err"
FM_RC=$?
# its cosine form: the same rows, angular ground truth
FMC=$TMP/fmc/fm.hdf5
mkdir -p "$TMP/fmc" && cp "$FM" "$FMC" 2>/dev/null &&
	"$VD" groundtruth "$FMC" --metric angular >/dev/null 2>>"$TMP/fm.err" || FM_RC=1
HAS_IVF=$(PYTHONPATH=$ROOT/tests/cli has_ivf "$VEC0" "$PY")
HAS_FAISS=$([ -e /usr/include/faiss/IndexIVFFlat.h ] && echo 1 || echo 0)

# peers_ini METRIC DATASET [RUN_KEYS]: flat, ivf and both faiss types on the cut.
peers_ini() {
	cat <<INI
[dataset]
path = $2
[vec0]
path = $VEC0
[run]
warmup = 0
${3:-}
[flat]
type = flat
distance_metric = $1
[ivf]
type = ivf
nlist = 16
nprobe = 1,4,16
ntrain = 1000
distance_metric = $1
[faiss-flat]
type = faiss-flat
distance_metric = $1
[faiss-ivf]
type = faiss-ivf
centroids = ivf
nprobe = 1,4,16
[gate]
min_recall = faiss-flat=1.0
min_recall = faiss-ivf@16=0.99
INI
}

# run_peers METRIC DATASET: the run's results.json in $OUT_JSON.
run_peers() {
	[ "$FM_RC" -eq 0 ] || { fail "fixture: $(cat "$TMP/fm.err")"; exit 1; }
	[ "$HAS_FAISS" = 1 ] || skip_test "no libfaiss-dev: faiss sections not built"
	[ "$HAS_IVF" = 1 ] || skip_test "vec0 at $VEC0 has no IVF: faiss-ivf has no centroids"
	peers_ini "$1" "$2" >"$TMP/$1.ini"
	"$VB" run "$TMP/$1.ini" --results "$TMP/res" --name "$1" >"$TMP/$1.out" 2>&1 ||
		{ fail "vecbench run exited $?: $(tail -3 "$TMP/$1.out")"; exit 1; }
	OUT_JSON=$TMP/res/fm/$1/results.json
}

check_peers='
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["sections"]}
for n in ("flat", "ivf", "faiss-flat", "faiss-ivf"):
    assert s[n]["status"] == "ok", (n, s[n].get("reason"))
ff, fi, iv = s["faiss-flat"], s["faiss-ivf"], s["ivf"]
assert ff["type"] == "faiss-flat" and fi["type"] == "faiss-ivf" and fi["sweep"] == "nprobe"
p = ff["points"][0]
assert p["recall"] == 1.0 and p["recall_ties"] == 1.0 and p["nprobe"] is None, p
assert len(p["latency_ms"]) == 50 and min(p["latency_ms"]) > 0
# serialized sizes: at least the vectors themselves
assert ff["build"]["file_bytes"] >= 2000 * 784 * 4 and ff["build"]["total_s"] > 0, ff["build"]
assert fi["build"]["file_bytes"] >= 2000 * 784 * 4 and fi["build"]["centroids"] == 16
assert fi["params"]["nlist"] == 16 and fi["params"]["nprobe"] == [1, 4, 16], fi["params"]
fp = {q["nprobe"]: q for q in fi["points"]}
vp = {q["nprobe"]: q for q in iv["points"]}
assert fp[16]["recall_ties"] == 1.0, fp[16]
# the same centroids and nearest-centroid cells: the same rows found at every nprobe
for n in (1, 4, 16):
    assert abs(fp[n]["recall"] - vp[n]["recall"]) <= 0.01, (n, fp[n]["recall"], vp[n]["recall"])
assert fp[1]["recall"] < 1.0, fp[1]
print("ok")'

test_peers_euclidean_exact_and_match_vec0() {
	run_peers l2 "$FM"
	py_out=$("$PY" -c "import sys, json
$check_peers" "$OUT_JSON" 2>&1)
	expect_match "$py_out" '^ok$' "peer figures"
	local dir=${OUT_JSON%/*} md
	md=$(cat "$dir/results.md")
	expect_match "$md" '^\| faiss-flat \| [0-9.]+ \([0-9.]+x (slower|faster)\) \| [0-9.]+ MiB \| [0-9.]+ \([0-9.]+x (slower|faster)\) \| 1\.000 \|$' "faiss-flat row"
	expect_match "$md" '^\| faiss-ivf nprobe=16 \| ' "faiss-ivf row"
	expect_match "$md" '^\| faiss \| 0\.99 \| faiss-(flat|ivf nprobe=[0-9]+) \| [0-9.]+ \| (0\.99|1\.00)[0-9]* \| [0-9.]+ \| [0-9.]+ MiB \|$' "faiss per-engine row"
	expect_match "$md" '^\| vec0 \| 0\.90 \| (flat|ivf nprobe=[0-9]+) \| ' "vec0 per-engine row"
	expect_match "$md" "^- faiss-ivf: on the centroids \\[ivf\\]'s table holds" "centroids note"
	expect_match "$(cat "$dir/results.csv")" '^faiss-ivf,faiss-ivf,ok,16,4,' "csv row"
	expect_match "$(cat "$dir/recall-latency.dat")" '^# faiss-ivf: ' "plot data"
	expect_status 0 "$VB" gate "$OUT_JSON" --config "$TMP/l2.ini"
	expect_match "$OUT" '^PASS  min recall faiss-ivf@16: 1\.0000' "gate on a peer point"
}

# cosine: IndexFlatIP and an inner-product IVF on unit vectors (spherical
# k-means centroids): exact at exhaustive settings, vec0's recall at every nprobe
test_peers_cosine_exact_and_match_vec0() {
	run_peers cosine "$FMC"
	py_out=$("$PY" -c "import sys, json
$check_peers" "$OUT_JSON" 2>&1)
	expect_match "$py_out" '^ok$' "peer figures"
}

# ivftrain --export-faiss: the table vecbench built, read back by faiss.read_index,
# answers every query as vec0 does at nprobe = nlist (same ids; distances agree)
test_export_faiss_matches_vec0() {
	[ "$FM_RC" -eq 0 ] || { fail "fixture: $(cat "$TMP/fm.err")"; exit 1; }
	[ "$HAS_FAISS" = 1 ] || skip_test "no libfaiss-dev: ivftrain has no --export-faiss"
	[ "$HAS_IVF" = 1 ] || skip_test "vec0 at $VEC0 has no IVF table to export"
	mkdir -p "$TMP/keep"
	peers_ini l2 "$FM" "keep_db = true
db_dir = $TMP/keep" | sed '/^\[faiss-flat\]/,$d' >"$TMP/keep.ini"
	"$VB" run "$TMP/keep.ini" --results "$TMP/keep-res" >"$TMP/keep.out" 2>&1 ||
		{ fail "vecbench run: $(tail -3 "$TMP/keep.out")"; return; }
	local db=$TMP/keep/ivf.sqlite sum
	sum=$(sha "$db")
	expect_status 0 "$BIN/ivftrain" --vec0 "$VEC0" --export-faiss "$TMP/ivf.faiss" "$db"
	expect_match "$OUT" '^exported vecbench: 2000 rows in 16 lists to ' "summary"
	[ "$(sha "$db")" = "$sum" ] || fail "the database changed"
	py_out=$("$PY" - "$VEC0" "$db" "$TMP/ivf.faiss" "$FM" <<'PY' 2>&1
import sys, faiss, h5py, numpy as np
from vec0db import connect, command
vec0, path, fx, h5 = sys.argv[1:]
idx = faiss.read_index(fx)
ivf = faiss.extract_index_ivf(idx)
assert idx.ntotal == 2000 and ivf.nlist == 16, (idx.ntotal, ivf.nlist)
ivf.nprobe = 16
q = h5py.File(h5, "r")["test"][:].astype(np.float32)
D, I = idx.search(q, 10)
db = connect(vec0, path)
command(db, "vecbench", "nprobe=16")
same = 0
for i in range(len(q)):
    rows = db.execute("select id, distance from vecbench where emb match ? and k = 10",
                      (q[i].tobytes(),)).fetchall()
    ids = [r[0] for r in rows]
    # faiss L2 distances are squared; vec0's are not
    assert np.allclose(np.sqrt(np.maximum(D[i], 0)), [r[1] for r in rows], rtol=1e-3, atol=1e-2), i
    same += set(ids) == set(I[i].tolist())
assert same >= len(q) - 1, same
print("ok", same)
PY
)
	expect_match "$py_out" '^ok ' "faiss sidecar vs vec0"
	# a table without an index to export, and a folder that cannot be written: exit 2 / 1, FILE untouched
	expect_status 1 "$BIN/ivftrain" --vec0 "$VEC0" --export-faiss "$TMP/nope/x.faiss" "$db"
	expect_one_line "$ERR" "unwritable path"
	expect_status 2 "$BIN/ivftrain" --vec0 "$VEC0" --export-faiss "$TMP/x.faiss" --nlist 8 "$db"
	[ ! -e "$TMP/x.faiss" ] && [ ! -e "$TMP/nope" ] || fail "a refused export left a file"
}

test_peer_bad_keys_file_line_exit_2() {
	[ "$FM_RC" -eq 0 ] || { fail "fixture: $(cat "$TMP/fm.err")"; exit 1; }
	local head="[dataset]\npath = $FM\n[ivf]\ntype = ivf\nnlist = 8\n"
	local cases=(
		"[f]\ntype = faiss-flat\nnlist = 8\n|:8: nlist does not apply to \[f\] \(type = faiss-flat\)"
		"[f]\ntype = faiss-flat\nnprobe = 1\n|:8: nprobe does not apply to \[f\] \(type = faiss-flat\)"
		"[f]\ntype = faiss-ivf\ncentroids = ivf\npage_size = 4096\n|:9: page_size does not apply to \[f\] \(type = faiss-ivf\)"
		"[f]\ntype = faiss-ivf\ncentroids = ivf\ncolor = red\n|:9: unknown key \"color\" in \[f\]"
		"[f]\ntype = faiss-ivf\n|:6: \[f\] has type = faiss-ivf but no centroids = SECTION"
		"[f]\ntype = faiss-ivf\ncentroids = nope\n|:8: centroids: no section \[nope\] before \[f\]"
		"[g]\ntype = flat\n[f]\ntype = faiss-ivf\ncentroids = g\n|:10: centroids: \[g\] is not an ivf section"
		"[f]\ntype = faiss-ivf\ncentroids = ivf\nnprobe = 9\n|:9: nprobe 9 exceeds nlist 8"
		"[f]\ntype = flat\ncentroids = ivf\n|:8: centroids does not apply to \[f\] \(type = flat\)"
	)
	expect_bad_configs "$head" "${cases[@]}"
}

run_tests
