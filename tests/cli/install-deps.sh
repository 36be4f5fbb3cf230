#!/usr/bin/env bash
# tests/cli/install-deps.sh - scripts/install-deps' from-source IVF build: a release source is
# built, proven (vec_version() is the tag, an IVF table can be created) and moved into place;
# a proven build is kept; a wrong source (another tag, another project, not an archive, a
# failing build) gets one line naming it, a non-zero exit and nothing under the prefix. Each
# case installs into its own temporary prefix (SQLITE_VEC_PREFIX), never /usr/local. And the
# tools, told nothing, load the newest build install-deps put in /usr/local/lib/sqlite-vec.
. "$(dirname "$0")/lib.sh"

DEPS=$ROOT/scripts/install-deps
TAG=v0.1.10-alpha.3
# The release sources: what CI passes, else the vendor folder beside the repo.
SRC=${SQLITE_VEC_SRC:-$ROOT/../shared/vendor}
TARBALL=$SRC/sqlite-vec-${TAG#v}.tar.gz
# Upstream git unreachable, whatever the machine's network: "no source" is then certain.
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=url.file:///nonexistent/.insteadOf \
	GIT_CONFIG_VALUE_0=https://github.com/

need_tarball() { [ -f "$TARBALL" ] || skip_test "no sqlite-vec $TAG release tarball at $TARBALL (set SQLITE_VEC_SRC)"; }

# expect_refused WHAT SRC REGEX: install-deps with SQLITE_VEC_SRC=SRC exits 1 with one line
# matching REGEX and leaves the prefix empty.
expect_refused() {
	local prefix="$TMP/prefix.$RANDOM"
	expect_status 1 env SQLITE_VEC_PREFIX="$prefix" SQLITE_VEC_SRC="$2" "$DEPS"
	expect_one_line "$ERR" "$1"
	expect_match "$ERR" "$3" "$1"
	[ -z "$(ls -A "$prefix" 2>/dev/null)" ] || fail "$1: left $(ls -A "$prefix") under the prefix"
}

test_builds_proves_and_keeps() {
	need_tarball
	local prefix="$TMP/prefix"
	expect_status 0 env SQLITE_VEC_PREFIX="$prefix" SQLITE_VEC_SRC="$SRC" "$DEPS"
	expect_match "$OUT" "installed $prefix/$TAG/vec0.so \\(vec_version $TAG, IVF: yes\\)" "first run"
	local so="$prefix/$TAG/vec0.so"
	[ -f "$so" ] || { fail "no $so"; return; }
	# the build really has IVF: a table is created, trained by hand and queried
	local got
	got=$(sqlite3 :memory: ".load $so" "SELECT vec_version();" \
		"CREATE VIRTUAL TABLE t USING vec0(v float[2] indexed by ivf(nlist=1));" \
		"INSERT INTO t(t, v) VALUES ('set-centroid:0', vec_f32('[0,0]'));" \
		"INSERT INTO t(rowid, v) VALUES (1, '[1,1]'), (2, '[5,5]');" \
		"SELECT rowid FROM t WHERE v MATCH '[4,4]' AND k = 1;" 2>&1)
	[ "$got" = "$TAG"$'\n'"2" ] || fail "the installed build did not answer as $TAG with IVF: $got"
	expect_match "$(cat "$prefix/$TAG/BUILD-INFO")" "SQLITE_VEC_EXPERIMENTAL_IVF_ENABLE=1 from SQLITE_VEC_SRC=$TARBALL" \
		"BUILD-INFO"
	[ -z "$(ls -A "$prefix" | grep -v "^$TAG\$")" ] || fail "staging left under the prefix: $(ls -A "$prefix")"
	local before
	before=$(stat -c %Y.%i "$so")
	expect_status 0 env SQLITE_VEC_PREFIX="$prefix" SQLITE_VEC_SRC=/nonexistent "$DEPS"
	[ "$(stat -c %Y.%i "$so")" = "$before" ] || fail "a proven build was rebuilt"
	expect_match "$OUT" "^install-deps: ok$" "second run"
}

test_no_source_goes_on_flat_only() {
	local prefix="$TMP/prefix.none"
	expect_status 0 env -u SQLITE_VEC_SRC SQLITE_VEC_PREFIX="$prefix" "$DEPS"
	expect_match "$OUT" "no IVF-enabled vec0: set SQLITE_VEC_SRC to a sqlite-vec $TAG release tarball" \
		"no source"
	[ ! -e "$prefix" ] || fail "no source, yet $prefix was made"
}

test_wrong_sources_refused() {
	need_tarball
	local other="$SRC/sqlite-vec-0.1.10-alpha.1.tar.gz"
	[ -f "$other" ] && expect_refused "older tag" "$other" \
		"SQLITE_VEC_SRC=$other: is sqlite-vec 0.1.10-alpha.1, expected $TAG"
	local pgv="$SRC/pgvector-0.8.6.tar.gz"
	[ -f "$pgv" ] && expect_refused "pgvector tarball" "$pgv" "SQLITE_VEC_SRC=$pgv: not a sqlite-vec source tree"
	expect_refused "missing" "$TMP/nope" "SQLITE_VEC_SRC=$TMP/nope: no such file or folder"
	echo "not a tarball" >"$TMP/junk.tar.gz"
	expect_refused "not an archive" "$TMP/junk.tar.gz" "SQLITE_VEC_SRC=$TMP/junk.tar.gz: not a tar archive"
	mkdir -p "$TMP/empty"
	expect_refused "folder without it" "$TMP/empty" \
		"SQLITE_VEC_SRC=$TMP/empty: neither a sqlite-vec source folder nor a folder holding"
}

test_failed_build_installs_nothing() {
	need_tarball
	mkdir -p "$TMP/broken"
	tar -xzf "$TARBALL" -C "$TMP/broken"
	local tree=("$TMP"/broken/*)
	echo "this is not C" >>"${tree[0]}/sqlite-vec.c"
	expect_refused "failing build" "${tree[0]}" "SQLITE_VEC_SRC=${tree[0]}: build failed \\(log: "
}

test_tools_prefer_the_installed_ivf_build() {
	[ ! -e /usr/local/lib/vec0.so ] || skip_test "/usr/local/lib/vec0.so is there and comes first"
	local tag
	tag=$(ls /usr/local/lib/sqlite-vec 2>/dev/null | sort -V | tail -n 1)
	[ -n "$tag" ] || skip_test "no build in /usr/local/lib/sqlite-vec (run scripts/install-deps)"
	local so=/usr/local/lib/sqlite-vec/$tag/vec0.so db="$TMP/pick.db"
	sqlite3 "$db" ".load $so" \
		"CREATE VIRTUAL TABLE items USING vec0(id integer primary key, emb float[2] indexed by ivf(nlist=2));" \
		"INSERT INTO items(id, emb) VALUES (1, '[0,0]'), (2, '[0,1]'), (3, '[9,9]'), (4, '[9,8]');" ||
		{ fail "cannot make a table with $so"; return; }
	expect_status 0 env -u VEC0_PATH "$BIN/ivftrain" --dry-run --nlist 2 "$db"
	expect_match "$OUT" "vec0 $tag from $so \\(/usr/local/lib/sqlite-vec\\), IVF: yes" "build chosen"
}

run_tests
