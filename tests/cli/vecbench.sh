#!/usr/bin/env bash
# tests/cli/vecbench.sh - vecbench end to end. @per-vec0: runs once per vec0 build
# (VEC0_PATH), each in its own process.
#
# `gate` on hand-written results files: pass, regression, missing and skipped
# sections, bad input. `run` on a 2,000 x 100 Fashion-MNIST cut: the numbers are
# checked (flat recall 1, IVF recall at full nprobe, json fields, the markdown
# rows), IVF sections where the build has IVF and reported as skipped where not;
# then every kind of bad input gives exit 2 and one line before any results
# folder is made, and an interruption mid-run leaves the folder marked incomplete.
. "$(dirname "$0")/lib.sh"

VB=$BIN/vecbench
VD=$BIN/vecdata
PY=/usr/bin/python3 # Debian's, with python3-h5py

# py SCRIPT ARGS...: a Python snippet (json, h5py); its stdout in $OUT.
py() {
	local script=$1; shift
	OUT=$("$PY" -c "import sys, json
$script" "$@" 2>&1) || fail "python: $OUT"
}

# ---- gate on hand-written results --------------------------------------------

G=$TMP/gate
mkdir -p "$G"
# results.json as `vecbench run` writes it, cut to what the gate reads
cat >"$G/ok.json" <<'EOF'
{"format": "ivfkit-vecbench/1", "status": "complete",
 "dataset": {"name": "fm", "distance": "euclidean", "train_rows": 2000, "dimension": 784,
             "k": 10, "queries": 100},
 "sections": [
  {"name": "flat", "type": "flat", "status": "ok",
   "exact": {"pass": true, "recall_ties": 1.0, "inexact_queries": 0},
   "points": [{"nprobe": null, "recall": 1.0, "mean_ms": 2.0}]},
  {"name": "ivf", "type": "ivf", "status": "ok",
   "points": [{"nprobe": 1, "recall": 0.70, "mean_ms": 0.1},
              {"nprobe": 8, "recall": 0.99, "mean_ms": 0.5}]},
  {"name": "ivf-x", "type": "ivf", "status": "skipped", "reason": "vec0 v0.1.9 has no IVF index"}
 ]}
EOF
sed 's/"recall": 0.99, "mean_ms": 0.5/"recall": 0.999, "mean_ms": 0.2/' "$G/ok.json" >"$G/better.json"
sed 's/"status": "skipped", "reason": "vec0 v0.1.9 has no IVF index"/"status": "ok", "points": [{"nprobe": 4, "recall": 0.9, "mean_ms": 1}]/' \
	"$G/ok.json" >"$G/all-ok.json"
sed 's/"status": "complete"/"status": "interrupted", "error": "interrupted while querying [ivf]"/' \
	"$G/ok.json" >"$G/interrupted.json"
sed 's/"pass": true, "recall_ties": 1.0, "inexact_queries": 0/"pass": false, "recall_ties": 0.98, "inexact_queries": 2/' \
	"$G/ok.json" >"$G/inexact.json"
sed 's/"name": "fm"/"name": "sift"/' "$G/ok.json" >"$G/other.json"
head -c 200 "$G/ok.json" >"$G/truncated.json"
# a baseline of the same name that measured other data
sed 's/"train_rows": 2000/"train_rows": 1000/' "$G/ok.json" >"$G/other-rows.json"
sed 's/"dimension": 784/"dimension": 100/' "$G/ok.json" >"$G/other-dim.json"
sed 's/"distance": "euclidean"/"distance": "angular"/' "$G/ok.json" >"$G/other-metric.json"
# figures no run can produce
sed 's/"recall": 0.99,/"recall": 1.5,/' "$G/ok.json" >"$G/recall15.json"
sed 's/"mean_ms": 0.5}/"mean_ms": -1}/' "$G/ok.json" >"$G/negative-ms.json"
sed 's/{"nprobe": 8, "recall": 0.99/{"nprobe": 1, "recall": 0.99/' "$G/ok.json" >"$G/point-twice.json"
sed 's/"name": "ivf-x"/"name": "ivf"/' "$G/ok.json" >"$G/section-twice.json"
# a complete-looking results.json in a folder still marked incomplete
mkdir -p "$G/marked"
cp "$G/ok.json" "$G/marked/results.json"
echo "running" >"$G/marked/incomplete"
# every section skipped, in the results and the baseline: nothing to compare
sed 's/"status": "ok"/"status": "skipped", "reason": "no IVF"/' "$G/ok.json" >"$G/none.json"
printf '[dataset]\npath = x.hdf5\n[gate]\nmin_recall = ivf=0.999\nmax_recall_drop = 0.01\n[flat]\ntype = flat\n[ivf]\ntype = ivf\nnlist = 8\n' \
	>"$G/gate.ini"

test_gate_passes_with_figures() {
	expect_status 0 "$VB" gate "$G/ok.json" --min-recall flat=1 --min-recall ivf=0.95 --min-recall ivf@1=0.7
	expect_match "$OUT" '^PASS  flat exact flat: recall with ties 1\.0000' "exact check"
	expect_match "$OUT" '^PASS  min recall ivf@8: 0\.9900 >= 0\.9500' "SECTION is the largest nprobe"
	expect_match "$OUT" '^PASS  min recall ivf@1: 0\.7000 >= 0\.7000' "explicit nprobe"
	expect_match "$OUT" 'gate: 4 checks, 0 failed' "summary"
	expect_status 0 "$VB" gate "$G/ok.json" --baseline "$G/ok.json" --max-latency-ratio 1.5
	expect_match "$OUT" '^PASS  recall drop ivf@8: 0\.9900 -> 0\.9900' "drop vs itself"
	expect_match "$OUT" '^PASS  latency ratio ivf@8: 0\.500 ms -> 0\.500 ms \(x1\.00 <= x1\.50\)' "ratio"
	expect_match "$OUT" '^note  vs baseline ivf-x: skipped in the baseline' "skipped baseline noted"
}

test_gate_regressions_exit_1() {
	expect_status 1 "$VB" gate "$G/ok.json" --min-recall ivf@1=0.9
	expect_match "$OUT" '^FAIL  min recall ivf@1: 0\.7000 < 0\.9000' "min recall"
	expect_match "$ERR" 'vecbench: error: 1 of 2 checks failed' "message"
	expect_status 1 "$VB" gate "$G/ok.json" --baseline "$G/better.json"
	expect_match "$OUT" '^FAIL  recall drop ivf@8: 0\.9990 -> 0\.9900 \(drop 0\.0090 > 0\.0050\)' "default drop"
	expect_status 0 "$VB" gate "$G/ok.json" --baseline "$G/better.json" --max-recall-drop 0.01
	expect_status 1 "$VB" gate "$G/ok.json" --baseline "$G/better.json" --max-recall-drop 0.01 \
		--max-latency-ratio 1.5
	expect_match "$OUT" '^FAIL  latency ratio ivf@8: 0\.200 ms -> 0\.500 ms \(x2\.50 > x1\.50\)' "ratio"
	expect_status 1 "$VB" gate "$G/inexact.json" --min-recall ivf=0.5
	expect_match "$OUT" '^FAIL  flat exact flat: recall with ties 0\.9800, 2 queries below 1' "inexact flat"
}

test_gate_missing_or_skipped_section_fails() {
	expect_status 1 "$VB" gate "$G/ok.json" --min-recall nosuch=0.5
	expect_match "$OUT" '^FAIL  min recall nosuch: section missing from' "missing"
	expect_status 1 "$VB" gate "$G/ok.json" --min-recall ivf-x=0.5
	expect_match "$OUT" '^FAIL  min recall ivf-x: section skipped in .*no IVF index' "skipped"
	expect_status 1 "$VB" gate "$G/ok.json" --min-recall ivf@4=0.5
	expect_match "$OUT" '^FAIL  min recall ivf@4: not measured' "nprobe not measured"
	# the baseline measured it, the new run skipped it: a failure, not a pass
	expect_status 1 "$VB" gate "$G/ok.json" --baseline "$G/all-ok.json"
	expect_match "$OUT" '^FAIL  vs baseline ivf-x@4: section skipped' "skipped vs baseline"
}

test_gate_thresholds_from_config_command_line_wins() {
	expect_status 1 "$VB" gate "$G/ok.json" --config "$G/gate.ini"
	expect_match "$OUT" '^FAIL  min recall ivf@8: 0\.9900 < 0\.9990' "config threshold"
	expect_status 0 "$VB" gate "$G/ok.json" --config "$G/gate.ini" --min-recall ivf=0.98
	expect_status 0 "$VB" gate "$G/ok.json" --config "$G/gate.ini" --min-recall ivf=0.98 \
		--baseline "$G/better.json"
	expect_match "$OUT" 'drop 0\.0090 <= 0\.0100' "config max_recall_drop"
}

test_gate_bad_input_exits_2() {
	local args
	while IFS= read -r args; do
		eval "expect_status 2 \"\$VB\" gate $args"
		expect_one_line "$ERR" "gate $args"
		expect_match "$ERR" '^vecbench: error: ' "gate $args"
		[ -z "$OUT" ] || fail "gate $args printed checks: $OUT"
	done <<EOF
"$G/absent.json" --min-recall flat=1
"$G/truncated.json" --min-recall flat=1
"$G/interrupted.json" --min-recall flat=1
"$G/ok.json" --baseline "$G/interrupted.json"
"$G/ok.json" --baseline "$G/other.json"
"$G/ok.json"
"$G/ok.json" --min-recall flat
"$G/ok.json" --min-recall flat=2
"$G/ok.json" --min-recall ivf@x=0.5
"$G/ok.json" --max-recall-drop -1 --min-recall flat=1
"$G/ok.json" --max-latency-ratio abc --min-recall flat=1
"$G/ok.json" --bogus
--min-recall flat=1
"$G/ok.json" "$G/ok.json" --min-recall flat=1
"$G/ok.json" --config "$G/absent.ini"
"$G/ok.json" --baseline "$G/other-rows.json"
"$G/ok.json" --baseline "$G/other-dim.json"
"$G/ok.json" --baseline "$G/other-metric.json"
"$G/recall15.json" --min-recall flat=1
"$G/ok.json" --baseline "$G/recall15.json"
"$G/negative-ms.json" --min-recall flat=1
"$G/point-twice.json" --min-recall flat=1
"$G/section-twice.json" --min-recall flat=1
"$G/marked/results.json" --min-recall flat=1
"$G/ok.json" --baseline "$G/marked/results.json"
"$G/ok.json" --min-recall ivf@99999999999999999999=0.5
"$G/ok.json" --min-recall ivf@65537=0.5
EOF
	expect_status 2 "$VB" gate "$G/interrupted.json" --min-recall flat=1
	expect_match "$ERR" 'run is interrupted: interrupted while querying \[ivf\], not complete' "why"
}

test_gate_bad_input_says_why() {
	local f want
	while IFS='|' read -r f want; do
		expect_status 2 "$VB" gate "$G/ok.json" --baseline "$G/$f"
		expect_match "$ERR" "$want" "$f"
	done <<EOF
other-rows.json|measured fm with train_rows 1000, results .* with 2000: not comparable
other-dim.json|measured fm with dimension 100, results .* with 784: not comparable
other-metric.json|measured fm \(angular\), results .* measured fm \(euclidean\): not comparable
recall15.json|a point of section ivf has recall 1.5, outside \[0, 1\]
section-twice.json|section ivf is listed twice
point-twice.json|section ivf lists a point twice
marked/results.json|its folder holds .*marked/incomplete \("running"\): the run did not complete
EOF
	expect_status 2 "$VB" gate "$G/ok.json" --min-recall ivf@99999999999999999999=0.5
	expect_match "$ERR" 'NPROBE in \[1, 65536\]' "nprobe range"
}

test_gate_that_compares_nothing_fails() {
	expect_status 1 "$VB" gate "$G/none.json" --baseline "$G/none.json"
	expect_match "$OUT" '^FAIL  nothing compared: ' "vacuous gate"
	expect_match "$OUT" 'gate: [0-9]+ checks, 1 failed' "summary"
}

# ---- run on a Fashion-MNIST cut ------------------------------------------------

FM=$TMP/fm.hdf5
FM4=$TMP/fm-4000.hdf5
# a 4,000-row cut, then 2,000 random rows of it: subset's ids must line up
"$VD" fashion-mnist "$FM4" --train 4000 --test 100 >/dev/null 2>"$TMP/fm.err" &&
	"$VD" subset "$FM4" "$FM" --train 2000 --test 100 --random >/dev/null 2>>"$TMP/fm.err"
FM_RC=$?

RUN=$TMP/run
mkdir -p "$RUN"
# the committed CI config, on this cut: it must stay valid and its gate pass
CI=("$VB" run "$ROOT/configs/ci-small.ini" --dataset "$FM" --results "$RUN/results" --name e2e)
E2E=$RUN/results/fm/e2e
if [ "$FM_RC" -eq 0 ]; then
	"${CI[@]}" >"$RUN/out" 2>"$RUN/err"
	RUN_RC=$?
fi

need_run() {
	[ "$FM_RC" -eq 0 ] || { fail "dataset fixture failed: $(cat "$TMP/fm.err")"; exit 1; }
	[ "$RUN_RC" -eq 0 ] || { fail "vecbench run exited $RUN_RC: $(cat "$RUN/err")"; exit 1; }
}
test_run_flat_is_exact_and_files_complete() {
	need_run
	[ ! -e "$E2E/incomplete" ] || fail "incomplete marker left in a complete run"
	for f in results.json results.csv results.md; do
		[ -s "$E2E/$f" ] || fail "$f missing"
	done
	py '
r = json.load(open(sys.argv[1]))
assert r["format"] == "ivfkit-vecbench/1" and r["status"] == "complete", r["status"]
assert r["vec0"]["version"].startswith("v0.1.") and r["vec0"]["path"], r["vec0"]
assert r["sqlite_version"] and r["machine"]["cpu"] and r["machine"]["cores"] >= 1
assert r["machine"]["memory_bytes"] > 0
d = r["dataset"]
assert (d["name"], d["train_rows"], d["dimension"], d["queries"], d["k"]) == ("fm", 2000, 784, 100, 10), d
s = {x["name"]: x for x in r["sections"]}
f = s["flat"]
assert f["status"] == "ok" and f["build"]["rows"] == 2000, f["build"]
assert f["build"]["insert_s"] > 0 and f["build"]["file_bytes"] > 2000 * 784 * 4
p = f["points"][0]
assert p["recall"] == 1.0 and p["recall_ties"] == 1.0 and p["inexact_queries"] == 0, p
assert f["exact"]["pass"] is True
assert len(p["latency_ms"]) == 100 and min(p["latency_ms"]) > 0
assert p["p50_ms"] <= p["p95_ms"] <= p["p99_ms"] <= p["max_ms"] and p["qps"] > 0
o = f["overhead"]
assert o["loop_mean_ms"] > 0 and abs(o["ratio"] - o["harness_mean_ms"] / o["loop_mean_ms"]) < 1e-9
# the floor is the fastest of its passes, and the check two-sided
assert len(o["loop_pass_ms"]) == 3 and o["loop_mean_ms"] == min(o["loop_pass_ms"]), o
lo, hi = 1 - o["target"], 1 + o["target"]
want = "invalid" if o["ratio"] < lo else "met" if o["ratio"] <= hi else "exceeded"
assert o["verdict"] == want and o["within_target"] == (want == "met"), o
print("ok")' "$E2E/results.json"
	expect_match "$OUT" '^ok$' "results.json"
	local md
	md=$(cat "$E2E/results.md")
	expect_match "$md" '^\| configuration \| insert \(s\) \| size \| query \(ms\) \| recall@10 \|$' "table header"
	expect_match "$md" '^\| flat \| [0-9.]+ \| [0-9.]+ MiB \| [0-9.]+ \| 1\.000 \|$' "flat row"
	expect_match "$md" 'flat exact\*\*: pass' "exact check"
	expect_match "$md" 'harness overhead\*\* \(flat\): .*\(the same prepared statement alone, fastest of 3 passes\), [-+][0-9.]+% \(target within ±2%: (met|NOT met|INVALID, the floor was slower)' "overhead line"
	[ "$(grep -c '^flat,flat,ok,' "$E2E/results.csv")" -eq 1 ] || fail "csv flat row"
	expect_match "$(cat "$RUN/out")" '^\[flat\] built in .* recall@10 1\.0000$' "progress line"
	if command -v gnuplot >/dev/null; then
		[ -s "$E2E/recall-latency.png" ] || fail "no plot though gnuplot is installed"
	else
		expect_match "$md" 'No plot: gnuplot not found' "plot note"
	fi
}

# The half for a build without IVF: every IVF section reported skipped, the gate
# failing on them; then the test ends as skipped with the reason.
ivf_absent() {
	py '
r = json.load(open(sys.argv[1]))
for x in r["sections"][1:]:
    assert x["status"] == "skipped" and "no IVF index" in x["reason"], x
print("ok")' "$E2E/results.json"
	expect_match "$OUT" '^ok$' "skipped in json"
	expect_match "$(cat "$E2E/results.md")" '^\| ivf-cf \| skipped: vec0 .* has no IVF index' "skipped in md"
	expect_status 1 "$VB" gate "$E2E/results.json" --config "$ROOT/configs/ci-small.ini"
	expect_match "$OUT" '^PASS  min recall flat: 1\.0000 >= 1\.0000' "flat still gated"
	expect_match "$OUT" '^FAIL  min recall ivf-cf: section skipped' "gate on a skipped section"
	skip_test "vec0 at ${VEC0_PATH:-default} has no IVF: IVF recall not measured"
}

# IVF sections: measured where the build under test has IVF; where it has none,
# reported as skipped (json, md, gate) and the recall checks skipped with the reason.
test_run_ivf_sections_measured_or_skipped() {
	need_run
	py 'print(json.load(open(sys.argv[1]))["vec0"]["ivf"])' "$E2E/results.json"
	[ "$OUT" = True ] || ivf_absent
	py '
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["sections"]}
for name in ("ivf-cf", "ivf-itt", "ivf-bulk", "ivf-builtin"):
    x = s[name]
    assert x["status"] == "ok", (name, x.get("reason"))
    b = x["build"]
    assert b["rows"] == 2000 and b["centroids"] == 32 and b["unassigned"] == 0, (name, b)
    pts = {p["nprobe"]: p for p in x["points"]}
    # nprobe = nlist scans every cell: exact up to ties
    assert pts[32]["recall_ties"] == 1.0, (name, pts[32])
    assert min(p["recall"] for p in pts.values()) >= 0.5, (name, pts)
cf = {p["nprobe"]: p["recall"] for p in s["ivf-cf"]["points"]}
assert cf[1] <= cf[4] <= cf[32] and cf[4] >= 0.9, cf
assert s["ivf-cf"]["build"]["kmeans"]["ntrain"] == 1000
assert s["ivf-itt"]["build"]["assign_s"] > 0 and s["ivf-itt"]["params"]["assign"] == "reinsert"
assert s["ivf-builtin"]["build"]["train_s"] > 0
# the same centroids (same sample and seed): the same recall as the table vec0 filled
bulk = s["ivf-bulk"]
assert bulk["params"]["order"] == "bulk" and bulk["build"]["insert_s"] > 0, bulk["build"]
assert {p["nprobe"]: p["recall"] for p in bulk["points"]} == cf, (bulk["points"], cf)
assert bulk["build"]["free_bytes"] == 0, bulk["build"]
print("ok")' "$E2E/results.json"
	expect_match "$OUT" '^ok$' "IVF figures"
	local md
	md=$(cat "$E2E/results.md")
	for row in "ivf-cf nprobe=1" "ivf-cf nprobe=4" "ivf-cf nprobe=32" "ivf-itt nprobe=32" \
		"ivf-bulk nprobe=4" "ivf-builtin nprobe=32"; do
		expect_match "$md" "^\| $row \| [0-9.]+ \([0-9.]+x (slower|faster)\) \| [0-9.]+ MiB \| [0-9.]+ \([0-9.]+x (slower|faster)\) \| [01]\.[0-9]{3} \|$" "row $row"
	done
	expect_status 0 "$VB" gate "$E2E/results.json" --config "$ROOT/configs/ci-small.ini" \
		--baseline "$E2E/results.json"
}

# vecbench's `trainer = ivftrain` is ivftrain: a kept section's table retrained by
# ivftrain with the same seed and options gives byte-identical centroids (the
# sample drawn from the table is the one vecbench drew from the dataset).
test_run_centroids_are_ivftrain_s() {
	need_run
	py 'print(json.load(open(sys.argv[1]))["vec0"]["ivf"])' "$E2E/results.json"
	[ "$OUT" = True ] || skip_test "vec0 at ${VEC0_PATH:-default} has no IVF"
	local dir=$RUN/same
	mkdir -p "$dir"
	printf '[dataset]\npath = %s\nqueries = 20\n[run]\nresults = %s\ndb_dir = %s\nkeep_db = 1\nseed = 77\n[ivf]\ntype = ivf\nnlist = 16\nnprobe = 4\nntrain = 700\nniter = 6\norder = bulk\n' \
		"$FM" "$dir/results" "$dir/db" >"$dir/same.ini"
	expect_status 0 "$VB" run "$dir/same.ini" --name same
	py 'print(json.load(open(sys.argv[1]))["sections"][0]["params"]["ntrain"])' \
		"$dir/results/fm/same/results.json"
	[ "$OUT" = 700 ] || fail "params.ntrain: $OUT"
	expect_status 0 "$BIN/ivftrain" --dry-run --nlist 16 --ntrain 700 --niter 6 \
		--seed 77 --save-centroids "$dir/c.h5" "$dir/db/ivf.sqlite"
	py '
import sqlite3, h5py, numpy as np
c = h5py.File(sys.argv[1], "r")["centroids"][:]
db = sqlite3.connect(sys.argv[2])
rows = db.execute("SELECT centroid FROM vecbench_ivf_centroids00 ORDER BY centroid_id").fetchall()
v = np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])
assert c.shape == v.shape == (16, 784), (c.shape, v.shape)
assert c.tobytes() == v.tobytes(), np.abs(c - v).max()
print("identical")' "$dir/c.h5" "$dir/db/ivf.sqlite"
	expect_match "$OUT" '^identical$' "ivftrain and vecbench centroids"
}

# ---- bad input -------------------------------------------------------------------

# bad_config NAME TEXT [RUN_KEYS]: a config in $RUN/NAME.ini whose results go to
# $RUN/bad, RUN_KEYS added to its [run] section.
bad_config() {
	printf '%b' "$2" >"$RUN/$1.ini"
	printf '[run]\nresults = %s\n%b' "$RUN/bad" "${3:-}" >>"$RUN/$1.ini"
}

test_run_bad_input_one_line_exit_2() {
	need_run
	"$PY" -c 'import h5py, sys
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "w") as b:
    for k in ("train", "test"): b[k] = a[k][:]
    for k, v in a.attrs.items(): b.attrs[k] = v' "$FM" "$RUN/nogt.hdf5" || fail "h5py copy"
	bad_config nogt "[dataset]\npath = $RUN/nogt.hdf5\n[flat]\ntype = flat\n"
	bad_config k "[dataset]\npath = $FM\nk = 101\n[flat]\ntype = flat\n"
	bad_config queries "[dataset]\npath = $FM\nqueries = 101\n[flat]\ntype = flat\n"
	bad_config metric "[dataset]\npath = $FM\n[flat]\ntype = flat\ndistance_metric = cosine\n"
	bad_config nlist "[dataset]\npath = $FM\n[i]\ntype = ivf\nnlist = 2001\n"
	bad_config missing "[dataset]\npath = $RUN/absent.hdf5\n[flat]\ntype = flat\n"
	bad_config syntax "[dataset]\npath = $FM\n[flat]\ntype = flat\nnlsit = 3\n"
	bad_config dbdir "[dataset]\npath = $FM\n[flat]\ntype = flat\ndb = $RUN/nodir/f.sqlite\n"
	printf '[dataset]\npath = %s\n[run]\nresults = %s/results/fm/e2e/results.md\n[flat]\ntype = flat\n' \
		"$FM" "$RUN" >"$RUN/unwritable.ini"
	local c want
	while IFS='|' read -r c want; do
		expect_status 2 "$VB" run "$RUN/$c.ini"
		expect_one_line "$ERR" "$c"
		expect_match "$ERR" "^vecbench: error: .*$want" "$c"
	done <<EOF
nogt|has no ground truth .*vecdata groundtruth
k|k.ini:3: k = 101 but .* has ground truth for 100 neighbours
queries|queries.ini:3: queries = 101 but .* has 100 test rows
metric|metric.ini:5: \[flat\] distance_metric = cosine, but the ground truth .* is euclidean
nlist|nlist.ini:5: \[i\] nlist = 2001 exceeds the 2000 train rows
missing|absent.hdf5
syntax|syntax.ini:5: unknown key "nlsit" in \[flat\]
dbdir|\[flat\] db .*/nodir/f.sqlite: folder .*/nodir does not exist
unwritable|cannot create results folder .*results.md
EOF
	expect_status 2 "${CI[@]}"
	expect_match "$ERR" '^vecbench: error: results folder .*/e2e already holds files' "rerun"
	expect_status 2 "$VB" run "$RUN/absent.ini"
	expect_status 2 "${CI[@]}" --queries 0
	[ ! -e "$RUN/bad" ] || fail "a results folder was made for bad input: $(ls -R "$RUN/bad")"
	[ -z "$(ls "$RUN/results/fm")" ] || [ "$(ls "$RUN/results/fm")" = e2e ] ||
		fail "extra results folders: $(ls "$RUN/results/fm")"
}

# A ground truth that `vecdata info` rejects is refused by `run` too, by the same
# checks, before any table is built: reversed distances, and ids shifted by one
# (in range, distinct, so only the brute-force spot check sees them).
test_run_refuses_ground_truth_vecdata_info_rejects() {
	need_run
	cp "$FM" "$RUN/reversed.hdf5"
	cp "$FM" "$RUN/wrongids.hdf5"
	py 'import h5py
f = h5py.File(sys.argv[1], "r+"); d = f["distances"][:]; f["distances"][:] = d[:, ::-1]
g = h5py.File(sys.argv[2], "r+"); n = g["train"].shape[0]; g["neighbors"][:] = (g["neighbors"][:] + 1) % n
print("ok")' "$RUN/reversed.hdf5" "$RUN/wrongids.hdf5"
	local f
	for f in reversed wrongids; do
		expect_status 1 "$VD" info "$RUN/$f.hdf5"
		printf '[dataset]\npath = %s\n[run]\nresults = %s\ndb_dir = %s\n[flat]\ntype = flat\n' \
			"$RUN/$f.hdf5" "$RUN/gt-results" "$RUN/gt-db" >"$RUN/gt-$f.ini"
		mkdir -p "$RUN/gt-db"
		expect_status 2 "$VB" run "$RUN/gt-$f.ini"
		expect_one_line "$ERR" "$f"
		expect_match "$ERR" "^vecbench: error: .*$f.hdf5: ground truth check failed \(first at query 0\).*vecdata info" "$f"
		[ -z "$(ls "$RUN/gt-db")" ] || fail "$f: a table was built: $(ls "$RUN/gt-db")"
	done
	[ ! -e "$RUN/gt-results" ] || fail "a results folder was made for a bad ground truth"
}

# A run that would skip every section (IVF sections, a vec0 without IVF) is bad
# input, not a complete run with nothing in it.
test_run_with_nothing_to_measure_exit_2() {
	need_run
	local npm=$ROOT/.deps/npm/node_modules/sqlite-vec-linux-x64/vec0.so
	[ -f "$npm" ] || skip_test "no npm vec0 build at $npm (scripts/install-deps)"
	printf '[dataset]\npath = %s\n[run]\nresults = %s\n[i]\ntype = ivf\nnlist = 8\n' \
		"$FM" "$RUN/ivfonly-results" >"$RUN/ivfonly.ini"
	expect_status 2 "$VB" run "$RUN/ivfonly.ini" --vec0 "$npm"
	expect_one_line "$ERR" "ivf only"
	expect_match "$ERR" 'every index section is IVF and vec0 v0\.1\.9 .* has no IVF index: nothing would be measured' "message"
	[ ! -e "$RUN/ivfonly-results" ] || fail "a results folder was made for a run that measures nothing"
}

test_run_existing_table_mismatch_exit_2() {
	need_run
	# a database whose table has another dimension, named by `db =`
	"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.enable_load_extension(True)
db.load_extension(sys.argv[2])
db.execute("create virtual table v using vec0(id integer primary key, emb float[8])")
db.commit()' "$RUN/other.db" "${VEC0_PATH:-/usr/local/lib/vec0.so}" 2>"$RUN/py.err" ||
		skip_test "this python's sqlite3 cannot load vec0: $(tail -1 "$RUN/py.err")"
	bad_config dim "[dataset]\npath = $FM\n[flat]\ntype = flat\n[old]\ntype = flat\ndb = $RUN/other.db\n"
	expect_status 2 "$VB" run "$RUN/dim.ini"
	expect_one_line "$ERR" "dimension mismatch"
	expect_match "$ERR" 'dim.ini:5: \[old\] db .*other.db: table v has dimension 8, .* need 784' "message"
	[ ! -e "$RUN/bad" ] || fail "results written for a mismatched table"
}

test_run_interrupted_marks_incomplete() {
	need_run
	# interruption: warm-up passes keep the run busy until SIGINT arrives
	bad_config slow "[dataset]\npath = $FM\n[flat]\ntype = flat\n" "name = slow\nwarmup = 100\n"
	"$VB" run "$RUN/slow.ini" >"$RUN/slow.out" 2>"$RUN/slow.err" &
	local pid=$! i
	for i in $(seq 100); do
		[ -e "$RUN/bad/fm/slow/results.json" ] && break
		sleep 0.1
	done
	kill -INT "$pid"
	wait "$pid"
	local rc=$?
	[ "$rc" -eq 130 ] || fail "interrupted run exited $rc: $(cat "$RUN/slow.err")"
	expect_match "$(cat "$RUN/slow.err")" 'interrupted .*results in .*slow are incomplete' "message"
	expect_match "$(cat "$RUN/bad/fm/slow/incomplete")" '^interrupted' "marker"
	py 'print(json.load(open(sys.argv[1]))["status"])' "$RUN/bad/fm/slow/results.json"
	[ "$OUT" = interrupted ] || fail "json status $OUT"
	expect_match "$(head -3 "$RUN/bad/fm/slow/results.md")" 'INCOMPLETE \(interrupted\)' "md banner"
	expect_status 2 "$VB" gate "$RUN/bad/fm/slow/results.json" --min-recall flat=1
}

# A run that fails on a full disk (a real one: a 20 MiB tmpfs with 4 MiB free
# for a 6 MiB table) leaves nothing in its work folder's place: no database, no
# journal, no folder.
test_run_full_disk_leaves_no_work_files() {
	need_run
	local m=$RUN/full
	mkdir -p "$m"
	mount -t tmpfs -o size=20m tmpfs "$m" 2>"$RUN/mount.err" ||
		skip_test "cannot mount a tmpfs (needs root): $(cat "$RUN/mount.err")"
	dd if=/dev/zero of="$m/filler" bs=1M count=16 2>/dev/null
	printf '[dataset]\npath = %s\n[run]\nresults = %s\n[flat]\ntype = flat\n' "$FM" \
		"$RUN/full-results" >"$RUN/full.ini"
	TMPDIR=$m expect_status 1 "$VB" run "$RUN/full.ini" --name full
	local left; left=$(ls -A "$m" | grep -vx filler)
	umount "$m"
	expect_match "$ERR" 'results in .*full are incomplete' "failure message"
	[ -z "$left" ] || fail "left on the full disk: $left"
}

# kill -9 cannot be caught: the next run finds the work folder of the dead run
# (its owner record names a pid that is gone), says so and removes it. Folders
# of live runs, of another pid namespace, and without an owner record stay; a
# live pid that is not the recorded process (another start time: the pid was
# reused) is gone.
test_run_after_kill_9_removes_dead_runs_folders() {
	need_run
	local t=$RUN/k9tmp
	mkdir -p "$t"
	printf '[dataset]\npath = %s\n[run]\nresults = %s\n[flat]\ntype = flat\n' "$FM" \
		"$RUN/k9-results" >"$RUN/k9.ini"
	# warm-up passes keep it busy querying until the kill
	sed 's/^\[run\]$/[run]\nwarmup = 100/' "$RUN/k9.ini" >"$RUN/k9-slow.ini"
	TMPDIR=$t "$VB" run "$RUN/k9-slow.ini" --name slow >/dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 200); do
		compgen -G "$t/vecbench.*/flat.sqlite" >/dev/null && break
		sleep 0.05
	done
	sleep 0.5
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	local dead; dead=$(ls -d "$t"/vecbench.*)
	[ -n "$dead" ] && [ -e "$dead/flat.sqlite" ] || fail "kill -9 left no work folder: the test proves nothing"
	mkdir "$t/vecbench.live" "$t/vecbench.kept" "$t/vecbench.reused"
	local ns; ns=$(stat -L -c %i /proc/self/ns/pid)
	echo "$$ $(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20) $ns" >"$t/vecbench.live/.owner"
	echo "$$ 1 $ns" >"$t/vecbench.reused/.owner"
	# a dead pid of another pid namespace (a container sharing the folder) is not judged
	mkdir "$t/vecbench.other-ns"
	echo "$pid 1 $((ns + 1))" >"$t/vecbench.other-ns/.owner"
	touch "$t/vecbench.kept/x.sqlite" "$t/vecbench.reused/x.sqlite"
	TMPDIR=$t expect_status 0 "$VB" run "$RUN/k9.ini" --name after
	expect_match "$ERR" "^vecbench: note: removed 2 work folders of runs that died \([0-9.]+ MiB\): " "note"
	expect_match "$ERR" "$dead \(pid $pid\)" "the dead run named"
	expect_match "$ERR" "vecbench\.reused \(pid $$\)" "the reused pid named"
	[ "$(ls "$t" | tr '\n' ' ')" = "vecbench.kept vecbench.live vecbench.other-ns " ] ||
		fail "left in $t: $(ls -A "$t")"
}

run_tests
