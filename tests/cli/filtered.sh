#!/usr/bin/env bash
# tests/cli/filtered.sh - vecbench's filtered workload end to end. @per-vec0: runs
# once per vec0 build (VEC0_PATH), each in its own process.
#
# A 2,000-row Fashion-MNIST cut with tags at 10% and 1% and its filtered ground
# truth; one run measures flat vec0 with a metadata column and with a partition
# key, and IVF post-filtering through an aux column and through a join (tables
# built centroids-first, by ivftrain --load's bulk write, and inserted untrained
# then trained), with nprobe = nlist so that vec0's answer is the exact top
# k x oversample: numpy then
# predicts each point's under-k count and recall independently. The peers filter
# their own way: faiss flat and faiss IVF (on the join section's centroids) with
# an ID selector per tag, exact at nprobe = nlist. The constraint probe's
# verdicts, the report's sections and the bad configurations follow.
. "$(dirname "$0")/lib.sh"

VB=$BIN/vecbench
VD=$BIN/vecdata
PY=/usr/bin/python3 # Debian's, with python3-h5py and numpy

py() {
	local script=$1; shift
	OUT=$("$PY" -c "import sys, json, h5py, numpy as np
$script" "$@" 2>&1) || fail "python: $OUT"
}

FM=$TMP/fm.hdf5
{ "$VD" fashion-mnist "$FM" --train 2000 --test 60 &&
	"$VD" tags "$FM" --selectivity 0.1,0.01 &&
	"$VD" groundtruth "$FM" --filter tags --k 10; } >/dev/null 2>"$TMP/fm.err"
FM_RC=$?

cat >"$TMP/f.ini" <<EOF
[dataset]
path = $FM
k = 10
filter = tags

[run]
name = f
results = $TMP/results
warmup = 0

[flat-meta]
type = flat

[flat-part]
type = flat
filter_column = partition

[ivf-aux]
type = ivf
nlist = 8
nprobe = 8
filter_oversample = 1,20

[ivf-join]
type = ivf
nlist = 8
nprobe = 8
filter_column = join
filter_oversample = 1,20

[ivf-aux-bulk]
type = ivf
nlist = 8
nprobe = 8
order = bulk
filter_oversample = 1,20

[ivf-join-bulk]
type = ivf
nlist = 8
nprobe = 8
order = bulk
filter_column = join
filter_oversample = 1,20

[ivf-join-itt]
type = ivf
nlist = 8
nprobe = 8
order = insert-then-train
filter_column = join
filter_oversample = 1,20

[faiss-flat]
type = faiss-flat

[faiss-ivf]
type = faiss-ivf
centroids = ivf-join
nprobe = 1,8
EOF
RES=$TMP/results/fm/f
if [ "$FM_RC" -eq 0 ]; then
	"$VB" run "$TMP/f.ini" >"$TMP/run.out" 2>"$TMP/run.err"
	RUN_RC=$?
fi
HAS_IVF=$(has_ivf "${VEC0_PATH:-}" "$PY" 2>/dev/null || echo 0)
HAS_FAISS=$([ -e /usr/include/faiss/IndexIVFFlat.h ] && echo 1 || echo 0)

need_run() {
	[ "$FM_RC" -eq 0 ] || { fail "fixture failed: $(cat "$TMP/fm.err")"; exit 1; }
	[ "$RUN_RC" -eq 0 ] || { fail "vecbench run exited $RUN_RC: $(cat "$TMP/run.err")"; exit 1; }
}

test_flat_metadata_and_partition_key_are_exact() {
	need_run
	py '
r = json.load(open(sys.argv[1]))
assert r["config"]["dataset"]["filter"] == "tags"
s = {x["name"]: x for x in r["sections"]}
for n, col in (("flat-meta", "metadata"), ("flat-part", "partition")):
    x = s[n]
    assert x["status"] == "ok" and x["params"]["filter_column"] == col, x
    p = x["points"][0]
    f = p["filtered"]
    assert p["recall"] == 1.0 and p["recall_ties"] == 1.0 and f["under_k"] == 0, (n, p["recall"], f)
    cls = {c["selectivity_class"]: c for c in f["classes"]}
    assert sorted(cls) == ["1%", "10%"], cls
    assert cls["10%"]["queries"] == 30 and cls["1%"]["queries"] == 30
    assert abs(cls["1%"]["selectivity"] - 0.01) < 1e-12 and cls["1%"]["recall"] == 1.0
    assert x["exact"]["pass"] is True
    assert x["constraints"] == {"key_in": True, "distance_gt": True}, x["constraints"]
print("ok")' "$RES/results.json"
	expect_match "$OUT" '^ok$' "flat sections"
}

# nprobe = nlist: vec0 IVF returns the exact k x oversample nearest rows, so the
# post-filter keeps those of the query's tag: numpy predicts got, under-k and
# recall per query (float32 vs float64 ties at the fetch boundary: at most one
# query off).
UNDERK='
r = json.load(open(sys.argv[1])); f = h5py.File(sys.argv[2], "r")
X = f["train"][:].astype(np.float64); Q = f["test"][:].astype(np.float64)
lab = f["train_tags"][:]; qf = f["test_tags"][:]
nb = f["filtered_neighbors"][:]; k = 10
D = ((Q ** 2).sum(1)[:, None] + (X ** 2).sum(1)[None, :] - 2 * Q @ X.T)
order = np.argsort(D, axis=1, kind="stable")
s = {x["name"]: x for x in r["sections"]}
for name in sys.argv[3:]:
    pts = s[name]["points"]
    assert [p["filter_oversample"] for p in pts] == [1, 20], pts
    for p in pts:
        os_ = p["filter_oversample"]; under = 0; rec = []
        for q in range(len(Q)):
            m = min(k, int((lab == qf[q]).sum()))
            kept = [i for i in order[q, :k * os_] if lab[i] == qf[q]][:k]
            under += len(kept) < m
            rec.append(len(set(kept) & set(nb[q, :m])) / m)
        assert abs(p["filtered"]["under_k"] - under) <= 1, (name, os_, p["filtered"]["under_k"], under)
        assert abs(p["recall"] - np.mean(rec)) <= 1 / len(Q) + 1e-9, (name, os_, p["recall"], np.mean(rec))
        assert abs(p["filtered"]["under_k_rate"] - p["filtered"]["under_k"] / len(Q)) < 1e-12
        assert sum(c["under_k"] for c in p["filtered"]["classes"]) == p["filtered"]["under_k"]
    # over-fetching 20x leaves fewer short queries than fetching k alone
    assert pts[1]["filtered"]["under_k"] < pts[0]["filtered"]["under_k"], pts
    assert s[name]["constraints"] == {"key_in": False, "distance_gt": False}, s[name]["constraints"]
print("ok")'

test_ivf_post_filtering_under_k_matches_numpy() {
	need_run
	[ "$HAS_IVF" = 1 ] || skip_test "vec0 at ${VEC0_PATH:-default} has no IVF"
	local aux
	aux=$("$PY" -c 'import json, sys; s = {x["name"]: x for x in json.load(open(sys.argv[1]))["sections"]}; print(s["ivf-aux"]["status"])' "$RES/results.json")
	if [ "$aux" = ok ]; then
		py "$UNDERK" "$RES/results.json" "$FM" ivf-aux ivf-join ivf-aux-bulk ivf-join-bulk ivf-join-itt
		expect_match "$OUT" '^ok$' "aux and join post-filtering vs numpy, each build order"
		# the same rows through an aux column or a join
		py '
s = {x["name"]: x for x in json.load(open(sys.argv[1]))["sections"]}
for a, b in zip(s["ivf-aux"]["points"], s["ivf-join"]["points"]):
    assert a["recall"] == b["recall"] and a["filtered"]["under_k"] == b["filtered"]["under_k"]
print("ok")' "$RES/results.json"
		expect_match "$OUT" '^ok$' "aux = join"
	else
		# a build whose IVF tables reject auxiliary columns: skipped with vec0's reason
		py "$UNDERK" "$RES/results.json" "$FM" ivf-join ivf-join-bulk ivf-join-itt
		expect_match "$OUT" '^ok$' "join post-filtering vs numpy, each build order"
		expect_match "$(grep -A0 ivf-aux "$TMP/run.out")" 'skipped: vec0 refuses filter_column = aux on IVF tables' "aux skipped"
	fi
}

# faiss searches only the tag's rows (an ID selector): exact on flat and at
# nprobe = nlist, never short there; at nprobe 1 the one probed list of 8 misses
# some of the tag's nearest rows.
test_faiss_filters_with_an_id_selector() {
	need_run
	[ "$HAS_FAISS" = 1 ] || skip_test "no libfaiss-dev: faiss sections not built"
	py '
r = json.load(open(sys.argv[1])); has_ivf = sys.argv[2] == "1"
s = {x["name"]: x for x in r["sections"]}
def exact(p, what):
    f = p["filtered"]
    assert p["recall"] == 1.0 and p["recall_ties"] == 1.0 and f["under_k"] == 0, (what, p["recall"], f)
    cls = {c["selectivity_class"]: c for c in f["classes"]}
    assert sorted(cls) == ["1%", "10%"], (what, cls)
    assert all(c["queries"] == 30 and c["recall"] == 1.0 and c["under_k"] == 0 for c in cls.values()), (what, cls)
ff = s["faiss-flat"]
assert ff["status"] == "ok" and ff["params"]["filtering"] == "faiss flat + ID selector", ff
assert "constraints" not in ff and "filter_column" not in ff["params"]
assert "3 IDSelectorBitmap" in ff["build"]["engine"] and "0 IDSelectorBatch" in ff["build"]["engine"], ff["build"]
exact(ff["points"][0], "faiss-flat")
fi = s["faiss-ivf"]
if has_ivf:
    assert fi["status"] == "ok" and fi["params"]["filtering"] == "faiss IVF + ID selector", fi
    p1, p8 = fi["points"]
    assert (p1["nprobe"], p8["nprobe"]) == (1, 8), fi["points"]
    exact(p8, "faiss-ivf nprobe 8")
    assert p1["recall"] < 1.0, p1["recall"]
else:
    assert fi["status"] == "skipped" and "centroids = ivf-join" in fi["reason"], fi
print("ok")' "$RES/results.json" "$HAS_IVF"
	expect_match "$OUT" '^ok$' "faiss with an ID selector"
	local md
	md=$(cat "$RES/results.md")
	expect_match "$md" '^\| faiss-flat \| faiss flat \+ ID selector \| [0-9.]+ \| [0-9.]+ \| 1\.0000 \| 0\.0% \|$' "faiss-flat in the per-class tables"
	expect_match "$md" '^\| 1% \| faiss flat \+ ID selector \| faiss-flat \| [0-9.]+ \| [0-9.]+ \| 1\.0000 \| 0\.0% \|$' "faiss-flat in the fastest table"
	if [ "$HAS_IVF" = 1 ]; then
		expect_match "$md" '^\| faiss-ivf nprobe=8 \| faiss IVF \+ ID selector \| [0-9.]+ \| [0-9.]+ \| 1\.0000 \| 0\.0% \|$' "faiss-ivf in the per-class tables"
		expect_match "$md" '^\| 10% \| faiss IVF \+ ID selector \| faiss-ivf nprobe=(1|8) \|' "faiss-ivf in the fastest table"
	fi
}

test_report_answers_partition_vs_ivf_and_constraints() {
	need_run
	local md
	md=$(cat "$RES/results.md")
	expect_match "$md" '^## Filtered queries' "filtered section"
	expect_match "$md" '^- \*\*1%\*\* \(30 queries\): partition key [0-9.]+ ms \(flat-part\)' "answer for 1%"
	expect_match "$md" '^\| 10% \| flat \+ partition key \| flat-part \| [0-9.]+ \| [0-9.]+ \| 1\.0000 \| 0\.0% \|$' "fastest table"
	expect_match "$md" '^### Selectivity 1%' "per-class table"
	expect_match "$md" 'flat-meta constraints\*\*: `id IN \(a, b\)` honoured; `distance > x` honoured\.' "flat constraints"
	if [ "$HAS_IVF" = 1 ]; then
		expect_match "$md" 'ivf-join constraints\*\*: `id IN \(a, b\)` IGNORED' "ivf constraints"
		expect_match "$md" '^\| ivf-join nprobe=8 oversample=20 \| ivf \+ join post-filter \|' "oversample rows"
	fi
	# the gate reads a filtered run (points share an nprobe, not an oversample)
	expect_status 0 "$VB" gate "$RES/results.json" --baseline "$RES/results.json"
	if command -v gnuplot >/dev/null; then
		[ -s "$RES/recall-latency.png" ] || fail "no plot though gnuplot is installed"
		grep -q "multiplot layout 1,2" "$RES/recall-latency.gp" || fail "not one panel per selectivity"
	fi
}

# bad configurations: exit 2, one line, no results folder
test_bad_filtered_configs_exit_2() {
	need_run
	local n=0 c
	bad_cfg() {
		n=$((n + 1))
		printf '%s\n' "$@" >"$TMP/bad$n.ini"
		expect_status 2 "$VB" run "$TMP/bad$n.ini"
		expect_one_line "$ERR" "bad config $n"
		[ ! -e "$TMP/badres" ] || fail "bad config $n made a results folder"
	}
	bad_cfg "[dataset]" "path = $FM" "filter = tags" "[run]" "results = $TMP/badres" \
		"[i]" "type = ivf" "nlist = 8" "filter_column = partition"
	expect_match "$ERR" 'bad1.ini:9: filter_column = partition: vec0 IVF tables reject' "partition on ivf"
	bad_cfg "[dataset]" "path = $FM" "[run]" "results = $TMP/badres" "[f]" "type = flat" \
		"filter_column = metadata"
	expect_match "$ERR" 'filter_column applies to a filtered run only' "no filter"
	bad_cfg "[dataset]" "path = $FM" "filter = tags" "[run]" "results = $TMP/badres" \
		"[f]" "type = flat" "filter_oversample = 2"
	expect_match "$ERR" 'filter_oversample applies to filter_column = aux or join' "oversample on metadata"
	bad_cfg "[dataset]" "path = $FM" "filter = labels" "[run]" "results = $TMP/badres" \
		"[f]" "type = flat"
	expect_match "$ERR" "no filtered ground truth for filter labels \(it holds filter tags\): make it with \`vecdata groundtruth .* --filter labels\`" "ground truth of another filter"
	bad_cfg "[dataset]" "path = $FM" "filter = nope" "[run]" "results = $TMP/badres" \
		"[f]" "type = flat"
	expect_match "$ERR" "no 'train_nope' dataset" "unknown filter"
	bad_cfg "[dataset]" "path = $FM" "filter = tags" "[run]" "results = $TMP/badres" \
		"[p]" "type = faiss-flat" "filter_oversample = 4"
	expect_match "$ERR" 'bad6.ini:8: filter_oversample does not apply to \[p\] \(type = faiss-flat\)' "vec0's filter key on a peer"
}

run_tests
