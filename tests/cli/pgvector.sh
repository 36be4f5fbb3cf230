#!/usr/bin/env bash
# tests/cli/pgvector.sh - vecbench's pgvector peers end to end on a 2,000-row
# Fashion-MNIST cut, each section in a PostgreSQL 15 server vecbench starts in
# its work folder (under TMPDIR here, so that what is left can be checked).
#
# At exhaustive settings both index types are exact (recall 1 with ties);
# halfvec storage takes less room than vector; rows fill the json, md
# (per-engine table), plot data and gate as every engine's do; with [pgvector]
# dsn an existing server holds the table only for the run. Faults are real:
# a dsn nobody listens on, a disk too small for initdb, the postmaster killed
# by SIGKILL while queries run, SIGINT to vecbench while it builds and while it
# queries: each is one line, the right exit status, and no folder and no
# PostgreSQL process left behind. Without PostgreSQL binaries or pgvector the
# sections are skipped with the reason; the tests that need them then skip,
# which IVFKIT_REQUIRE_IVF=1 (CI) turns into a failure.
. "$(dirname "$0")/lib.sh"

VB=$BIN/vecbench
VD=$BIN/vecdata
PY=/usr/bin/python3
PG_BIN=/usr/lib/postgresql/15/bin

FM=$TMP/fm.hdf5
"$VD" fashion-mnist "$FM" --train 2000 --test 50 >/dev/null 2>"$TMP/fm.err"
FM_RC=$?
FMC=$TMP/fmc/fm.hdf5
mkdir -p "$TMP/fmc" && cp "$FM" "$FMC" 2>/dev/null &&
	"$VD" groundtruth "$FMC" --metric angular >/dev/null 2>>"$TMP/fm.err" || FM_RC=1
# a tagged copy for filtered runs: tags on 10% and 1% of the rows (200, 20)
FMT=$TMP/fmt/fm.hdf5
mkdir -p "$TMP/fmt" && cp "$FM" "$FMT" 2>/dev/null &&
	"$VD" tags "$FMT" --selectivity 0.1,0.01 >/dev/null 2>>"$TMP/fm.err" &&
	"$VD" groundtruth "$FMT" --filter tags --k 10 >/dev/null 2>>"$TMP/fm.err" || FM_RC=1
HAS_PG=0
[ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] &&
	[ -f "$("$PG_BIN/pg_config" --sharedir 2>/dev/null)/extension/vector.control" ] && HAS_PG=1
# the server runs as an unprivileged user when we are root: it must reach
# the work folders through $TMP (mktemp: 0700)
chmod 711 "$TMP"
WD=$TMP/wd
mkdir -m 711 "$WD"

need_pg() {
	[ "$FM_RC" -eq 0 ] || { fail "fixture: $(cat "$TMP/fm.err")"; exit 1; }
	[ "$HAS_PG" = 1 ] || skip_test "no PostgreSQL 15 with pgvector in $PG_BIN (scripts/install-deps --bench)"
}

# head_ini DATASET [WARMUP] [KEYS]: [dataset] (with KEYS, printf %b), [vec0]
# and [run] of a config.
head_ini() {
	printf '[dataset]\npath = %s\n%b' "$1" "${3:-}"
	[ -z "${VEC0_PATH:-}" ] || printf '[vec0]\npath = %s\n' "$VEC0_PATH"
	printf '[run]\nwarmup = %s\n' "${2:-0}"
}

# left_behind: the work folders and PostgreSQL processes runs under $WD left
# (none once a run is over, whatever ended it; backends orphaned by a killed
# postmaster get 5 s to notice).
left_behind() {
	local i
	for i in $(seq 50); do
		pgrep -f "$WD/" >/dev/null || break
		sleep 0.1
	done
	ls -A "$WD"
	pgrep -af "$WD/"
}

# run_pg NAME DATASET SECTIONS [DATASET_KEYS]: vecbench run on head_ini
# DATASET + SECTIONS (printf %b) as $TMP/NAME.ini, results in $TMP/res/fm/NAME.
run_pg() {
	{
		head_ini "$2" 0 "${4:-}"
		printf '%b' "$3"
	} >"$TMP/$1.ini"
	TMPDIR=$WD "$VB" run "$TMP/$1.ini" --results "$TMP/res" --name "$1" >"$TMP/$1.out" 2>&1 ||
		{ fail "vecbench run exited $?: $(tail -3 "$TMP/$1.out")"; return 1; }
}

test_pgvector_ivfflat_exact_at_probes_eq_lists() {
	need_pg
	run_pg ivf "$FM" '[flat]\ntype = flat\n[pg-ivf]\ntype = pgvector-ivfflat\nlists = 16\nprobes = 1,4,16\n[gate]\nmin_recall = pg-ivf@16=1.0\n' || return
	local dir=$TMP/res/fm/ivf
	py_out=$("$PY" - "$dir/results.json" <<'PY' 2>&1
import sys, json
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["sections"]}["pg-ivf"]
assert s["status"] == "ok" and s["type"] == "pgvector-ivfflat" and s["sweep"] == "probes", s
assert s["params"]["lists"] == 16 and s["params"]["probes"] == [1, 4, 16], s["params"]
assert s["params"]["storage"] == "vector", s["params"]
b = s["build"]
# rows as float32 and the lists: at least the vectors themselves
assert b["file_bytes"] >= 2000 * 784 * 4 and b["rows"] == 2000, b
assert b["insert_s"] > 0 and b["index_s"] > 0 and b["total_s"] >= b["insert_s"] + b["index_s"], b
assert "pgvector 0.8" in b["engine"] and "shared_buffers 1GB" in b["engine"], b["engine"]
p = {q["nprobe"]: q for q in s["points"]}
assert p[16]["recall_ties"] == 1.0 and p[16]["recall"] == 1.0, p[16]
assert p[1]["recall"] < p[16]["recall"], p[1]
assert len(p[16]["latency_ms"]) == 50 and min(p[16]["latency_ms"]) > 0
print("ok")
PY
)
	expect_match "$py_out" '^ok$' "pgvector-ivfflat figures"
	local md
	md=$(cat "$dir/results.md")
	expect_match "$md" '^\| pgvector \| 0\.99 \| pg-ivf probes=(4|16) \| [0-9.]+ \| (0\.99|1\.00)[0-9]* \| [0-9.]+ \| [0-9.]+ MiB \|$' "per-engine row"
	expect_match "$md" '^\| pg-ivf \| pgvector-ivfflat lists=16 \|' "build row"
	expect_match "$md" '^- pg-ivf: PostgreSQL 15\.[0-9]+.*, pgvector 0\.8\.[0-9]+, a server of its own' "engine note"
	expect_match "$(cat "$dir/recall-latency.dat")" '^# pg-ivf: ' "plot data"
	expect_status 0 "$VB" gate "$dir/results.json" --config "$TMP/ivf.ini"
	expect_match "$OUT" '^PASS  min recall pg-ivf@16: 1\.0000' "gate on a pgvector point"
	[ -z "$(left_behind)" ] || fail "left behind: $(left_behind)"
}

# cosine (<=>): HNSW exact with ef_search far above k on 2,000 rows; halfvec
# (Fashion-MNIST's integer pixels are exact in half precision) takes less room
test_pgvector_hnsw_cosine_halfvec_exact() {
	need_pg
	run_pg hnsw "$FMC" '[hnsw]\ntype = pgvector-hnsw\nef_search = 10,1000\n[hnsw-half]\ntype = pgvector-hnsw\nm = 8\nef_construction = 32\nef_search = 10,1000\nstorage = halfvec\n' || return
	py_out=$("$PY" - "$TMP/res/fm/hnsw/results.json" <<'PY' 2>&1
import sys, json
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["sections"]}
v, h = s["hnsw"], s["hnsw-half"]
for x in (v, h):
    assert x["status"] == "ok" and x["sweep"] == "ef_search", x
    assert x["params"]["distance_metric"] == "cosine", x["params"]
    p = {q["nprobe"]: q for q in x["points"]}
    assert p[1000]["recall_ties"] == 1.0 and p[1000]["inexact_queries"] == 0, (x["name"], p[1000])
assert v["params"]["m"] == 16 and v["params"]["ef_construction"] == 64, v["params"]
assert h["params"]["m"] == 8 and h["params"]["storage"] == "halfvec", h["params"]
assert "storage halfvec" in h["build"]["engine"], h["build"]["engine"]
assert h["build"]["file_bytes"] < v["build"]["file_bytes"], (h["build"], v["build"])
print("ok")
PY
)
	expect_match "$py_out" '^ok$' "pgvector-hnsw figures"
	[ -z "$(left_behind)" ] || fail "left behind: $(left_behind)"
}

# A filtered run (WHERE label = $2): with pgvector's iterative scan (relaxed
# order by default, re-sorted in a materialized CTE; strict on hnsw) every query
# gets its rows, and hnsw with a high ef_search is near exact; without it, the
# 40 candidates of hnsw hold ~0.4 rows of a 1% tag and ivfflat's one list of 16
# ~1.25: under-k shows and is counted, per class and in total. The plan the
# queries ran scans the vector index, and is recorded with the planner's own
# choice for a literal query at the rarest tag.
test_pgvector_filtered_iterative_scans() {
	need_pg
	local s='[hnsw]\ntype = pgvector-hnsw\nef_search = 10,200\n'
	s+='[hnsw-strict]\ntype = pgvector-hnsw\nef_search = 40\niterative_scan = strict_order\n'
	s+='[hnsw-off]\ntype = pgvector-hnsw\nef_search = 40\niterative_scan = off\n'
	s+='[ivf]\ntype = pgvector-ivfflat\nlists = 16\nprobes = 1\n'
	s+='[ivf-off]\ntype = pgvector-ivfflat\nlists = 16\nprobes = 1\niterative_scan = off\n'
	s+='[ivf-planner]\ntype = pgvector-ivfflat\nlists = 16\nprobes = 1\nfilter_plan = planner\n'
	run_pg filtered "$FMT" "$s" 'filter = tags\n' || return
	py_out=$("$PY" - "$TMP/res/fm/filtered/results.json" <<'PY' 2>&1
import sys, json
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["sections"]}
def pts(name):
    x = s[name]
    assert x["status"] == "ok", x
    return {p["nprobe"]: p for p in x["points"]}
def cls(p):
    f = p["filtered"]
    c = {c["selectivity_class"]: c for c in f["classes"]}
    assert sorted(c) == ["1%", "10%"] and c["1%"]["queries"] == 25, c
    assert sum(x["under_k"] for x in c.values()) == f["under_k"], f
    assert abs(f["under_k_rate"] - f["under_k"] / 50) < 1e-12, f
    return f, c
# iterative scans: no query short, hnsw near exact
for name, sweep in (("hnsw", 10), ("hnsw", 200), ("hnsw-strict", 40), ("ivf", 1)):
    f, c = cls(pts(name)[sweep])
    assert f["under_k"] == 0, (name, sweep, f)
p = pts("hnsw")[200]
assert p["recall"] >= 0.99 and min(x["recall"] for x in cls(p)[1].values()) >= 0.98, p
assert pts("hnsw-strict")[40]["recall"] >= 0.95, pts("hnsw-strict")
# without: most 1% queries come back short, and their recall with them
for name, sweep in (("hnsw-off", 40), ("ivf-off", 1)):
    f, c = cls(pts(name)[sweep])
    assert c["1%"]["under_k"] >= 15 and c["1%"]["recall"] < 0.5, (name, c["1%"])
    assert f["under_k"] >= c["1%"]["under_k"], f
assert cls(pts("hnsw-off")[40])[1]["10%"]["under_k"] >= 20, pts("hnsw-off")
par = {n: s[n]["params"] for n in s}
assert par["hnsw"]["iterative_scan"] == "relaxed_order" and par["hnsw"]["max_scan_tuples"] == 20000, par["hnsw"]
assert par["hnsw"]["scan_mem_multiplier"] == 1 and par["hnsw-off"]["iterative_scan"] == "off", par
assert par["ivf"]["iterative_scan"] == "relaxed_order" and par["ivf"]["max_probes"] == 32768, par["ivf"]
b = s["hnsw"]["build"]
assert "WHERE label = $2 with a b-tree on label, hnsw.iterative_scan = relaxed_order, hnsw.max_scan_tuples = 20000" in b["engine"], b["engine"]
# 2,000 rows: the planner would sort what the b-tree finds, for any tag
own = "Sort > CTE r > Limit > Sort > Bitmap Heap Scan on vecbench_hnsw > Bitmap Index Scan on vecbench_hnsw_label_idx > CTE Scan on r"
assert b["plan"] == "Sort > CTE r > Limit > Index Scan using vecbench_hnsw_emb_idx on vecbench_hnsw > CTE Scan on r, with enable_sort = off: the planner's own choice was " + own + "; a literal query for the rarest label (20 rows, 1%) is planned through the b-tree on label, then a sort: exact (" + own + ")", b["plan"]
assert b["index_s"] > 0, b
# the planner's own plan on 2,000 rows: the b-tree and a sort, exact for every tag
f, c = cls(pts("ivf-planner")[1])
assert f["under_k"] == 0 and pts("ivf-planner")[1]["recall"] == 1.0, f
assert par["ivf-planner"]["filter_plan"] == "planner" and par["ivf"]["filter_plan"] == "index", par
assert s["ivf-planner"]["build"]["plan"].startswith("each query planned by PostgreSQL for its own label (custom plans); at the rarest label (20 rows, 1%) through the b-tree on label, then a sort: exact ("), s["ivf-planner"]["build"]["plan"]
assert s["hnsw-off"]["build"]["plan"].startswith('Limit > Index Scan using "vecbench_hnsw-off_emb_idx"'), s["hnsw-off"]["build"]["plan"]
assert s["ivf-off"]["build"]["engine"].endswith("WHERE label = $2 with a b-tree on label, ivfflat.iterative_scan = off"), s["ivf-off"]["build"]
assert s["ivf"]["build"]["engine"].endswith("ivfflat.iterative_scan = relaxed_order, ivfflat.max_probes = 32768"), s["ivf"]["build"]
print("ok")
PY
)
	expect_match "$py_out" '^ok$' "filtered pgvector figures"
	local md
	md=$(cat "$TMP/res/fm/filtered/results.md")
	expect_match "$md" '^- ivf plan: Sort > CTE r > Limit > Index Scan using vecbench_ivf_emb_idx' "plan note"
	expect_match "$md" '^\| hnsw-off ef_search=40 \| pgvector HNSW \+ WHERE, no iterative scan \| [0-9.]+ \| [0-9.]+ \| 0\.[0-9]+ \| [0-9.]+% \|$' "per-class row"
	expect_match "$md" '^\| 10% \| pgvector HNSW \+ WHERE, iterative relaxed \| hnsw ef_search=(10|200) \|' "fastest table"
	expect_match "$md" '^\| 1% \| pgvector HNSW \+ WHERE, iterative strict \| hnsw-strict ef_search=40 \|' "fastest table"
	expect_match "$md" "^\\| 1% \\| pgvector IVFFlat \\+ WHERE, planner's plan, iterative relaxed \\| ivf-planner probes=1 \\| [0-9.]+ \\| [0-9.]+ \\| 1\\.0000 \\| 0\\.0% \\|$" "fastest table"
	[ -z "$(left_behind)" ] || fail "left behind: $(left_behind)"
}

test_pgvector_dsn_refused_one_line_exit_1() {
	need_pg
	{
		head_ini "$FM"
		printf '[pgvector]\ndsn = host=%s port=1 connect_timeout=5\n' "$TMP/nobody-here"
		printf '[pg]\ntype = pgvector-hnsw\n'
	} >"$TMP/refused.ini"
	expect_status 1 "$VB" run "$TMP/refused.ini" --results "$TMP/res" --name refused
	expect_one_line "$ERR" "refused dsn"
	expect_match "$ERR" '^vecbench: error: cannot connect to PostgreSQL: .*nobody-here' "refused dsn"
}

# [pgvector] dsn: an existing server (started here as PostgreSQL's own tools
# would); the section's table is made there and dropped after, and one of that
# name already there is refused and left as it was
test_pgvector_dsn_existing_server() {
	need_pg
	local srv=$TMP/srv as=()
	mkdir -m 700 "$srv"
	if [ "$(id -u)" -eq 0 ]; then
		local user=postgres
		id postgres >/dev/null 2>&1 || user=nobody
		chown "$user" "$srv"
		as=(runuser -u "$user" --)
	fi
	"${as[@]}" "$PG_BIN/initdb" -D "$srv/data" -U ivfkit -A trust --no-sync >"$TMP/srv.log" 2>&1 ||
		{ fail "initdb: $(tail -2 "$TMP/srv.log")"; return; }
	"${as[@]}" "$PG_BIN/pg_ctl" -D "$srv/data" -w -l "$srv/log" \
		-o "-k $srv -c listen_addresses=" start >>"$TMP/srv.log" 2>&1 ||
		{ fail "pg_ctl start: $(tail -2 "$TMP/srv.log")"; return; }
	local psql=("$PG_BIN/psql" -h "$srv" -U ivfkit -d postgres -Atc)
	run_pg dsn "$FM" "[pgvector]\ndsn = host=$srv user=ivfkit dbname=postgres\n[pg]\ntype = pgvector-hnsw\nef_search = 1000\n"
	expect_match "$(cat "$TMP/dsn.out")" '^\[pg\] built in .* ef_search=1000 [0-9.]+ ms recall@10 1\.0000$' "dsn run"
	expect_match "$(json 'd["sections"][0]["build"]["engine"]' <"$TMP/res/fm/dsn/results.json")" \
		'the server at \[pgvector\] dsn' "engine note"
	[ "$("${psql[@]}" "SELECT count(*) FROM pg_class WHERE relname LIKE 'vecbench%'")" = 0 ] ||
		fail "the table was left on the server"
	"${psql[@]}" "CREATE TABLE vecbench_pg (x int); INSERT INTO vecbench_pg VALUES (7)" >/dev/null
	expect_status 1 "$VB" run "$TMP/dsn.ini" --results "$TMP/res" --name dsn2
	expect_one_line "$ERR" "a table already there"
	expect_match "$ERR" 'creating the table: ERROR: relation "vecbench_pg" already exists' "a table already there"
	[ "$("${psql[@]}" "SELECT x FROM vecbench_pg")" = 7 ] || fail "the table already there was touched"
	"${as[@]}" "$PG_BIN/pg_ctl" -D "$srv/data" -w -m immediate stop >>"$TMP/srv.log" 2>&1
}

# no server binaries in [pgvector] bin: the section is skipped with the reason,
# the rest of the run goes on
test_pgvector_no_server_skipped_with_reason() {
	[ "$FM_RC" -eq 0 ] || { fail "fixture: $(cat "$TMP/fm.err")"; exit 1; }
	mkdir -p "$TMP/nobin"
	{
		head_ini "$FM"
		printf '[pgvector]\nbin = %s\n' "$TMP/nobin"
		printf '[flat]\ntype = flat\n[pg]\ntype = pgvector-ivfflat\nlists = 8\n'
	} >"$TMP/nobin.ini"
	expect_status 0 "$VB" run "$TMP/nobin.ini" --results "$TMP/res" --name nobin
	expect_match "$OUT" "^\[pg\] skipped: no PostgreSQL server at $TMP/nobin/initdb" "skip reason"
}

# initdb on a full disk: one line, exit 1, nothing left on it
test_pgvector_initdb_fails_on_full_disk() {
	need_pg
	mount_tmpfs "$TMP/tiny" 4 || return
	{
		head_ini "$FM"
		printf '[pg]\ntype = pgvector-ivfflat\nlists = 8\n'
	} >"$TMP/tiny.ini"
	TMPDIR=$TMP/tiny expect_status 1 "$VB" run "$TMP/tiny.ini" --results "$TMP/res" --name tiny
	local left
	left=$(ls -A "$TMP/tiny")
	umount "$TMP/tiny"
	expect_one_line "$ERR" "initdb on a full disk"
	expect_match "$ERR" 'initdb failed .*No space left on device' "initdb on a full disk"
	[ -z "$left" ] || fail "left on the disk: $left"
}

# long_ini: a query phase of several seconds (50 queries x 16 probes x 11 passes)
long_ini() {
	head_ini "$FM" 10
	printf '[pg]\ntype = pgvector-ivfflat\nlists = 16\nprobes = %s\n' "$(seq -s, 1 16)"
}

# wait_for WHAT: polls (30 s at most) until the run under $WD reaches WHAT:
# "up" (its postmaster runs) or "query" (its queries run); prints the
# postmaster's pid.
wait_for() {
	local i data pid q
	for i in $(seq 600); do
		data=$(ls -d "$WD"/vecbench.*/pg*/data 2>/dev/null | head -1)
		pid=$(head -1 "$data/postmaster.pid" 2>/dev/null)
		if [ -n "$pid" ]; then
			[ "$1" = up ] && { echo "$pid"; return; }
			q=$("$PG_BIN/psql" -h "${data%/data}" -U ivfkit -d postgres -Atc \
				"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT id FROM%'" 2>/dev/null)
			[ "${q:-0}" -gt 0 ] && { echo "$pid"; return; }
		fi
		sleep 0.05
	done
}

test_pgvector_server_killed_mid_query() {
	need_pg
	long_ini >"$TMP/long.ini"
	TMPDIR=$WD "$VB" run "$TMP/long.ini" --results "$TMP/res" --name killed >"$TMP/k.out" 2>"$TMP/k.err" &
	local vb=$! pm
	pm=$(wait_for query)
	[ -n "$pm" ] || { kill -INT $vb; wait $vb; fail "the query phase never started: $(cat "$TMP/k.err")"; return; }
	kill -9 "$pm"
	wait $vb
	local rc=$?
	[ $rc -eq 1 ] || fail "exit $rc after the server died, expected 1: $(cat "$TMP/k.err")"
	expect_one_line "$(cat "$TMP/k.err")" "server killed"
	expect_match "$(cat "$TMP/k.err")" 'query: the PostgreSQL server is gone' "server killed"
	[ -z "$(left_behind)" ] || fail "left behind: $(left_behind)"
}

# SIGINT while the server starts or builds, and while queries run: exit 130,
# the cluster stopped and removed
test_pgvector_sigint_stops_and_removes_the_server() {
	need_pg
	long_ini >"$TMP/long.ini"
	local when vb pm rc
	for when in up query; do
		TMPDIR=$WD "$VB" run "$TMP/long.ini" --results "$TMP/res" --name "int-$when" >"$TMP/i.out" 2>"$TMP/i.err" &
		vb=$!
		pm=$(wait_for $when)
		[ -n "$pm" ] || fail "$when: never reached"
		kill -INT $vb
		wait $vb
		rc=$?
		[ $rc -eq 130 ] || fail "$when: exit $rc after SIGINT, expected 130: $(cat "$TMP/i.err")"
		expect_one_line "$(cat "$TMP/i.err")" "$when"
		expect_match "$(cat "$TMP/i.err")" 'interrupted' "$when"
		[ -z "$(left_behind)" ] || fail "$when: left behind: $(left_behind)"
	done
}

test_pgvector_bad_keys_file_line_exit_2() {
	[ "$FM_RC" -eq 0 ] || { fail "fixture: $(cat "$TMP/fm.err")"; exit 1; }
	local head="[dataset]\npath = $FM\n"
	local cases=(
		"[p]\ntype = pgvector-hnsw\nlists = 8\n|:5: lists does not apply to \[p\] \(type = pgvector-hnsw\)"
		"[p]\ntype = pgvector-hnsw\nprobes = 2\n|:5: probes does not apply to \[p\] \(type = pgvector-hnsw\)"
		"[p]\ntype = pgvector-ivfflat\nef_search = 40\n|:5: ef_search does not apply to \[p\] \(type = pgvector-ivfflat\)"
		"[p]\ntype = pgvector-ivfflat\nm = 8\n|:5: m does not apply to \[p\] \(type = pgvector-ivfflat\)"
		"[p]\ntype = flat\nstorage = halfvec\n|:5: storage does not apply to \[p\] \(type = flat\)"
		"[p]\ntype = pgvector-ivfflat\nnprobe = 2\n|:5: nprobe does not apply to \[p\] \(type = pgvector-ivfflat\)"
		"[p]\ntype = pgvector-hnsw\nstorage = float\n|:5: storage: \"float\" is not one of vector"
		"[p]\ntype = pgvector-ivfflat\nlists = 8\nprobes = 1,9\n|:6: probes 9 exceeds lists 8"
		"[p]\ntype = pgvector-hnsw\nm = 40\n|:5: ef_construction 64 is less than 2 x m = 80"
		"[p]\ntype = pgvector-hnsw\nef_search = 0\n|:5: ef_search: \"0\" is not an integer in \[1, 1000\]"
		"[p]\ntype = pgvector-hnsw\ncolor = red\n|:5: unknown key \"color\" in \[p\]"
		"[pgvector]\nshared_buffers = lots\n[p]\ntype = pgvector-hnsw\n|:4: shared_buffers: \"lots\" is not a size"
		"[pgvector]\nport = 5432\n[p]\ntype = pgvector-hnsw\n|:4: unknown key \"port\" in \[pgvector\]"
		"[pgvector]\ndsn = host=/x\nshared_buffers = 2GB\n[p]\ntype = pgvector-hnsw\n|:5: shared_buffers applies to the server vecbench starts, not to dsn = \(line 4\)"
	)
	expect_bad_configs "$head" "${cases[@]}"
	# the iterative scan keys: a filtered run's, each as pgvector takes it
	cases=(
		"[p]\ntype = pgvector-hnsw\niterative_scan = off\n|:5: iterative_scan applies to a filtered run only"
		"[p]\ntype = pgvector-ivfflat\nmax_probes = 4\n|:5: max_probes applies to a filtered run only"
		"[p]\ntype = pgvector-hnsw\nfilter_plan = planner\n|:5: filter_plan applies to a filtered run only"
	)
	expect_bad_configs "$head" "${cases[@]}"
	cases=(
		"[p]\ntype = pgvector-ivfflat\niterative_scan = strict_order\n|:6: iterative_scan = strict_order: pgvector's ivfflat scans off or relaxed_order only"
		"[p]\ntype = pgvector-hnsw\niterative_scan = off\nmax_scan_tuples = 100\n|:7: max_scan_tuples applies with iterative_scan on, not off \(line 6\)"
		"[p]\ntype = pgvector-hnsw\nmax_probes = 4\n|:6: max_probes does not apply to \[p\] \(type = pgvector-hnsw\)"
		"[p]\ntype = pgvector-ivfflat\nmax_scan_tuples = 4\n|:6: max_scan_tuples does not apply to \[p\] \(type = pgvector-ivfflat\)"
		"[p]\ntype = pgvector-hnsw\niterative_scan = sometimes\n|:6: iterative_scan: \"sometimes\" is not one of off . relaxed_order . strict_order"
		"[p]\ntype = pgvector-hnsw\nfilter_plan = maybe\n|:6: filter_plan: \"maybe\" is not one of index . planner"
		"[p]\ntype = flat\nfilter_plan = planner\n|:6: filter_plan does not apply to \[p\] \(type = flat\)"
		"[p]\ntype = pgvector-hnsw\nscan_mem_multiplier = 0.5\n|:6: scan_mem_multiplier: \"0.5\" is not a number in \[1, 1000\]"
	)
	expect_bad_configs "[dataset]\npath = $FMT\nfilter = tags\n" "${cases[@]}"
}

run_tests
