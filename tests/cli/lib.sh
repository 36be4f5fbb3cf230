# tests/cli/lib.sh - helpers for CLI tests: run programs on small real files, check
# exit codes and outputs, and print results in cmocka's format so tests/run counts
# them with the unit tests. Source it, define test_* functions, end with `run_tests`.
set -u
BIN=${IVFKIT_BIN:?run through make test}
ROOT=${IVFKIT_ROOT:-$PWD}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ivfkit-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# The Python helpers' shared module (vec0db.py) is importable from any of them.
export PYTHONPATH="$ROOT/tests/cli${PYTHONPATH:+:$PYTHONPATH}"

sha() { sha256sum "$1" | cut -d' ' -f1; }
# json EXPR: evaluates EXPR over the JSON on stdin (as d).
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# has_ivf VEC0 PY: prints 1 when that vec0 build creates IVF tables, else 0.
has_ivf() { "$2" -c 'import sys, vec0db; print(vec0db.has_ivf(sys.argv[1]))' "$1"; }

# mount_tmpfs DIR MIB: a real MIB MiB tmpfs at DIR (needs root); false when none.
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o size="$2"m tmpfs "$1" || fail "cannot mount a tmpfs (needs root)"
	mountpoint -q "$1"
}
# fill_tmpfs DIR MIB FREE FILE: a filler beside FILE leaving FREE of the MIB MiB.
fill_tmpfs() {
	head -c $(( ($2 - $3) * 1048576 - $(stat -c %s "$4") )) /dev/zero >"$1/filler" 2>/dev/null
}

# expect_rolled_back RC DB SHA WHAT: a write that exited RC on a full disk must
# have failed (exit 1) with one line saying it rolled back, and left DB as SHA
# with no journal.
expect_rolled_back() {
	[ "$1" -eq 1 ] || fail "$4: exit $1"
	expect_one_line "$ERR" "$4"
	expect_match "$ERR" "rolled back, the database is unchanged" "$4"
	[ "$(sha "$2")" = "$3" ] || fail "$4: database changed"
	[ ! -e "$2-journal" ] || fail "$4: journal left behind"
}

# start_holder MARKER CMD...: runs CMD in the background, a lock holder that touches
# MARKER once it holds its lock, and waits until it does (5 s at most); its pid in
# $HOLDER. stop_holder ends it.
start_holder() {
	local marker=$1; shift
	rm -f "$marker"
	"$@" &
	HOLDER=$!
	for _ in $(seq 100); do [ -e "$marker" ] && break; sleep 0.05; done
}
stop_holder() { kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null || true; }

# kill_9_points N ORIG DB CHECK_NEW CMD...: CMD (a program, not a shell function,
# so that the kill reaches it) run on fresh copies of ORIG at DB and killed with
# SIGKILL at seeded random points of its run time (timed by one run to completion
# first), until N kills have landed inside the write transaction (a hot journal is
# left), in at most 4 x N runs. Each kill inside must leave, once the journal is
# played back, ORIG byte for byte; a kill after COMMIT the new state, which
# CHECK_NEW (a command on DB) confirms, as it does after the timing run.
kill_9_points() {
	local n=$1 orig=$2 db=$3 check_new=$4; shift 4
	local before; before=$(sha "$orig")
	cp "$orig" "$db"
	local t0; t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || fail "$*: exit $? without a kill"
	local wall; wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
	"$check_new" || fail "$*: new state wrong without a kill"
	local inside=0 runs=0 after=0 at pid
	for at in $(awk -v w="$wall" -v m=$((4 * n)) 'BEGIN { srand(1); for (i = 0; i < m; i++) printf "%.3f\n", w * rand() }'); do
		[ $inside -lt "$n" ] || break
		runs=$((runs + 1))
		cp "$orig" "$db"
		rm -f "$db-journal"
		"$@" >/dev/null 2>&1 &
		pid=$!
		sleep "$at"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		if [ -e "$db-journal" ]; then
			inside=$((inside + 1))
			python3 -c 'import sys, vec0db; vec0db.recover(sys.argv[1])' "$db" ||
				fail "kill at $at s: cannot open the database"
			[ "$(sha "$db")" = "$before" ] || fail "kill at $at s: the old state was not restored"
		elif [ "$(sha "$db")" != "$before" ]; then
			after=$((after + 1))
			"$check_new" || fail "kill at $at s: new state wrong"
		fi
	done
	echo "  run $wall s; $runs kills: $inside inside the write transaction, $after after COMMIT"
	[ $inside -ge "$n" ] || fail "only $inside of $runs kills landed inside the write"
}

# fail MSG: the current test fails (the rest of it still runs).
fail() { echo "  FAIL: $*"; }

# expect_status N CMD...: runs CMD, keeps stdout in $OUT and stderr in $ERR.
expect_status() {
	local want=$1; shift
	"$@" >"$TMP/.out" 2>"$TMP/.err"
	local rc=$?
	OUT=$(cat "$TMP/.out"); ERR=$(cat "$TMP/.err")
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want; stderr: $ERR"
}
# expect_match TEXT REGEX WHAT
expect_match() { grep -Eq -- "$2" <<<"$1" || fail "$3: no match for /$2/ in: $1"; }
# expect_one_line TEXT WHAT: an error message must be exactly one line.
expect_one_line() { [ "$(printf '%s\n' "$1" | grep -c .)" -eq 1 ] || fail "$2: not one line: $1"; }

# expect_bad_configs HEAD CASE...: each CASE "TEXT|REGEX" is a config (HEAD then
# TEXT, through printf %b) that vecbench run refuses before any work: exit 2,
# one line matching FILE REGEX (FILE:LINE: ...), and no results folder made.
expect_bad_configs() {
	local head=$1 i=0 c; shift
	for c in "$@"; do
		printf '%b' "$head${c%%|*}" >"$TMP/bad$i.ini"
		expect_status 2 "$BIN/vecbench" run "$TMP/bad$i.ini" --results "$TMP/bad"
		expect_one_line "$ERR" "case $i"
		expect_match "$ERR" "bad$i\.ini${c##*|}" "case $i"
		i=$((i + 1))
	done
	[ ! -e "$TMP/bad" ] || fail "a results folder was made for a bad config"
}

run_tests() {
	local tests=() passed=0 failed=() skipped=()
	tests=($(declare -F | awk '{print $3}' | grep '^test_'))
	echo "[==========] Running ${#tests[@]} test(s)."
	for t in "${tests[@]}"; do
		echo "[ RUN      ] $t"
		( "$t" ) > "$TMP/.log" 2>&1
		local rc=$?
		cat "$TMP/.log"
		if grep -q '^  FAIL: ' "$TMP/.log" || { [ $rc -ne 0 ] && [ $rc -ne 77 ]; }; then
			echo "[  FAILED  ] $t"; failed+=("$t")
		elif [ $rc -eq 77 ]; then
			echo "[  SKIPPED ] $t"; skipped+=("$t")
		else
			echo "[       OK ] $t"; passed=$((passed + 1))
		fi
	done
	echo "[==========] ${#tests[@]} test(s) run."
	echo "[  PASSED  ] $passed test(s)."
	if [ ${#skipped[@]} -gt 0 ]; then
		echo "[  SKIPPED ] ${#skipped[@]} test(s), listed below:"
		printf '[  SKIPPED ] %s\n' "${skipped[@]}"
	fi
	if [ ${#failed[@]} -gt 0 ]; then
		echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
		printf '[  FAILED  ] %s\n' "${failed[@]}"
		return 1
	fi
	return 0
}

# skip_test REASON: ends the current test as skipped, printing the reason.
skip_test() { echo "  SKIP: $*"; exit 77; }
