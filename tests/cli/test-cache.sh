#!/bin/sh
# test-cache.sh SHAREDMEM-BINARY — tests the commands of `sharedmem` for
# maps as caches (tools/cmd-cache.c and the options that go with them):
# set/incr/mset --ttl, expire, ttl, flush, stats, map --evict (and hold
# --evict), dump/keys --stale and what info says of eviction.  Between
# real processes: every step is a tool command of its own, and each one
# adds its gets to the map's totals when it exits, so the statistics are
# checked exactly.  Also every bad duration and missing argument: a usage
# error that says what is wrong, and nothing changed.
#
# Timing is generous: a key that must expire gets 300 ms and the test
# sleeps 0.6 s; a key that must not expire gets a minute or more.
#
# Plain POSIX sh plus grep, sed, awk and od (python3, if present, also
# parses the JSON); uses the helpers of test-cli-lib.sh.  Exits 0 if every
# check passes, 1 if one fails, 77 to skip (no /dev/shm).  Every region it
# makes is named ctest-PID-* and is removed on exit.

set -u

BIN=${1:?usage: test-cache.sh PATH-TO-sharedmem}
SHM=/dev/shm

if [ ! -x "$BIN" ]; then
    echo "test-cache.sh: $BIN is not an executable" >&2
    exit 1
fi
if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then
    echo "SKIP: $SHM is missing or not writable"
    exit 77
fi

P="ctest-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-cache.XXXXXX") || exit 1
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
        [ -e "$f" ] || continue
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

# expect_fail_line LINE WHAT: exit 1, nothing on stdout, stderr the one LINE.
expect_fail_line() {
    expect_rc 1 "$2"
    expect_err_line "$1" "$2"
    if [ -s "$TMP/out" ]; then fail "$2: a failure prints nothing on stdout"; else pass; fi
}

# expect_err_has FIXED-STRING WHAT: stderr contains the string.
expect_err_has() {
    if grep -F -q -e "$1" "$TMP/err"; then pass; else fail "$2: stderr lacks '$1'"; fi
}

# expect_usage_says FIXED-STRING WHAT: a usage error whose message has the string.
expect_usage_says() {
    expect_usage "$2"
    expect_err_has "$1" "$2"
}

# expect_between LOW HIGH WHAT: stdout is one whole number from LOW to HIGH.
expect_between() {
    n=$(cat "$TMP/out")
    case "$n" in
    '' | *[!0-9]*) fail "$3: stdout should be a number of milliseconds" ;;
    *) if [ "$n" -ge "$1" ] && [ "$n" -le "$2" ]; then pass; else
        fail "$3: $n is not within $1 ... $2"; fi ;;
    esac
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

# stats_are NAME WHAT LINE...: `stats NAME` prints exactly these lines.
stats_are() {
    sname=$1 swhat=$2
    shift 2
    run stats "$sname"
    expect_rc 0 "$swhat: stats"
    expect_lines "$swhat: stats" "$@"
}

# snapshot NAME: dump --json and stats --json of NAME into $TMP/snap
# (what a command that must change nothing must leave as it is).
snapshot() {
    { "$BIN" dump "$1" --json && "$BIN" stats "$1" --json; } >"$TMP/snap" 2>&1
}
# expect_unchanged NAME WHAT: the snapshot of NAME is what it was.
expect_unchanged() {
    cp "$TMP/snap" "$TMP/snap.before"
    snapshot "$1"
    if cmp -s "$TMP/snap" "$TMP/snap.before"; then pass; else
        fail "$2: changed the map: $(diff "$TMP/snap.before" "$TMP/snap" | tr '\n' ' ' | cut -c1-200)"
    fi
}

M="$P-m" ST="$P-stats" EV="$P-evict" FULL="$P-full" V="$P-v" NONE="$P-none" HE="$P-held"

run map "$M" --entries 16 --value-size 16 --persist
expect_rc 0 "map for the tests"
run set "$V" hello --persist
expect_rc 0 "value for the tests"

# ---------------------------------------------------------------------------
# --help: the new commands are listed, the options documented, 80 columns

run --help
for c in expire ttl flush stats; do
    expect_out "  $c " "--help lists $c"
done
if awk 'length > 80 { bad = 1 } END { exit bad }' "$TMP/out"; then pass; else
    fail "--help has lines over 80 columns"; fi
for c in set incr mset expire ttl flush stats map hold dump keys info; do
    run "$c" --help
    expect_rc 0 "$c --help"
    if awk 'length > 80 { bad = 1 } END { exit bad }' "$TMP/out"; then pass; else
        fail "$c --help has lines over 80 columns"; fi
    if head -n 1 "$TMP/out" | grep -q "^Usage: sharedmem $c"; then pass; else
        fail "$c --help prints 'Usage: sharedmem $c'"; fi
done
for c in set incr mset; do
    run "$c" --help
    expect_out "--ttl DURATION" "$c --help documents --ttl"
done
run set --help
expect_out "ms, s, m" "set --help names the units of DURATION"
run expire --help
expect_out "DURATION of 0" "expire --help says what 0 does"
run map --help
expect_out "--evict" "map --help documents --evict"
run hold --help
expect_out "--evict" "hold --help documents --evict"
for c in dump keys; do
    run "$c" --help
    expect_out "--stale" "$c --help documents --stale"
done
run stats --help
for f in hits misses sets deletes evictions expirations entries max_entries bytes stale evicting; do
    expect_out "  $f:" "stats --help documents $f"
done

# ---------------------------------------------------------------------------
# set --ttl, ttl, expiry as get, dump and keys see it

run set "$M" long 'stays' --ttl 60s
expect_rc 0 "set --ttl 60s"
expect_quiet "set --ttl 60s"
run ttl "$M" long
expect_rc 0 "ttl of a key set with --ttl 60s"
expect_between 1 60000 "ttl of a key set with --ttl 60s"
run get "$M" long
expect_rc 0 "get of a key that has not expired"
expect_bytes "get of a key that has not expired" "stays"
run set "$M" plain 'no ttl'
expect_rc 0 "set without --ttl"
run ttl "$M" plain
expect_rc 0 "ttl of a key without expiry"
expect_lines "ttl of a key without expiry" "-1"
run ttl "$M" absent
expect_fail_line "sharedmem: ttl $M: no key 'absent'" "ttl of an absent key"

run set "$M" short 'soon gone' --ttl 300ms
expect_rc 0 "set --ttl 300ms"
sleep 0.6
run get "$M" short
expect_fail_line "sharedmem: get $M: no key 'short' (it expired)" "get after the key expired"
run get "$M" short --json
expect_rc 1 "get --json after the key expired"
run ttl "$M" short
expect_fail_line "sharedmem: ttl $M: no key 'short' (it expired)" "ttl after the key expired"
run exists "$M" short
expect_rc 1 "exists after the key expired"
run mget "$M" short
expect_rc 1 "mget after the key expired"
expect_lines "mget after the key expired: an empty line" ""

run dump "$M"
expect_rc 0 "dump with an expired key"
printf 'long\tstays\nplain\tno ttl\n' >"$TMP/want"
expect_stdout "$TMP/want" "dump leaves the expired key out"
run dump "$M" --stale
expect_rc 0 "dump --stale"
printf 'long\tstays\nplain\tno ttl\nshort\tsoon gone\t(expired)\n' >"$TMP/want"
expect_stdout "$TMP/want" "dump --stale shows the expired key, marked"
run dump "$M" --json
expect_rc 0 "dump --json with an expired key"
expect_no_out '"short"' "dump --json leaves the expired key out"
expect_out '"count":2,' "dump --json counts the live keys"
expect_out '{"key":"plain","length":6,"version":' "dump --json: a key without expiry"
if grep '"key":"plain"' "$TMP/out" | grep -q ttl_ms; then
    fail "dump --json: a key without expiry has no ttl_ms"; else pass; fi
if grep '"key":"long"' "$TMP/out" | grep -q '"value":"stays","ttl_ms":[1-9][0-9]*}'; then
    pass; else fail "dump --json: a key with a time to live has ttl_ms"; fi
expect_py "dump --json" "d['count'] == 2 and [e['key'] for e in d['entries']] == ['long', 'plain']"
run dump "$M" --stale --json
expect_rc 0 "dump --stale --json"
expect_out '{"key":"short","length":9,' "dump --stale --json shows the expired key"
expect_out '"value":"soon gone","ttl_ms":0,"stale":true}' "dump --stale --json marks it stale"
expect_out '"count":3,' "dump --stale --json counts it"
expect_py "dump --stale --json" \
    "[e['key'] for e in d['entries'] if e.get('stale')] == ['short'] and len(d['entries']) == 3"

run keys "$M"
expect_rc 0 "keys with an expired key"
expect_lines "keys leaves the expired key out" long plain
run keys "$M" --stale
expect_rc 0 "keys --stale"
expect_lines "keys --stale lists the expired key" long plain short
run keys "$M" --stale --json
expect_lines "keys --stale --json" '["long","plain","short"]'
run keys "$M" 's*' --stale
expect_lines "keys PATTERN --stale" short

# Writing the expired key again makes it live, with no expiry.
run set "$M" short back
expect_rc 0 "set of an expired key"
run ttl "$M" short
expect_lines "a key set again without --ttl never expires" "-1"
run dump "$M" --stale
printf 'long\tstays\nplain\tno ttl\nshort\tback\n' >"$TMP/want"
expect_stdout "$TMP/want" "dump --stale after the expired key was set again"

# ---------------------------------------------------------------------------
# expire

run expire "$M" plain 1h
expect_rc 0 "expire 1h"
expect_quiet "expire 1h"
run ttl "$M" plain
expect_between 3500000 3600000 "ttl after expire 1h"
run expire "$M" plain 0
expect_rc 0 "expire 0"
run ttl "$M" plain
expect_lines "ttl after expire 0 (no expiry)" "-1"
run expire "$M" plain 90s
run expire "$M" plain 0s
expect_rc 0 "expire 0s"
run ttl "$M" plain
expect_lines "ttl after expire 0s" "-1"
run expire "$M" plain 300ms
expect_rc 0 "expire 300ms"
sleep 0.6
run get "$M" plain
expect_fail_line "sharedmem: get $M: no key 'plain' (it expired)" "get after expire 300ms"
run expire "$M" plain 1h
expect_fail_line "sharedmem: expire $M: no key 'plain'" "expire of an expired key"
run expire "$M" absent 1h
expect_fail_line "sharedmem: expire $M: no key 'absent'" "expire of an absent key"
run get "$M" long
expect_bytes "expire of other keys leaves a key as it is" stays

# ---------------------------------------------------------------------------
# incr --ttl and mset --ttl

run incr "$M" counter --ttl 60s
expect_rc 0 "incr --ttl of a new counter"
expect_lines "incr --ttl of a new counter" 1
run ttl "$M" counter
expect_between 1 60000 "incr --ttl gives a new counter its time to live"
run incr "$M" counter 5 --ttl 1h
expect_lines "incr --ttl of an existing counter" 6
run ttl "$M" counter
expect_between 1 60000 "incr --ttl: an existing counter keeps its expiry"
run incr "$M" forever
run incr "$M" forever --ttl 1h
expect_lines "incr --ttl of a counter without expiry" 2
run ttl "$M" forever
expect_lines "incr --ttl: a counter without expiry keeps none" "-1"
run mset "$M" ma 1 mb 2 --ttl 60s
expect_rc 0 "mset --ttl"
for k in ma mb; do
    run ttl "$M" "$k"
    expect_between 1 60000 "mset --ttl gives $k its time to live"
done

# ---------------------------------------------------------------------------
# flush

run keys "$M"
if [ -s "$TMP/out" ]; then pass; else fail "the map has keys before flush"; fi
run set "$M" gone v --ttl 300ms
sleep 0.6
run flush "$M"
expect_rc 0 "flush"
expect_quiet "flush"
run keys "$M" --stale
expect_rc 0 "keys --stale after flush"
expect_quiet "flush leaves no key, not even an expired one"
run info "$M"
expect_out "entries:    0 of 16" "info after flush"
expect_out "evicting:   no" "info of a map made without --evict"
run info "$M" --json
expect_out '"evicting":false,' "info --json of a map made without --evict"
run stats "$M"
expect_field entries 0 "stats after flush"
expect_field stale 0 "stats after flush: no stale entry"
expect_region "$M" "flush keeps the map"

# ---------------------------------------------------------------------------
# stats: exact after a known sequence of commands

run map "$ST" --entries 8 --value-size 8 --persist
stats_are "$ST" "a new map" "hits:        0" "misses:      0" "sets:        0" \
    "deletes:     0" "evictions:   0" "expirations: 0" "entries:     0" "max_entries: 8" \
    "bytes:       0" "stale:       0" "evicting:    no"
run set "$ST" a 1
run set "$ST" b 22
run get "$ST" a
run get "$ST" a
run get "$ST" b
run get "$ST" zz
expect_rc 1 "get of an absent key, for stats"
run mget "$ST" a zz
expect_rc 1 "mget of a present and an absent key, for stats"
run del "$ST" b
run incr "$ST" n
# keys, dump, exists, ttl, info and stats are no gets
run keys "$ST"
run dump "$ST"
run exists "$ST" a
run ttl "$ST" a
run info "$ST"
stats_are "$ST" "after 2 sets, 4 hits, 2 misses, a del and an incr" \
    "hits:        4" "misses:      2" "sets:        3" "deletes:     1" "evictions:   0" \
    "expirations: 0" "entries:     2" "max_entries: 8" "bytes:       4" "stale:       0" \
    "evicting:    no"
run set "$ST" e v --ttl 300ms
sleep 0.6
run get "$ST" e
expect_rc 1 "get of an expired key, for stats"
stats_are "$ST" "an expired key: a miss, and a stale entry" \
    "hits:        4" "misses:      3" "sets:        4" "deletes:     1" "evictions:   0" \
    "expirations: 0" "entries:     2" "max_entries: 8" "bytes:       6" "stale:       1" \
    "evicting:    no"
run set "$ST" e w
run stats "$ST" --json
expect_rc 0 "stats --json"
expect_lines "stats --json: writing the expired key reclaims it (an expiration)" \
    "{\"name\":\"$ST\",\"hits\":4,\"misses\":3,\"sets\":5,\"deletes\":1,\"evictions\":0,\"expirations\":1,\"entries\":3,\"max_entries\":8,\"bytes\":6,\"stale\":0,\"evicting\":false}"
expect_py "stats --json" "d['hits'] == 4 and d['expirations'] == 1 and d['evicting'] is False"
run flush "$ST"
run stats "$ST"
expect_field deletes 4 "flush counts each entry it removes as a delete"
expect_field entries 0 "stats after flush"
expect_field hits 4 "flush keeps the statistics"

# ---------------------------------------------------------------------------
# map --evict: a full map takes new keys; one made without says it is full

run map "$EV" --entries 4 --value-size 8 --persist --evict
expect_rc 0 "map --evict"
run info "$EV"
expect_out "evicting:   yes" "info of a map made with --evict"
run info "$EV" --json
expect_out '"evicting":true,' "info --json of a map made with --evict"
i=1
while [ $i -le 9 ]; do
    run set "$EV" "k$i" "v$i"
    expect_rc 0 "set of new key k$i in an evicting map of 4 entries"
    i=$((i + 1))
done
stats_are "$EV" "4 entries and 9 new keys: 5 evictions" \
    "hits:        0" "misses:      0" "sets:        9" "deletes:     0" "evictions:   5" \
    "expirations: 0" "entries:     4" "max_entries: 4" "bytes:       16" "stale:       0" \
    "evicting:    yes"
run keys "$EV"
expect_lines "an evicting map keeps the newest keys" k6 k7 k8 k9
# A get gives its key a second chance: the next eviction takes another.
run get "$EV" k6
expect_bytes "get of a key in an evicting map" v6
run set "$EV" k10 v10
run keys "$EV"
expect_out "k6" "a key that get read is not the next one evicted"
expect_no_out "k7" "the next key not read is evicted instead"
run stats "$EV"
expect_field evictions 6 "one more eviction"
expect_field hits 1 "the get counted as a hit"
# An expired entry is reclaimed before any live one is evicted.
run set "$EV" k11 v11 --ttl 300ms
sleep 0.6
run set "$EV" k12 v12
run stats "$EV"
expect_field evictions 7 "k11 took the room of a live entry"
expect_field expirations 1 "k12 took the room of the expired k11"
run keys "$EV"
expect_out k12 "the keys after an eviction and an expiration: the new one"
expect_no_out k11 "the keys after an eviction and an expiration: not the expired one"
if [ "$(wc -l <"$TMP/out")" -eq 4 ]; then pass; else fail "an evicting map of 4 keeps 4 keys"; fi

run map "$FULL" --entries 4 --value-size 8 --persist
run mset "$FULL" a 1 b 2 c 3 d 4
expect_rc 0 "fill a map made without --evict"
snapshot "$FULL"
run set "$FULL" e 5
expect_fail_line "sharedmem: set $FULL: the map is full (4 entries): no room for the new key 'e'; nothing was stored" \
    "a new key in a full map made without --evict"
expect_unchanged "$FULL" "a set in a full map"
run set "$FULL" e 5 --ttl 1h
expect_rc 1 "set --ttl of a new key in a full map"
run set "$FULL" a 9 --ttl 1h
expect_rc 0 "a full map still takes a replace"
stats_are "$FULL" "a full map made without --evict" \
    "hits:        0" "misses:      0" "sets:        5" "deletes:     0" "evictions:   0" \
    "expirations: 0" "entries:     4" "max_entries: 4" "bytes:       8" "stale:       0" \
    "evicting:    no"

run map "$FULL" --entries 4 --value-size 8 --evict
expect_fail_line "sharedmem: map $FULL: exists with these figures, but does not evict (it was made without --evict; remove it first with \`sharedmem rm $FULL\`)" \
    "map --evict of an existing map that does not evict"
run map "$EV" --entries 4 --value-size 8
expect_rc 0 "map without --evict of an existing evicting map: it is left as it is"

if start_hold "$HE" --entries 2 --value-size 8 --evict; then
    if has_line "$HERR" "sharedmem: note: created $HE, a map of 2 entries of 8 bytes, evicting"; then
        pass; else fail "hold --evict says that the map it made evicts"; fi
    run mset "$HE" a 1 b 2 c 3
    expect_rc 0 "a map made by hold --evict evicts"
    run stats "$HE"
    expect_field evictions 1 "stats of a map made by hold --evict"
    expect_field evicting yes "stats of a map made by hold --evict"
    stop_hold "$SOFT_STOP"
fi

# ---------------------------------------------------------------------------
# Bad input: a usage error that says what is wrong, and nothing changed

run map "$M" --entries 16 --value-size 16 --persist
run set "$M" keep v
snapshot "$M"
for d in 10 5x -3s 99999999999999999h 9007199254740993ms 0 0s 1.5s "" ms s; do
    run set "$M" keep other --ttl "$d"
    expect_usage_says "invalid --ttl '$d': " "set --ttl '$d'"
    run set "$M" newkey other --ttl "$d"
    expect_usage "set of a new key --ttl '$d'"
    run incr "$M" cnt --ttl "$d"
    expect_usage_says "invalid --ttl '$d': " "incr --ttl '$d'"
    run mset "$M" keep x other y --ttl "$d"
    expect_usage_says "invalid --ttl '$d': " "mset --ttl '$d'"
done
expect_unchanged "$M" "bad --ttl values"
run set "$M" keep other --ttl 10
expect_err_has "no unit (add one of ms, s, m, h" "a duration without a unit says which units exist"
run set "$M" keep other --ttl 5x
expect_err_has "unknown unit (use ms, s, m or h" "a duration with an unknown unit says which exist"
run set "$M" keep other --ttl -3s
expect_err_has "negative" "a negative duration says so"
run set "$M" keep other --ttl 99999999999999999h
expect_err_has "longer than the longest time to live" "an overflowing duration says so"
run set "$M" keep other --ttl 0
expect_err_has "at least 1ms" "--ttl 0 says that a time to live is at least 1ms"
run set "$M" keep other --ttl
expect_usage_says "option '--ttl' needs a value (DURATION)" "set --ttl without its value"
run set "$V" other --ttl 1h
expect_usage_says "option '--ttl' is for keys of a map" "set --ttl of a value"
run get "$V"
expect_bytes "set --ttl of a value stored nothing" hello
for d in 10 5x -3s 99999999999999999h 1.5s "" h; do
    run expire "$M" keep "$d"
    expect_usage_says "invalid duration '$d': " "expire '$d'"
done
expect_unchanged "$M" "bad durations of expire"
run expire "$M" keep
expect_usage_says "missing argument" "expire without DURATION"
run expire "$M"
expect_usage "expire without KEY"
run expire "$M" keep 1s 2s
expect_usage_says "unexpected argument '2s'" "expire with two durations"
run ttl "$M"
expect_usage_says "missing argument" "ttl without KEY"
run ttl "$M" keep extra
expect_usage "ttl with an extra argument"
run ttl
expect_usage "ttl without NAME"
run flush
expect_usage_says "missing argument" "flush without NAME"
run flush "$M" extra
expect_usage "flush with an extra argument"
run stats
expect_usage "stats without NAME"
run stats "$M" --bogus
expect_usage_says "unknown option '--bogus'" "stats with an unknown option"
run dump "$M" --stale=yes
expect_usage "dump --stale takes no value"
for c in "ttl bad/name k" "expire bad/name k 1s" "flush bad/name" "stats bad/name"; do
    # shellcheck disable=SC2086
    run $c
    expect_usage "$c: an invalid name"
done
run ttl "$M" "$(printf '%065d' 0)"
expect_usage "ttl of a key of 65 bytes"
run hold "$P-nohold" --evict
expect_usage_says "option '--evict' needs '--entries'" "hold --evict without --entries"
expect_no_region "$P-nohold" "hold --evict without --entries"
expect_unchanged "$M" "usage errors"

# Not a map, or no map at all: status 1, and said
run flush "$V"
expect_fail_line "sharedmem: flush $V: is a value, not a map" "flush of a value"
run get "$V"
expect_bytes "flush of a value changed nothing" hello
run stats "$V"
expect_fail_line "sharedmem: stats $V: is a value, not a map" "stats of a value"
run ttl "$V" k
expect_fail_line "sharedmem: ttl $V: is a value, not a map" "ttl of a value"
run expire "$V" k 1s
expect_fail_line "sharedmem: expire $V: is a value, not a map" "expire of a value"
for c in "stats $NONE" "flush $NONE" "ttl $NONE k" "expire $NONE k 1s"; do
    # shellcheck disable=SC2086
    run $c
    expect_rc 1 "$c: no such map"
    expect_err_has "no such map" "$c: no such map"
done
expect_no_region "$NONE" "the commands never create a map"

echo "test-cache.sh: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
