#!/bin/sh
# test-query.sh SHAREDMEM-BINARY — tests the commands of `sharedmem` that a
# redis-cli user looks for (tools/cmd-keys.c): exists, type, keys PATTERN,
# del KEY..., mget, mset, getset and info.  Their output, --json, exit
# statuses (0, 1, 2), usage errors, absent keys and names, stale and
# damaged regions, glob patterns, several keys at once, getset's
# atomicity between 4 processes, and info's figures against stat --json.
#
# Plain POSIX sh plus grep, sed, od, cmp, sort and GNU date (python3, if
# present, also parses the JSON); uses the helpers of test-cli-lib.sh.
# Exits 0 if every check passes, 1 if one fails, 77 to skip (no /dev/shm).
# Every region it makes is named qtest-PID-* and is removed on exit.

set -u

BIN=${1:?usage: test-query.sh PATH-TO-sharedmem}
SHM=/dev/shm

if [ ! -x "$BIN" ]; then
    echo "test-query.sh: $BIN is not an executable" >&2
    exit 1
fi
if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then
    echo "SKIP: $SHM is missing or not writable"
    exit 77
fi

P="qtest-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-query.XXXXXX") || exit 1
EMU=""
STRIP_CR=0
SOFT_STOP=TERM
# shellcheck source=tests/cli/test-cli-lib.sh
. "$(dirname "$0")/test-cli-lib.sh"

cleanup() {
    for p in $PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    for f in "$SHM/smem.$P"-*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        [ -L "$f" ] || chown "$(id -u)" "$f" 2>/dev/null # another user's, that we made
        "$BIN" rm "${f#"$SHM"/smem.}" 2>/dev/null || rm -f "$f"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

expect_region() {
    if [ -e "$SHM/smem.$1" ]; then pass; else fail "$2: $SHM/smem.$1 should exist"; fi
}
expect_no_region() {
    if [ -e "$SHM/smem.$1" ]; then fail "$2: $SHM/smem.$1 should be gone"; else pass; fi
}

# expect_lines WHAT LINE...: stdout is exactly these lines, byte for byte.
expect_lines() {
    what=$1
    shift
    printf '%s\n' "$@" >"$TMP/want"
    expect_stdout "$TMP/want" "$what"
}

# expect_bytes WHAT STRING: stdout is exactly STRING (no newline added).
expect_bytes() {
    printf '%s' "$2" >"$TMP/want"
    expect_stdout "$TMP/want" "$1"
}

# expect_silent_absent WHAT: exit 1 and nothing on stdout nor stderr.
expect_silent_absent() {
    expect_rc 1 "$1"
    expect_quiet "$1"
}

# expect_fail_line LINE WHAT: exit 1, nothing on stdout, stderr the one LINE.
expect_fail_line() {
    expect_rc 1 "$2"
    expect_err_line "$1" "$2"
    if [ -s "$TMP/out" ]; then fail "$2: a failure prints nothing on stdout"; else pass; fi
}

# expect_py WHAT EXPR: with python3, EXPR is true of d, the JSON document on
# stdout (parsed strictly).  Without python3 the exact-text checks suffice.
expect_py() {
    command -v python3 >/dev/null 2>&1 || return 0
    if python3 -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8", errors="strict"))
sys.exit(0 if eval(sys.argv[2]) else 1)
' "$TMP/out" "$2" 2>"$TMP/py.err"; then pass; else fail "$1: JSON: $2 is not true"; fi
}

M="$P-m" V="$P-v" R="$P-r" S="$P-stale" D="$P-bad" SMALL="$P-small" NONE="$P-none"
long_key=$(printf '%065d' 0)

run map "$M" --entries 32 --value-size 16 --persist
expect_rc 0 "map for the tests"
run set "$V" hello --persist
expect_rc 0 "value for the tests"
run create "$R" 4096 --persist
expect_rc 0 "raw region for the tests"
run map "$SMALL" --entries 2 --value-size 4 --persist
expect_rc 0 "small map for the tests"
# a stale region: its only user was killed
if start_hold "$S" --create 4096; then
    kill -9 "$HPID"
    wait "$HPID" 2>/dev/null
fi
run stat "$S"
expect_field state stale "the region to make stale is stale"
# a damaged region
run create "$D" 4096 --persist
printf 'not a sharedmem header: garbage!' |
    dd of="$SHM/smem.$D" bs=32 count=1 conv=notrunc 2>/dev/null
DLINE_END="not a sharedmem region, or its header is damaged: remove it with \`sharedmem rm $D\`"

# ---------------------------------------------------------------------------
# --help of each command: at most 80 columns

for c in exists type keys del mget mset getset info; do
    run "$c" --help
    expect_rc 0 "$c --help"
    if awk 'length > 80 { bad = 1 } END { exit bad }' "$TMP/out"; then pass; else
        fail "$c --help has lines over 80 columns"; fi
done
run exists --help
expect_out "absent is the only silent" "exists --help says how to tell absent from an error"
run del --help
expect_out "not one transaction" "del --help says that it is not one transaction"
run mset --help
expect_out "not one" "mset --help says that it is not one transaction"

# ---------------------------------------------------------------------------
# exists

for n in "$M" "$V" "$R"; do
    run exists "$n"
    expect_rc 0 "exists of $n"
    expect_quiet "exists of $n"
done
run exists "$NONE"
expect_silent_absent "exists of a missing name"
run exists "$S"
expect_silent_absent "exists of a stale region (counts as absent)"
run exists "$D"
expect_fail_line "sharedmem: exists $D: $DLINE_END" "exists of a damaged region"
run exists "$D" k
expect_fail_line "sharedmem: exists $D: $DLINE_END" "exists KEY of a damaged region"
# the idiom of the help: exit 1 and empty stderr is absent
if err=$("$BIN" exists "$NONE" 2>&1); then rc=0; else rc=$?; fi
if [ "$rc" -eq 1 ] && [ -z "$err" ]; then pass; else fail "err=\$(exists ...) of a missing name"; fi
if err=$("$BIN" exists "$D" 2>&1); then rc=0; else rc=$?; fi
if [ "$rc" -eq 1 ] && [ -n "$err" ]; then pass; else fail "err=\$(exists ...) of a damaged region"; fi

run mset "$M" here 1 empty ""
expect_rc 0 "mset for exists"
run exists "$M" here
expect_rc 0 "exists of a key"
expect_quiet "exists of a key"
run exists "$M" empty
expect_rc 0 "exists of a key with an empty value"
run exists "$M" nokey
expect_silent_absent "exists of a missing key"
run exists "$NONE" k
expect_silent_absent "exists KEY of a missing map"
run exists "$V" k
expect_fail_line "sharedmem: exists $V: is a value, not a map" "exists KEY of a value"
run exists "$R" k
expect_rc 1 "exists KEY of a raw region"
if grep -q "^sharedmem: exists $R: is a raw region" "$TMP/err"; then pass; else
    fail "exists KEY of a raw region says what it is"; fi
run exists
expect_usage "exists without NAME"
run exists "$M" a b
expect_usage "exists with two keys"
run exists "bad/name"
expect_usage "exists of an invalid name"
run exists "$M" "$long_key"
expect_usage "exists of a key of 65 bytes"

nobody=$(id -u nobody 2>/dev/null)
if [ "$(id -u)" = 0 ] && [ -n "$nobody" ]; then
    F="$P-foreign"
    run create "$F" 4096 --persist
    chown nobody "$SHM/smem.$F"
    run exists "$F"
    expect_rc 1 "exists of another user's file"
    if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^sharedmem: exists $F: " "$TMP/err"; then
        pass
    else
        fail "exists of another user's file says why, on one line"
    fi
    chown "$(id -u)" "$SHM/smem.$F"
fi

# ---------------------------------------------------------------------------
# type

run type "$M"
expect_rc 0 "type of a map"
expect_lines "type of a map" map
run type "$V"
expect_lines "type of a value" value
run type "$R"
expect_lines "type of a raw region" region
run type "$M" --json
expect_rc 0 "type --json"
expect_lines "type --json" "{\"name\":\"$M\",\"type\":\"map\"}"
expect_py "type --json" "d == {'name': '$M', 'type': 'map'}"
run type --json "$R"
expect_lines "type --json of a raw region" "{\"name\":\"$R\",\"type\":\"region\"}"
run type "$NONE"
expect_fail_line "sharedmem: type $NONE: no such region" "type of a missing name"
run type "$S"
expect_fail_line "sharedmem: type $S: no such region" "type of a stale region"
run type "$D"
expect_fail_line "sharedmem: type $D: $DLINE_END" "type of a damaged region"
run type
expect_usage "type without NAME"
run type "$M" extra
expect_usage "type with an extra argument"
run type "bad/name"
expect_usage "type of an invalid name"

# ---------------------------------------------------------------------------
# mset and mget

run mset "$M" user:1 alice user:2 bob 'user:[3]' carol
expect_rc 0 "mset of 3 pairs"
expect_quiet "mset of 3 pairs"
run mget "$M" user:1 user:2 'user:[3]'
expect_rc 0 "mget of 3 keys"
expect_lines "mget of 3 keys" alice bob carol
if [ -s "$TMP/err" ]; then fail "mget of keys that are there says nothing on stderr"; else pass; fi
run mget "$M" user:2 user:2
expect_lines "mget of one key twice" bob bob
run mget "$M" user:1 nope empty user:2
expect_rc 1 "mget with an absent key"
expect_lines "mget: an absent key is an empty line, the others are printed" alice "" "" bob
expect_err_line "sharedmem: mget $M: no key 'nope'" "mget says which key is absent"
run mget "$M" nope1 user:1 nope2
expect_rc 1 "mget with two absent keys"
expect_lines "mget with two absent keys" "" alice ""
if [ "$(wc -l <"$TMP/err")" -eq 2 ] && has_line "$TMP/err" "sharedmem: mget $M: no key 'nope1'" &&
    has_line "$TMP/err" "sharedmem: mget $M: no key 'nope2'"; then pass; else
    fail "mget reports each absent key"; fi
run mget "$M" user:1 nope empty --json
expect_rc 1 "mget --json with an absent key"
expect_lines "mget --json: null for an absent key" '{"user:1":"alice","nope":null,"empty":""}'
expect_py "mget --json" "d == {'user:1': 'alice', 'nope': None, 'empty': ''}"
run mget "$M" user:1 user:2 --json
expect_rc 0 "mget --json of keys that are there"
expect_lines "mget --json" '{"user:1":"alice","user:2":"bob"}'
# values are escaped as by dump: one line each
run mset "$M" esc "$(printf 'a\tb\\c')"
run mget "$M" esc here
expect_lines "mget escapes a value as dump does" 'a\tb\\c' 1
run mget "$M" esc --json
expect_lines "mget --json escapes a value as get --json does" '{"esc":"a\tb\\c"}'
expect_py "mget --json of an escaped value" "d == {'esc': 'a\\tb\\\\c'}"
run mset "$M" user:1 first user:1 second
expect_rc 0 "mset of one key twice"
run mget "$M" user:1
expect_lines "mset of one key twice: the last value" second
run mset "$M" -- -dash x
expect_rc 0 "mset of a key that begins with a dash, after --"
run mget "$M" -- -dash
expect_lines "mget of a key that begins with a dash" x

run mset "$M" a 1 b
expect_usage "mset with a KEY and no VALUE"
run exists "$M" a
expect_silent_absent "mset with an odd number of words sets nothing"
run mset "$M"
expect_usage "mset without KEY VALUE"
run mset "$M" "$long_key" v
expect_usage "mset of a key of 65 bytes"
run mset "$M" ok1 v toolong 01234567890123456 ok2 v
expect_fail_line "sharedmem: mset $M: the value of 'toolong' (17 bytes) is larger than the map's value size (16 bytes); nothing was stored" \
    "mset of a value too long"
run mget "$M" ok1 ok2 --json
expect_lines "mset of a value too long sets nothing" '{"ok1":null,"ok2":null}'
run mset "$SMALL" f1 1 f2 2 f3 3 f4 4
expect_rc 1 "mset into a map that gets full"
if grep -q "^sharedmem: mset $SMALL: the map is full (2 entries): no room for the new key 'f3'" \
    "$TMP/err"; then pass; else fail "mset says that the map is full and which key"; fi
run mget "$SMALL" f1 f2 f3 f4 --json
expect_lines "mset: the pairs before a failure stay set, those after are not tried" \
    '{"f1":"1","f2":"2","f3":null,"f4":null}'
run mset "$V" k v
expect_fail_line "sharedmem: mset $V: is a value, not a map" "mset of a value"
run mset "$NONE" k v
expect_rc 1 "mset of a missing map"
if grep -q "^sharedmem: mset $NONE: no such map" "$TMP/err"; then pass; else
    fail "mset of a missing map says so"; fi
expect_no_region "$NONE" "mset does not create a map"

run mget "$V" k
expect_fail_line "sharedmem: mget $V: is a value, not a map" "mget of a value"
run mget "$NONE" k
expect_rc 1 "mget of a missing map"
run mget "$M"
expect_usage "mget without KEY"
run mget "$M" ok "$long_key"
expect_usage "mget of a key of 65 bytes"

# ---------------------------------------------------------------------------
# keys PATTERN

K="$P-k"
run map "$K" --entries 32 --value-size 8 --persist
run mset "$K" user:1 x user:2 x user:10 x 'user:[3]' x 'a*b' x aXb x a/b.c x 'q?' x qz x \
    'back\slash' x other x
expect_rc 0 "mset of the keys for the patterns"
run keys "$K"
expect_lines "keys without a pattern: all, in byte order" 'a*b' a/b.c aXb 'back\\slash' other \
    'q?' qz user:1 user:10 user:2 'user:[3]'
# check_keys PATTERN WHAT KEY...: keys PATTERN prints exactly these keys
check_keys() {
    pat=$1 what=$2
    shift 2
    run keys "$K" "$pat"
    expect_rc 0 "keys '$pat' ($what)"
    if [ $# -eq 0 ]; then expect_quiet "keys '$pat' ($what)"; else expect_lines "keys '$pat' ($what)" "$@"; fi
}
check_keys '*' "* alone: every key" 'a*b' a/b.c aXb 'back\\slash' other 'q?' qz user:1 user:10 \
    user:2 'user:[3]'
check_keys 'user:*' "* at the end" user:1 user:10 user:2 'user:[3]'
check_keys '*:1*' "* on both sides" user:1 user:10
check_keys 'a*c' "* matches / and ." a/b.c
check_keys '*.*' "* before and after a ." a/b.c
check_keys 'user:?' "? is one byte" user:1 user:2
check_keys 'user:??' "two ?" user:10
check_keys 'user:[12]' "a set" user:1 user:2
check_keys 'user:[!1]' "a negated set" user:2
check_keys 'user:[^1]' "^ negates a set as ! does" user:2
check_keys 'user:[!0-1]*' "a negated range" user:2 'user:[3]'
check_keys 'user:[0-9]*' "a range" user:1 user:10 user:2
check_keys 'user:[[]3]' "a set holding [" 'user:[3]'
check_keys 'user:\[3]' "\\[ is a literal [" 'user:[3]'
check_keys 'a*b' "* in the middle" 'a*b' aXb
check_keys 'a\*b' "\\* is a literal *" 'a*b'
check_keys 'q?' "? at the end" 'q?' qz
check_keys 'q\?' "\\? is a literal ?" 'q?'
check_keys 'back\\slash' "\\\\ is a literal backslash" 'back\\slash'
check_keys 'nothing*' "no key matches: nothing, and exit 0"
check_keys 'user:1' "no wildcard: only that key" user:1
run keys "$K" 'user:*' --json
expect_rc 0 "keys PATTERN --json"
expect_lines "keys PATTERN --json" '["user:1","user:10","user:2","user:[3]"]'
expect_py "keys PATTERN --json" "d == ['user:1', 'user:10', 'user:2', 'user:[3]']"
run keys "$K" 'nothing*' --json
expect_lines "keys --json matching nothing" '[]'
run keys "$K" 'back*' --null
printf 'back\\slash\0' >"$TMP/want"
expect_stdout "$TMP/want" "keys PATTERN --null: the key as it is, and a NUL"
run keys "$K" 'a*' b
expect_usage "keys with two patterns"
run keys "$V" '*'
expect_fail_line "sharedmem: keys $V: is a value, not a map" "keys of a value"
run keys "$NONE" '*'
expect_rc 1 "keys of a missing map"

# ---------------------------------------------------------------------------
# del KEY...

run mset "$K" d1 x d2 x d3 x d4 x d5 x
run del "$K" d1
expect_rc 0 "del of one key"
expect_quiet "del of one key"
run del "$K" d2 d3
expect_rc 0 "del of two keys"
expect_quiet "del of two keys"
run mget "$K" d1 d2 d3 d4 --json
expect_lines "del removed the keys" '{"d1":null,"d2":null,"d3":null,"d4":"x"}'
run del "$K" d4 gone
expect_fail_line "sharedmem: del $K: no key 'gone'" "del of a key that is there and one that is not"
run exists "$K" d4
expect_silent_absent "del deleted the key that was there, beside an absent one"
run del "$K" gone1 d5 gone2
expect_rc 1 "del of two absent keys"
if [ "$(wc -l <"$TMP/err")" -eq 2 ] && has_line "$TMP/err" "sharedmem: del $K: no key 'gone1'" &&
    has_line "$TMP/err" "sharedmem: del $K: no key 'gone2'"; then pass; else
    fail "del reports each absent key"; fi
run exists "$K" d5
expect_silent_absent "del deleted the key between two absent ones"
run mset "$K" d6 x
run del "$K" d6 "$long_key"
expect_usage "del with a key of 65 bytes"
run exists "$K" d6
expect_rc 0 "del with an invalid key deletes nothing"
run del "$K"
expect_usage "del without KEY"
run del "$V" k
expect_fail_line "sharedmem: del $V: is a value, not a map" "del of a value"
run del "$NONE" k
expect_rc 1 "del of a missing map"

# ---------------------------------------------------------------------------
# getset

run getset "$M" gs first
expect_rc 0 "getset of a new key"
expect_quiet "getset of a new key prints nothing"
run get "$M" gs
expect_bytes "getset stored the new key" first
run getset "$M" gs second
expect_rc 0 "getset of a key"
expect_bytes "getset prints the old value as get does (no newline to a pipe)" first
run get "$M" gs
expect_bytes "getset stored the new value" second
run getset "$M" gs ""
expect_bytes "getset stores an empty value" second
run getset "$M" gs "$(printf 'a\tb')"
expect_rc 0 "getset of an empty value"
expect_quiet "getset prints an empty old value as nothing"
printf 'from\nstdin' | tool getset "$M" gs - >"$TMP/out.raw" 2>"$TMP/err"
RC=$? LAST="getset $M gs -"
cp "$TMP/out.raw" "$TMP/out"
expect_rc 0 "getset from standard input"
expect_bytes "getset prints the old bytes as they are" "$(printf 'a\tb')"
run get "$M" gs
expect_bytes "getset stored standard input" "$(printf 'from\nstdin')"
run getset "$M" gs 01234567890123456
expect_rc 1 "getset of a value too long"
if grep -q "^sharedmem: getset $M: the value (17 bytes) is larger than the map's value size (16 bytes); nothing was stored$" "$TMP/err"; then
    pass
else
    fail "getset of a value too long says so"
fi
run get "$M" gs
expect_bytes "getset of a value too long stores nothing" "$(printf 'from\nstdin')"
run getset "$SMALL" f9 x
expect_rc 1 "getset of a new key into a full map"
if grep -q "the map is full" "$TMP/err"; then pass; else fail "getset says that the map is full"; fi
run getset "$V" k x
expect_fail_line "sharedmem: getset $V: is a value, not a map" "getset of a value"
run getset "$NONE" k x
expect_rc 1 "getset of a missing map"
expect_no_region "$NONE" "getset does not create a map"
run getset "$M" gs
expect_usage "getset without VALUE"
run getset "$M" gs a b
expect_usage "getset with an extra argument"
run getset "$M" "$long_key" x
expect_usage "getset of a key of 65 bytes"

# getset_race KEY FIRST: 4 processes each store N unique values in KEY with
# getset; every value stored before (FIRST, then each one of theirs) must
# be printed exactly once by the getset that replaced it, or be the last.
# FIRST "" means that KEY is absent at first: one getset prints nothing.
N=40
getset_race() {
    key=$1 first=$2
    : >"$TMP/race.err"
    rpids=""
    for w in 1 2 3 4; do
        (
            i=0
            while [ $i -lt $N ]; do
                if old=$("$BIN" getset "$M" "$key" "w$w-$i" 2>>"$TMP/race.err"); then
                    printf '%s\n' "$old"
                else
                    echo "exit $?" >>"$TMP/race.err"
                fi
                i=$((i + 1))
            done
        ) >"$TMP/race.$w" &
        rpids="$rpids $!"
    done
    for p in $rpids; do wait "$p"; done
    { "$BIN" get "$M" "$key"; echo; } >"$TMP/race.last"
    cat "$TMP"/race.[1-4] "$TMP/race.last" | sort >"$TMP/race.seen"
    {
        printf '%s\n' "$first"
        for w in 1 2 3 4; do
            i=0
            while [ $i -lt $N ]; do
                echo "w$w-$i"
                i=$((i + 1))
            done
        done
    } | sort >"$TMP/race.want"
    cp "$TMP/race.err" "$TMP/err"
    : >"$TMP/out"
    LAST="4 x $N getset $M $key" RC=0
    if [ -s "$TMP/race.err" ]; then fail "concurrent getset ($key): no failure"; else pass; fi
    if cmp -s "$TMP/race.seen" "$TMP/race.want"; then pass; else
        diff "$TMP/race.want" "$TMP/race.seen" | head -n 6 >"$TMP/out"
        fail "4 x $N concurrent getset of $key: every value stored is replaced exactly once"
    fi
}
run mset "$M" race start
getset_race race start
getset_race race-new ""

# Between the processes above, the window between getset's read and its
# write is a few microseconds: a getset that were not atomic would rarely
# be caught.  So the race runs again with a shim (LD_PRELOAD) that sleeps
# 2 ms after each smem_map_get, which makes every getset overlap others:
# a plain get-then-set fails it at once, a compare-and-set loop passes.
# Skipped (with a note) without a C compiler, or if the tool cannot run
# with the shim (a sanitizer runtime that must come first).
cat >"$TMP/slow.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int smem_map_get(void *m, const char *key, void *buf, size_t n, size_t *len, uint64_t *ver)
{
    static int (*real)(void *, const char *, void *, size_t, size_t *, uint64_t *);
    struct timespec pause = {0, 2000000};
    const char *mark = getenv("QTEST_SLOW_MARK");
    FILE *f;
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "smem_map_get");
    if (mark && (f = fopen(mark, "w")))
        fclose(f);
    int rc = real(m, key, buf, n, len, ver);
    nanosleep(&pause, NULL);
    return rc;
}
EOF
QTEST_SLOW_MARK="$TMP/slow.mark"
export QTEST_SLOW_MARK
if ! ${CC:-cc} -shared -fPIC -o "$TMP/slow.so" "$TMP/slow.c" -ldl 2>"$TMP/slow.err"; then
    echo "NOTE: no C compiler (${CC:-cc}): getset is not raced with a slowed read"
elif ! LD_PRELOAD="$TMP/slow.so" "$BIN" get "$M" race >/dev/null 2>&1 || [ ! -e "$QTEST_SLOW_MARK" ]; then
    echo "NOTE: the tool does not run with a preloaded shim: getset is not raced with a slowed read"
else
    run mset "$M" race-slow start
    LD_PRELOAD="$TMP/slow.so"
    export LD_PRELOAD
    getset_race race-slow start
    unset LD_PRELOAD
fi

# ---------------------------------------------------------------------------
# info, against stat --json

# stat_json NAME: the output of stat --json NAME into $TMP/stat.json.
stat_json() {
    "$BIN" stat "$1" --json >"$TMP/stat.json"
}
# snum KEY: the number KEY of $TMP/stat.json.
snum() {
    sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$TMP/stat.json"
}
# iso SECS: SECS since 1970 in ISO 8601, UTC.
iso() {
    date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null ||
        python3 -c 'import sys, time; print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sys.argv[1]))))' "$1"
}

if start_hold "$M"; then
    stat_json "$M"
    run dump "$M" --json
    version=$(sed -n '1s/.*"version":\([0-9][0-9]*\).*/\1/p' "$TMP/out")
    entries=$(snum entries) mem=$(snum memory) created=$(iso "$(snum created)")
    human=$(tool ls | awk -v n="$M" '$1 == n { print $4 }')
    run info "$M"
    expect_rc 0 "info of a map"
    expect_lines "info of a map (held by one hold)" "kind:       map" \
        "entries:    $entries of 32" "value size: 16" "memory:     $human ($mem bytes)" \
        "users:      1" "persistent: yes" "evicting:   no" "version:    $version" \
        "created:    $created"
    run info "$M" --json
    expect_rc 0 "info --json of a map"
    expect_lines "info --json of a map" "{\"name\":\"$M\",\"kind\":\"map\",\"entries\":$entries,\"max_entries\":32,\"value_size\":16,\"size\":$(snum size),\"memory\":$mem,\"users\":1,\"persistent\":true,\"evicting\":false,\"version\":$version,\"created\":\"$created\"}"
    expect_py "info --json of a map" "d['entries'] == $entries and d['max_entries'] == 32 and d['users'] == 1"
    stop_hold "$SOFT_STOP"
fi

stat_json "$V"
run get "$V" --json
version=$(sed -n 's/.*"version":\([0-9][0-9]*\).*/\1/p' "$TMP/out")
run info "$V"
expect_rc 0 "info of a value"
expect_lines "info of a value" "kind:       value" "value size: $(snum capacity)" \
    "memory:     $(tool ls | awk -v n="$V" '$1 == n { print $4 }') ($(snum memory) bytes)" \
    "users:      0" "persistent: yes" "version:    $version" "created:    $(iso "$(snum created)")"
run info "$V" --json
expect_py "info --json of a value" \
    "d['kind'] == 'value' and d['value_size'] == $(snum capacity) and d['entries'] is None and d['max_entries'] is None and d['version'] == $version"
expect_out "\"value_size\":$(snum capacity)," "info --json of a value: value_size"
expect_out '"entries":null,"max_entries":null' "info --json of a value: no entries"

stat_json "$R"
run info "$R" --json
expect_rc 0 "info --json of a raw region"
expect_lines "info --json of a raw region" "{\"name\":\"$R\",\"kind\":\"region\",\"entries\":null,\"max_entries\":null,\"value_size\":null,\"size\":4096,\"memory\":$(snum memory),\"users\":0,\"persistent\":true,\"evicting\":null,\"version\":null,\"created\":\"$(iso "$(snum created)")\"}"
expect_json_parses "$TMP/out" "info --json of a raw region"
run info "$R"
expect_out "size:       4096" "info of a raw region: its size"
expect_no_out "version:" "info of a raw region: no version"

run info "$NONE"
expect_fail_line "sharedmem: info $NONE: no such region" "info of a missing name"
run info "$S"
expect_fail_line "sharedmem: info $S: no such region" "info of a stale region"
run info "$D"
expect_fail_line "sharedmem: info $D: $DLINE_END" "info of a damaged region"
run info
expect_usage "info without NAME"
run info "bad/name"
expect_usage "info of an invalid name"

# ---------------------------------------------------------------------------

echo "test-query.sh: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
