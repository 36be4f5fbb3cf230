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
