#!/bin/sh
# test-query.sh SHAREDMEM — the commands a redis-cli user expects (issue
# #11): exists, type, keys PATTERN, del KEY..., mget, mset, getset, info;
# their output, --json, exit statuses and usage errors; getset's atomicity
# between 4 processes.  Plain POSIX sh.  Exits 0 if every check passes, 1
# if one fails, 77 to skip.  Its regions are named qt-PID-*; it removes
# them.

set -u
BIN=${1:?usage: test-query.sh SHAREDMEM}
SHM=/dev/shm
if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then
    echo "SKIP: $SHM is missing or not writable"
    exit 77
fi
P="qt-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-qt.XXXXXX") || exit 1
checks=0 fails=0
pass() { checks=$((checks + 1)); }
fail() {
    checks=$((checks + 1)) fails=$((fails + 1))
    echo "FAIL: $*"
}
cleanup() {
    for f in "$SHM/smem.$P"-* "$SHM/smem.-lock.$P"-*; do
        [ -e "$f" ] && rm -f "$f"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

run() {
    "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}
# expect RC OUT WHAT: exit status RC and exactly OUT on stdout.
expect() {
    if [ "$rc" -eq "$1" ] && [ "$(cat "$TMP/out")" = "$2" ]; then pass; else
        fail "$3: exit $rc (expected $1), out '$(cat "$TMP/out")' (expected '$2'), err '$(cat "$TMP/err")'"
    fi
}
quiet() { if [ -s "$TMP/err" ]; then fail "$1: stderr '$(cat "$TMP/err")'"; else pass; fi; }

M="$P-m" V="$P-v" R="$P-r"
"$BIN" map "$M" --entries 64 --value-size 32 --persist
"$BIN" set "$V" hello --persist
"$BIN" create "$R" 4K --persist

# exists
run exists "$M";          expect 0 "" "exists of a map";              quiet "exists"
run exists "$P-none";     expect 1 "" "exists of a missing name";     quiet "exists of a missing name"
run exists "$M" nokey;    expect 1 "" "exists of a missing key";      quiet "exists of a missing key"
"$BIN" set "$M" here 1
run exists "$M" here;     expect 0 "" "exists of a key"
run exists "$V" k
if [ "$rc" -eq 1 ] && grep -q "is a value, not a map" "$TMP/err"; then pass; else
    fail "exists NAME KEY of a value: exit 1 with a message: $rc $(cat "$TMP/err")"; fi
run exists "bad/name";    expect 2 "" "exists of an invalid name"

# type
run type "$M";            expect 0 map "type of a map"
run type "$V";            expect 0 value "type of a value"
run type "$R";            expect 0 region "type of a raw region"
run type "$M" --json;     expect 0 "{\"name\":\"$M\",\"type\":\"map\"}" "type --json"
run type "$P-none"
if [ "$rc" -eq 1 ] && grep -q "no such region" "$TMP/err"; then pass; else fail "type of a missing name"; fi

# mset, mget
run mset "$M" user:1 alice user:2 bob 'user:[3]' carol other x
expect 0 "" "mset of 4 pairs"
run mget "$M" user:1 nope other
expect 0 "alice

x" "mget: an absent key is an empty line"
run mget "$M" user:1 nope --json
expect 0 '{"user:1":"alice","nope":null}' "mget --json: null for an absent key"
run mset "$M" a 1 b
expect 2 "" "mset with a KEY and no VALUE"
run mget "$V" k
if [ "$rc" -eq 1 ]; then pass; else fail "mget of a value: exit $rc"; fi
long=$(printf '%040d' 0)
run mset "$M" ok1 v toolong "$long" ok2 v
if [ "$rc" -eq 1 ]; then pass; else fail "mset with a value too long: exit $rc"; fi
run mget "$M" ok1 ok2 --json
expect 0 '{"ok1":"v","ok2":null}' "mset: the pairs before a failure stay set, those after are not tried"

# keys PATTERN
run keys "$M" 'user:*';    expect 0 "user:1
user:2
user:[3]" "keys with *"
run keys "$M" 'user:?';    expect 0 "user:1
user:2" "keys with ?"
run keys "$M" 'user:[!1]'; expect 0 "user:2" "keys with [!1]"
run keys "$M" 'user:\[3]'; expect 0 "user:[3]" "keys with an escaped ["
run keys "$M" '*e*e*';     expect 0 "here" "keys with several *"
run keys "$M" '*th*';      expect 0 "other" "keys with * on both sides"
run keys "$M" 'nothing*';  expect 0 "" "keys matching nothing"
run keys "$M" 'o*' --json; expect 0 '["ok1","other"]' "keys PATTERN --json"
run keys "$M" a b;         expect 2 "" "keys with two patterns"

# del KEY...
run del "$M" user:1 user:2
expect 0 "" "del of two keys"
run mget "$M" user:1 user:2 --json
expect 0 '{"user:1":null,"user:2":null}' "del removed both keys"
run del "$M" other gone
if [ "$rc" -eq 1 ] && grep -q "no key 'gone'" "$TMP/err"; then pass; else fail "del of a missing key"; fi
run exists "$M" other;     expect 1 "" "del deleted the key that was there"

# getset
run getset "$M" gs first;  expect 0 "" "getset of a new key prints nothing"
run getset "$M" gs second; expect 0 "first" "getset prints the old value"
run get "$M" gs;           expect 0 "second" "getset stored the new one"
run getset "$V" k x
if [ "$rc" -eq 1 ]; then pass; else fail "getset of a value: exit $rc"; fi
# 4 processes swap unique values through one key: every value stored is
# printed exactly once by the getset that replaced it (or is the last).
"$BIN" set "$M" race start
for w in 1 2 3 4; do
    (
        i=0
        while [ $i -lt 60 ]; do
            "$BIN" getset "$M" race "w$w-$i"
            echo
            i=$((i + 1))
        done
    ) >"$TMP/race.$w" &
done
wait
"$BIN" get "$M" race >"$TMP/race.last"
echo >>"$TMP/race.last"
cat "$TMP"/race.* | sort >"$TMP/race.seen"
{
    echo start
    for w in 1 2 3 4; do
        i=0
        while [ $i -lt 60 ]; do
            echo "w$w-$i"
            i=$((i + 1))
        done
    done
} | sort >"$TMP/race.want"
if cmp -s "$TMP/race.seen" "$TMP/race.want"; then pass; else
    fail "getset from 4 processes: the values replaced are not each stored value exactly once" \
        "($(diff "$TMP/race.want" "$TMP/race.seen" | head -n 4 | tr '\n' ' '))"
fi

# info
hold_err="$TMP/hold.err"
"$BIN" hold "$M" 2>"$hold_err" >/dev/null &
hp=$!
i=0
while ! grep -q '^holding' "$hold_err" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
run info "$M"
n=$("$BIN" stat "$M" --json | sed 's/.*"entries":\([0-9]*\).*/\1/')
mem=$(stat -c %s "$SHM/smem.$M")
if [ "$rc" -eq 0 ] && grep -q "^kind: *map$" "$TMP/out" && grep -q "^entries: *$n of 64$" "$TMP/out" &&
    grep -q "^value size: *32$" "$TMP/out" && grep -q "^memory: .* ($mem bytes)$" "$TMP/out" &&
    grep -q "^users: *1$" "$TMP/out" && grep -q "^persistent: *yes$" "$TMP/out" &&
    grep -q "^version: *[1-9][0-9]*$" "$TMP/out" &&
    grep -q "^created: *20[0-9-]*T[0-9:]*Z$" "$TMP/out"; then pass; else
    fail "info of a map: $(cat "$TMP/out")"
fi
run info "$M" --json
if grep -q "^{\"name\":\"$M\",\"kind\":\"map\",\"entries\":$n,\"capacity\":64,\"value_size\":32,\"memory\":$mem,\"users\":1,\"persistent\":true,\"version\":[1-9][0-9]*,\"created\":\"20" "$TMP/out"; then
    pass
else
    fail "info --json of a map: $(cat "$TMP/out")"
fi
kill "$hp"
wait "$hp" 2>/dev/null
run info "$V"
if grep -q "^value size: *4096$" "$TMP/out" && grep -q "^version: *1$" "$TMP/out"; then pass; else
    fail "info of a value: $(cat "$TMP/out")"; fi
run info "$P-none"
if [ "$rc" -eq 1 ]; then pass; else fail "info of a missing name: exit $rc"; fi

# every --help line of the new commands fits in 80 columns
for c in exists type mget mset getset info keys del; do
    if "$BIN" "$c" --help | awk 'length > 80 { bad = 1 } END { exit bad }'; then pass; else
        fail "$c --help has lines over 80 columns"; fi
done

"$BIN" rm "$M" "$V" "$R"
echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
