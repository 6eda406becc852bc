#!/bin/sh
# test-newuser.sh SHAREDMEM PTY-RUN — what a new user tripped over (issue
# #11), each checked against the tool itself:
#
#   ls        one meaning per column, named in the header: BYTES (usable),
#             MEMORY (what it takes, human units), MAXVALUE, ENTRIES, USERS
#             (a count); --json and stat carry memory and users too
#   get       a newline after the value on a terminal (PTY-RUN puts the
#             tool's output on one), the exact bytes to a pipe
#   rm        of a region in use says that the name is gone and how many
#             opens still have it
#   watch     of a removed or re-made region says so and exits 1; with
#             --follow goes on with the new one
#   raw       get --raw and dump show a raw region's bytes; set/get say
#             what a raw region is
#   --help    no line wider than 80 columns, for any command
#
# Plain POSIX sh, od, cmp, stat(1).  Exits 0 if every check passes, 1 if
# one fails, 77 to skip.  Its regions are named nu-PID-*; it removes them.

set -u
BIN=${1:?usage: test-newuser.sh SHAREDMEM PTY-RUN}
PTY=${2:?usage: test-newuser.sh SHAREDMEM PTY-RUN}
SHM=/dev/shm
if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then
    echo "SKIP: $SHM is missing or not writable"
    exit 77
fi

P="nu-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-nu.XXXXXX") || exit 1
PIDS=""
checks=0 fails=0
pass() { checks=$((checks + 1)); }
fail() {
    checks=$((checks + 1)) fails=$((fails + 1))
    echo "FAIL: $*"
}
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    for f in "$SHM/smem.$P"-* "$SHM/smem.-lock.$P"-*; do
        [ -e "$f" ] && rm -f "$f"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# run ARGS...: the tool, its stdout in $TMP/out, stderr in $TMP/err, $rc.
run() {
    "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}
expect_rc() { if [ "$rc" -eq "$1" ]; then pass; else fail "$2: exit $rc, expected $1 ($(cat "$TMP/err"))"; fi; }

# hold NAME: a `sharedmem hold NAME` in the background, once it holds.
hold() {
    "$BIN" hold "$1" >/dev/null 2>"$TMP/hold.$1.$#" &
    hp=$!
    PIDS="$PIDS $hp"
    i=0
    while ! grep -q '^holding' "$TMP/hold.$1.$#" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
}

# ---- ls ------------------------------------------------------------------
R="$P-raw" V="$P-val" M="$P-map"
run create "$R" 3M --persist
expect_rc 0 "create"
run set "$V" hello --persist --capacity 1000
expect_rc 0 "set --persist"
run map "$M" --entries 100 --value-size 64 --persist
expect_rc 0 "map --persist"
run set "$M" k v
hold "$M"
hold "$M"
run ls
expect_rc 0 "ls"
if head -n 1 "$TMP/out" | grep -q '^NAME  *KIND  *BYTES  *MEMORY  *MAXVALUE  *ENTRIES  *PERSIST  *USERS  *STATE  *OWNER  *MODE$'; then
    pass
else
    fail "ls header: $(head -n 1 "$TMP/out")"
fi
mem_r=$(stat -c %s "$SHM/smem.$R")
row() { awk -v n="$1" '$1 == n' "$TMP/out"; }
if row "$R" | awk '{ exit !($2 == "region" && $3 == 3145728 && $4 == "3.0M" && $5 == "-" &&
                             $6 == "-" && $7 == "yes" && $8 == 0) }'; then pass; else
    fail "ls row of a 3M raw region: '$(row "$R")'"; fi
if row "$V" | awk '{ exit !($2 == "value" && $5 == 1000 && $6 == "-" && $8 == 0) }'; then pass; else
    fail "ls row of a value of capacity 1000: '$(row "$V")'"; fi
if row "$M" | awk '{ exit !($2 == "map" && $5 == 64 && $6 == "1/100" && $8 == 2) }'; then pass; else
    fail "ls row of a map with 2 holds: MAXVALUE 64, ENTRIES 1/100, USERS 2: '$(row "$M")'"; fi
run ls --json
if grep -q "\"name\":\"$R\",\"size\":3145728,\"memory\":$mem_r," "$TMP/out"; then pass; else
    fail "ls --json: size and memory ($mem_r, the file's size) of $R"; fi
if grep "\"name\":\"$M\"" "$TMP/out" | grep -q '"users":2'; then pass; else
    fail "ls --json: users 2 of $M"; fi
run stat "$R"
if grep -q "^memory: *$mem_r (3.0 MiB)$" "$TMP/out"; then pass; else
    fail "stat: 'memory: $mem_r (3.0 MiB)': $(grep memory "$TMP/out")"; fi
run stat "$M"
if grep -q '^users: *2$' "$TMP/out"; then pass; else fail "stat: 'users: 2' of a map with 2 holds"; fi

# ---- get on a terminal -----------------------------------------------------
"$PTY" "$BIN" get "$V" >"$TMP/tty" 2>"$TMP/err"
if [ "$(od -An -c "$TMP/tty" | tr -s ' ')" = " h e l l o \n" ]; then pass; else
    fail "get on a terminal: '$(od -An -c "$TMP/tty")', expected hello and a newline"; fi
"$BIN" get "$V" >"$TMP/pipe"
if [ "$(od -An -c "$TMP/pipe" | tr -s ' ')" = " h e l l o" ]; then pass; else
    fail "get to a file: '$(od -An -c "$TMP/pipe")', expected the 5 bytes alone"; fi
printf 'line\n' | "$BIN" set "$V" -
"$PTY" "$BIN" get "$V" >"$TMP/tty"
if [ "$(od -An -c "$TMP/tty" | tr -s ' ')" = " l i n e \n" ]; then pass; else
    fail "get on a terminal of a value ending in a newline: no second newline"; fi
"$PTY" "$BIN" get "$M" k >"$TMP/tty"
if [ "$(od -An -c "$TMP/tty" | tr -s ' ')" = " v \n" ]; then pass; else
    fail "get NAME KEY on a terminal: a newline after the value"; fi
if "$BIN" get --help | grep -q 'On a$' && "$BIN" get --help | grep -q '^terminal it adds a newline'; then
    pass
else
    fail "get --help says what it does on a terminal"
fi

# ---- rm of a region in use -------------------------------------------------
run rm "$M"
expect_rc 0 "rm of a map in use"
if grep -q "^sharedmem: note: $M is removed, but 2 opens still have it: its memory stays" "$TMP/err"; then
    pass
else
    fail "rm of a map with 2 holds: $(cat "$TMP/err")"
fi
for p in $PIDS; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
PIDS=""
run rm "$R"
if [ "$rc" -eq 0 ] && [ ! -s "$TMP/err" ]; then pass; else
    fail "rm of a region nobody has open says nothing: $(cat "$TMP/err")"; fi

# ---- watch of a removed region -----------------------------------------------
W="$P-w"
"$BIN" set "$W" one --persist
"$BIN" watch "$W" >"$TMP/w.out" 2>"$TMP/w.err" &
wp=$!
PIDS="$PIDS $wp"
sleep 0.5
"$BIN" rm "$W" 2>/dev/null
i=0
while kill -0 "$wp" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
if kill -0 "$wp" 2>/dev/null; then
    fail "watch goes on for 10 s after its region was removed"
else
    wait "$wp"
    wrc=$?
    if [ "$wrc" -eq 1 ] && grep -q "^sharedmem: watch $W: was removed, or now names a new region" \
        "$TMP/w.err"; then pass; else fail "watch of a removed region: exit $wrc, $(cat "$TMP/w.err")"; fi
fi
"$BIN" set "$W" one --persist
"$BIN" watch "$W" --follow >"$TMP/f.out" 2>"$TMP/f.err" &
wp=$!
PIDS="$PIDS $wp"
sleep 0.5
"$BIN" rm "$W" 2>/dev/null
"$BIN" set "$W" two --persist
i=0
while ! grep -q '^two$' "$TMP/f.out" && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
"$BIN" set "$W" three
i=0
while ! grep -q '^three$' "$TMP/f.out" && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill "$wp" 2>/dev/null
wait "$wp"
if [ "$(tr '\n' ' ' <"$TMP/f.out")" = "one two three " ] &&
    grep -q "^sharedmem: watch $W: removed, or made again: following the name$" "$TMP/f.err"; then
    pass
else
    fail "watch --follow across rm and re-create: '$(tr '\n' ' ' <"$TMP/f.out")' $(cat "$TMP/f.err")"
fi
"$BIN" rm "$W"

# ---- raw regions ---------------------------------------------------------------
R="$P-raw2"
"$BIN" create "$R" 64 --persist
printf 'raw bytes\001\377' | dd of="$SHM/smem.$R" bs=1 seek=128 conv=notrunc 2>/dev/null
"$BIN" get "$R" --raw >"$TMP/raw"
{ printf 'raw bytes\001\377'; head -c 53 /dev/zero; } >"$TMP/want"
if cmp -s "$TMP/raw" "$TMP/want"; then pass; else fail "get --raw to a file: the region's 64 bytes"; fi
"$PTY" "$BIN" get "$R" --raw >"$TMP/tty"
if head -n 1 "$TMP/tty" | grep -q '^00000000: 7261 7720 6279 7465 7301 ff00 0000 0000  raw bytes\.\.\.\.\.\.\.$'; then
    pass
else
    fail "get --raw on a terminal: a hex dump: $(head -n 1 "$TMP/tty")"
fi
run dump "$R"
if [ "$rc" -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 4 ] && head -n 1 "$TMP/out" | grep -q '^00000000: 7261 '; then
    pass
else
    fail "dump of a raw region: 4 lines of hex dump"
fi
run dump "$R" --json
if grep -q "^{\"name\":\"$R\",\"kind\":\"region\",\"size\":64,\"hex\":\"72617720627974657301ff0000" "$TMP/out"; then
    pass
else
    fail "dump --json of a raw region: $(cat "$TMP/out")"
fi
run set "$R" x
if [ "$rc" -eq 1 ] && grep -q "is a raw region (bytes with no value or map in them): \`sharedmem get $R --raw\` or \`sharedmem dump $R\` show its bytes" "$TMP/err"; then
    pass
else
    fail "set of a raw region says what it is and what works: $(cat "$TMP/err")"
fi
run get "$R" --raw --json
expect_rc 2 "get --raw --json"
"$BIN" rm "$R"

# ---- --help width --------------------------------------------------------------
cmds=$("$BIN" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')
[ -n "$cmds" ] || fail "no commands listed by sharedmem --help"
for c in "" $cmds; do
    # shellcheck disable=SC2086 # "" is sharedmem --help itself
    "$BIN" $c --help >"$TMP/help" 2>&1
    wide=$(awk 'length > 80 { n++ } END { print n + 0 }' "$TMP/help")
    if [ "$wide" -eq 0 ]; then pass; else
        fail "sharedmem $c --help: $wide lines over 80 columns: $(awk 'length > 80' "$TMP/help" | head -n 2)"
    fi
done

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
