#!/bin/sh
# test-cli.sh SHAREDMEM-BINARY — tests the `sharedmem` command-line tool
# on Linux.  test-cli-lib.sh holds the helpers and the checks shared with
# test-cli-win.sh, its Windows counterpart.
#
# Plain POSIX sh plus grep, sed, awk, od, cmp and stat(1) (python3, if
# present, also parses the JSON); exits 0 if every check
# passes, 1 if one fails, 77 to skip (no /dev/shm).  Every region it makes
# is named clitest-PID-* and is removed on exit.

set -u

BIN=${1:?usage: test-cli.sh PATH-TO-sharedmem}
SHM=/dev/shm

if [ ! -x "$BIN" ]; then
    echo "test-cli.sh: $BIN is not an executable" >&2
    exit 1
fi
if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then
    echo "SKIP: $SHM is missing or not writable"
    exit 77
fi

P="clitest-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-cli.XXXXXX") || exit 1
EMU=""
STRIP_CR=0
SOFT_STOP=TERM
# shellcheck source=tests/cli/test-cli-lib.sh
. "$(dirname "$0")/test-cli-lib.sh"
ME_UID=$(id -u)
ME_NAME=$(id -un 2>/dev/null || echo "$ME_UID")

cleanup() {
    for p in $PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    for f in "$SHM/smem.$P"-*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        if [ ! -L "$f" ] && [ "$(stat -c %u "$f")" != "$(id -u)" ]; then
            chown "$(id -u)" "$f" # another user's file that the test made
        fi
        "$BIN" rm "${f#"$SHM"/smem.}" 2>/dev/null || rm -f "$f"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

umask 077 # a mode we ask for must be applied whatever the umask


# expect_file NAME WHAT / expect_no_file NAME WHAT: the region's file.
expect_file() {
    if [ -e "$SHM/smem.$1" ]; then pass; else fail "$2: $SHM/smem.$1 should exist"; fi
}
expect_no_file() {
    if [ -e "$SHM/smem.$1" ]; then fail "$2: $SHM/smem.$1 should be gone"; else pass; fi
}
# what the shared checks call: here, the region's file
expect_region() { expect_file "$@"; }
expect_no_region() { expect_no_file "$@"; }

# make_stale NAME: a region of 4096 bytes whose only user was killed.
make_stale() {
    start_hold "$1" --create 4096 || return 1
    kill -9 "$HPID"
    wait "$HPID" 2>/dev/null
    return 0
}

# file_sum NAME: the checksum and size of the region's file; for a symbolic
# link, where it points.
file_sum() {
    if [ -L "$SHM/smem.$1" ]; then readlink "$SHM/smem.$1"; else cksum <"$SHM/smem.$1"; fi
}

# expect_left NAME SUM WHAT: the region's file is still there, unchanged.
expect_left() {
    if [ -e "$SHM/smem.$1" ] || [ -L "$SHM/smem.$1" ]; then
        if [ "$(file_sum "$1")" = "$2" ]; then pass; else fail "$3: $SHM/smem.$1 was changed"; fi
    else
        fail "$3: $SHM/smem.$1 should be left"
    fi
}

# expect_gc_reports LINE1 LINE2 LINE3 WHAT: the last gc exited 1 and its
# stderr is exactly these lines, in any order (an empty LINE3: two lines).
expect_gc_reports() {
    expect_rc 1 "$4"
    n=0
    for line in "$1" "$2" "$3"; do
        [ -n "$line" ] || continue
        n=$((n + 1))
        if has_line "$TMP/err" "$line"; then pass; else fail "$4: stderr lacks '$line'"; fi
    done
    if [ "$(wc -l <"$TMP/err")" -eq "$n" ]; then pass; else
        fail "$4: stderr should have $n lines, one for each name left"; fi
}

# expect_gc_left NAME LINE SUM WHAT: gc NAME leaves NAME, saying LINE, and exits 1.
expect_gc_left() {
    run gc "$1"
    expect_rc 1 "$4: gc NAME"
    expect_err_line "$2" "$4: gc NAME"
    expect_left "$1" "$3" "$4: gc NAME"
}

check_help
check_usage_errors

# ---------------------------------------------------------------------------
# create, stat, ls

A="$P-a"
run create "$A" 64K --persist --mode 0640
expect_rc 0 "create --persist --mode 0640"
if [ -s "$TMP/err" ]; then fail "a persistent create prints nothing on stderr"; else pass; fi
expect_file "$A" "persistent region survives the command"
mode=$(stat -c %a "$SHM/smem.$A" 2>/dev/null)
if [ "$mode" = 640 ]; then pass; else fail "mode of $A is '$mode', expected 640 (umask 077)"; fi

run stat "$A"
expect_rc 0 "stat"
expect_field name "$A" "stat name"
expect_field kind region "stat kind"
if stat_field size | grep -q '^65536 '; then pass; else fail "stat size 65536"; fi
expect_field state ready "stat state"
expect_field persistent yes "stat persistent"
expect_field "in use" no "stat in use"
expect_field mode 0640 "stat mode"
if stat_field owner | grep -q "uid $ME_UID\|^$ME_UID\$"; then pass; else fail "stat owner"; fi

run stat --json "$A" # options before the name
expect_rc 0 "stat --json"
if [ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -q '^{.*}$' "$TMP/out"; then pass; else
    fail "stat --json prints one object"; fi
now=$(date +%s)
expect_json "$TMP/out" "$A" "stat --json" '"size":65536,' '"kind":"region"' \
    '"persistent":true' '"in_use":false' '"state":"ready"' '"error":null' \
    "\"uid\":$ME_UID," '"mode":"0640"' '"created":'
created=$(sed -n 's/.*"created":\([0-9][0-9]*\).*/\1/p' "$TMP/out")
if [ -n "$created" ] && [ "$created" -gt $((now - 600)) ] && [ "$created" -le $((now + 5)) ]; then
    pass
else
    fail "stat --json created '$created' is not about now ($now)"
fi

B="$P-b"
run create --persist "$B" 1M # options before positionals
expect_rc 0 "create with the option first"
run ls
expect_rc 0 "ls"
if head -n 1 "$TMP/out" | grep -q '^NAME  *KIND  *BYTES  *MEMORY  *MAXVALUE  *ENTRIES  *PERSIST  *USERS  *STATE  *OWNER  *MODE$'; then
    pass
else
    fail "ls header"
fi
row=$(awk -v n="$A" '$1 == n' "$TMP/out")
if [ "$row" ] && echo "$row" | awk -v o="$ME_NAME" -v u="$ME_UID" \
    '{ exit !($2 == "region" && $3 == 65536 && $4 == "64K" && $5 == "-" && $6 == "-" &&
              $7 == "yes" && $8 == 0 && $9 == "ready" && ($10 == o || $10 == u) &&
              $11 == "0640") }'; then
    pass
else
    fail "ls row of $A: '$row'"
fi
if awk -v n="$B" '$1 == n && $3 == 1048576 && $4 == "1.0M" && $11 == "0600"' "$TMP/out" |
    grep -q .; then pass; else
    fail "ls row of $B (1M, default mode 0600)"; fi
# the table is aligned: the BYTES column ends at the same place on every line
if awk 'NR == 1 { e = index($0, "BYTES") + 4 } NR > 1 { if (substr($0, e + 1, 2) != "  ") bad = 1 }
        END { exit bad }' "$TMP/out"; then pass; else fail "ls columns are aligned"; fi

run ls --json
expect_rc 0 "ls --json"
if head -n 1 "$TMP/out" | grep -q '^\[' && tail -n 1 "$TMP/out" | grep -q '\]$'; then pass; else
    fail "ls --json prints an array"; fi
expect_json "$TMP/out" "$A" "ls --json" '"size":65536,' '"kind":"region"' '"persistent":true' \
    '"in_use":false' '"state":"ready"' '"error":null' "\"uid\":$ME_UID," '"mode":"0640"'
expect_json "$TMP/out" "$B" "ls --json" '"size":1048576,' '"mode":"0600"'
run ls --all --json
expect_rc 0 "ls --all --json"
expect_json "$TMP/out" "$A" "ls --all --json" '"persistent":true'

run create "$A" 64K --persist
expect_rc 1 "create of an existing region"
expect_err_line "sharedmem: create $A: region already exists" "create of an existing region"

run stat "$P-missing"
expect_rc 1 "stat of a missing region"
expect_err_line "sharedmem: stat $P-missing: no such region" "stat of a missing region"
if [ -s "$TMP/out" ]; then fail "a failed stat prints nothing on stdout"; else pass; fi

# Without --persist the region goes with the command, and a note says so.
C="$P-c"
run create "$C" 4096
expect_rc 0 "create without --persist"
if grep -q "not persistent" "$TMP/err"; then pass; else fail "create without --persist notes it"; fi
expect_no_file "$C" "non-persistent region is gone after create exits"
run stat "$C"
expect_rc 1 "stat of the non-persistent region after create"

run create "$P-k" 1KiB --persist
expect_rc 0 "size with KiB"
run stat "$P-k" --json
expect_json "$TMP/out" "$P-k" "1KiB" '"size":1024,'

# "--" ends the options
run create -- "$P-d" 4K --persist
expect_usage "after --, --persist is an extra argument"
expect_no_file "$P-d" "nothing created by a usage error"

# ---------------------------------------------------------------------------
# rm

run rm "$B"
expect_rc 0 "rm"
if [ -s "$TMP/out" ] || [ -s "$TMP/err" ]; then fail "rm prints nothing"; else pass; fi
expect_no_file "$B" "rm removes the file"
run rm "$B"
expect_rc 1 "rm of a missing region"
expect_err_line "sharedmem: rm $B: no such region" "rm of a missing region"

run create "$P-r1" 4K --persist
run create "$P-r2" 4K --persist
run rm "$P-r1" "bad/name" "$P-r2"
expect_usage "rm with an invalid name among others"
expect_file "$P-r1" "names are checked before anything is removed"
run rm "$P-r1" "$P-missing" "$P-r2"
expect_rc 1 "rm continues after an error"
expect_err_line "sharedmem: rm $P-missing: no such region" "rm continues after an error"
expect_no_file "$P-r1" "rm removed the first"
expect_no_file "$P-r2" "rm removed the last after the error"

# ---------------------------------------------------------------------------
# hold

H="$P-h"
for sig in TERM INT; do
    if start_hold "$H" --create 8K; then
        if grep -q "^holding $H (pid $HPID); Ctrl-C to release\$" "$HERR"; then pass; else
            cp "$HERR" "$TMP/err"
            fail "hold message for $H"; fi
        nap
        expect_file "$H" "hold keeps a non-persistent region ($sig)"
        run stat "$H" --json
        expect_json "$TMP/out" "$H" "held region" '"size":8192,' '"persistent":false' \
            '"in_use":true' '"state":"ready"'
        stop_hold "$sig"
        RC=$HRC LAST="hold $H --create 8K, then SIG$sig"
        cp "$HERR" "$TMP/err"
        : >"$TMP/out"
        expect_rc 0 "hold exits 0 on SIG$sig"
        if grep -q "^released $H\$" "$HERR"; then pass; else fail "hold says it released $H"; fi
        expect_no_file "$H" "hold releases the region on SIG$sig"
    fi
done

check_hold_value "$P-hv"

# --capacity and --mode for the value hold creates
HC="$P-hc"
if start_hold "$HC" --capacity 64 --mode 0640; then
    if grep -q "^sharedmem: note: created $HC, a value of 64 bytes\$" "$HERR"; then pass; else
        fail "hold --capacity 64 notes the capacity"; fi
    mode=$(stat -c %a "$SHM/smem.$HC" 2>/dev/null)
    if [ "$mode" = 640 ]; then pass; else fail "hold --mode 0640: the mode is '$mode'"; fi
    run set "$HC" "$(printf '%064d' 7)"
    expect_rc 0 "set of 64 bytes into a value of 64"
    run set "$HC" "$(printf '%065d' 7)"
    expect_rc 1 "set of 65 bytes into a value of 64"
    expect_err_line "sharedmem: set $HC: the value (65 bytes) is larger than the capacity (64 bytes); nothing was stored" \
        "set of more than the capacity"
    stop_hold INT
    RC=$HRC LAST="hold $HC --capacity 64, then SIGINT"
    expect_rc 0 "hold --capacity exits 0 on SIGINT"
    expect_no_file "$HC" "hold --capacity releases its value"
fi

# hold without --create attaches to an existing (persistent) region
if start_hold "$A"; then
    run stat "$A" --json
    expect_json "$TMP/out" "$A" "held persistent region" '"in_use":true'
    stop_hold TERM
    RC=$HRC LAST="hold $A"
    expect_rc 0 "hold of an existing region exits 0"
    expect_file "$A" "releasing a persistent region keeps it"
fi

# ---------------------------------------------------------------------------
# set and get

V="$P-v"
run set "$V" hello
expect_rc 1 "set of a missing value without --persist"
expect_err_line "sharedmem: set $V: no such region (add --persist to create it, or keep it alive with \`sharedmem hold $V\`)" \
    "set of a missing value without --persist"
expect_no_file "$V" "set without --persist creates nothing"

run set "$V" hello --persist
expect_rc 0 "set --persist of a new value"
expect_quiet "set --persist"
expect_file "$V" "set --persist creates a persistent value"
run stat "$V" --json
expect_json "$TMP/out" "$V" "value made by set --persist" '"kind":"value"' \
    '"persistent":true' '"in_use":false' '"state":"ready"' '"mode":"0600"'
run ls
if awk -v n="$V" '$1 == n && $2 == "value" && $5 == 4096' "$TMP/out" | grep -q .; then pass; else
    fail "ls shows the kind 'value'"; fi

check_values "$V"


# more than the capacity: exit 1, nothing changes
W="$P-cap"
run set "$W" 0123456789abcdef --persist --capacity 16 --mode 0640
expect_rc 0 "set --persist --capacity 16 --mode 0640"
mode=$(stat -c %a "$SHM/smem.$W" 2>/dev/null)
if [ "$mode" = 640 ]; then pass; else fail "set --mode 0640: the mode is '$mode'"; fi
check_capacity "$W"


# hold of an existing value attaches to it, whatever its capacity, and
# creates nothing
if start_hold "$W" --capacity 8; then
    if grep -q "note:" "$HERR"; then fail "hold of an existing value notes no creation"; else pass; fi
    run stat "$W" --json
    expect_json "$TMP/out" "$W" "held persistent value" '"kind":"value"' '"in_use":true'
    stop_hold TERM
    RC=$HRC LAST="hold $W"
    expect_rc 0 "hold of an existing value exits 0"
    expect_file "$W" "releasing a persistent value keeps it"
fi

check_kind_errors "$A"

check_watch "$V"

if [ -w /dev/full ]; then
    "$BIN" watch "$V" >/dev/full 2>"$TMP/err" &
    WPID=$!
    PIDS="$PIDS $WPID"
    wait_in_time "$WPID" 5 # it exits on its own at once
    : >"$TMP/out"
    RC=$SRC LAST="sharedmem watch $V >/dev/full"
    if [ "$SRC" -eq 1 ] && grep -q "^sharedmem: watch $V: error writing the output\$" "$TMP/err"; then
        pass
    else
        fail "watch reports a write error and exits 1"
    fi
fi

# ---------------------------------------------------------------------------
# maps

M="$P-m"
run map "$M" --entries 4 --value-size 16 --persist --mode 0640
expect_rc 0 "map --persist --mode 0640"
expect_quiet "map --persist"
expect_file "$M" "map --persist keeps the map"
mode=$(stat -c %a "$SHM/smem.$M" 2>/dev/null)
if [ "$mode" = 640 ]; then pass; else fail "map --mode 0640: the mode is '$mode'"; fi
run stat "$M" --json
expect_json "$TMP/out" "$M" "map made by map --persist" '"kind":"map"' '"capacity":4,' \
    '"entries":0,' '"max_value":16,' '"persistent":true' '"in_use":false' '"mode":"0640"'
run ls
if awk -v n="$M" '$1 == n && $2 == "map" && $5 == 16 && $7 == "yes" && $6 == "0/4"' "$TMP/out" |
    grep -q .; then pass; else fail "ls row of an empty map"; fi

check_maps "$M"
check_map_kinds "$M" "$V" "$A"

# options in any order, short forms, sizes with suffixes
M2="$P-m2"
run map -n 2 "$M2" -s 1K -p
expect_rc 0 "map with short options"
run stat "$M2" --json
expect_json "$TMP/out" "$M2" "map -n 2 -s 1K" '"capacity":2,' '"max_value":1024,'
run rm "$M2"

# without --persist: gone at once, and a note says so
run map "$M2" --entries 4 --value-size 16
expect_rc 0 "map without --persist"
expect_err_line "sharedmem: note: $M2 is not persistent and was removed when this command exited; use --persist or \`sharedmem hold\`" \
    "map without --persist notes it"
expect_no_file "$M2" "a map that is not persistent goes with the command"

# a map of keys alone (value size 0)
M0="$P-m0"
run map "$M0" --entries 2 --value-size 0 --persist
expect_rc 0 "map --value-size 0"
run set "$M0" flag ""
expect_rc 0 "set of an empty value in a map of keys alone"
run set "$M0" flag x
expect_rc 1 "set of a byte in a map of keys alone"
expect_err_line "sharedmem: set $M0: the value (1 bytes) is larger than the map's value size (0 bytes); nothing was stored" \
    "set of a byte in a map of keys alone"
run keys "$M0"
if [ "$(cat "$TMP/out")" = flag ]; then pass; else fail "keys of a map of keys alone"; fi
run rm "$M0"

# too large for a region
run map "$M2" --entries 1073741824 --value-size 1M --persist
expect_rc 1 "map larger than a region can be"
expect_err_line "sharedmem: map $M2: a map of 1073741824 entries of 1048576 bytes would be larger than the largest region (1T)" \
    "map larger than a region can be"
expect_no_file "$M2" "a map too large is not created"

# binary keys: shown escaped by keys and dump, exact with keys -0 and get
BK=$(printf 'k\001\303\251\377=\\ x')
run set "$M" "$BK" v
expect_rc 0 "set of a key with binary bytes"
run keys "$M"
printf 'k\\x01\303\251\\xff=\\\\ x\n' >"$TMP/want"
expect_stdout "$TMP/want" "keys shows a binary key escaped, UTF-8 as it is"
run keys "$M" --null
printf '%s\000' "$BK" >"$TMP/want"
expect_stdout "$TMP/want" "keys --null prints the key's exact bytes"
run dump "$M" --json
expect_json_doc "$TMP/out" "dump --json of a binary key"
expect_out "$(printf '{"key":"k\\u0001\303\251\\u00ff=\\\\ x","length":1,')" "dump --json escapes a binary key"
printf 'v' >"$TMP/want"
run get "$M" "$BK"
expect_stdout "$TMP/want" "get of a binary key"
run get "$M" "$(printf 'no\nkey')"
expect_err_line "sharedmem: get $M: no key 'no\\nkey'" "a missing key is shown escaped, on one line"
run del "$M" "$BK"
expect_rc 0 "del of a binary key"
K64=$(printf '%064d' 5)
run set "$M" "$K64" "64-byte key"
expect_rc 0 "set of a key of 64 bytes"
run del "$M" "$K64"
expect_rc 0 "del of a key of 64 bytes"

check_map_watch "$M"
check_incr_race "$M" 50

# hold creates a map, which the map commands use while it runs
HM="$P-hm"
if start_hold "$HM" --entries 8 --value-size 32 --mode 0640; then
    if has_line "$HERR" "sharedmem: note: created $HM, a map of 8 entries of 32 bytes"; then pass; else
        cp "$HERR" "$TMP/err"
        fail "hold --entries notes the map it created"
    fi
    run stat "$HM" --json
    expect_json "$TMP/out" "$HM" "map created by hold" '"kind":"map"' '"capacity":8,' \
        '"max_value":32,' '"persistent":false' '"in_use":true' '"mode":"0640"'
    run incr "$HM" hits
    expect_rc 0 "incr of a held map"
    stop_hold TERM
    RC=$HRC LAST="hold $HM --entries 8 --value-size 32"
    expect_rc 0 "hold of a map exits 0"
    expect_no_file "$HM" "the map hold created goes with it"
fi
if start_hold "$M" --entries 9 --value-size 9; then
    if grep -q "note:" "$HERR"; then fail "hold of an existing map notes no creation"; else pass; fi
    stop_hold TERM
    expect_file "$M" "releasing a persistent map keeps it"
fi

# a watched map stays alive after its holder is gone
if start_hold "$HM" --entries 2 --value-size 8; then
    start_watch "$HM"
    run set "$HM" k v
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch of a held map"; fi
    stop_hold TERM
    expect_file "$HM" "a watched map outlives its holder"
    run set "$HM" k w
    if wait_lines "$WOUT" 2 && [ "$(sed -n 2p "$WOUT")" = "set k	w" ]; then pass; else
        watch_fail "watch prints the change made after the holder left"; fi
    stop_in_time "$WPID" TERM 2
    expect_no_file "$HM" "the last watcher removes the map"
fi

if [ -w /dev/full ]; then
    "$BIN" watch "$M" >/dev/full 2>"$TMP/err" &
    WPID=$!
    PIDS="$PIDS $WPID"
    run set "$M" k v # a line for watch to write, if it has not failed yet
    wait_in_time "$WPID" 5
    : >"$TMP/out"
    RC=$SRC LAST="sharedmem watch $M >/dev/full"
    if [ "$SRC" -eq 1 ] && grep -q "^sharedmem: watch $M: error writing the output\$" "$TMP/err"; then
        pass
    else
        fail "watch of a map reports a write error and exits 1"
    fi
fi

# ---------------------------------------------------------------------------
# garbage that gc cannot remove

# check_gc_garbage: a damaged region, a symbolic link and (as root, if the
# user nobody exists) another user's file, each on a name of this test.
# gc leaves each, says why and exits 1; stat, ls and --json say what each
# is; a stale region beside them is still removed.
check_gc_garbage() {
    D="$P-bad" L="$P-link" F="$P-foreign"

    run create "$D" 4096 --persist
    expect_rc 0 "create of the region to damage"
    printf 'not a sharedmem header: garbage!' |
        dd of="$SHM/smem.$D" bs=32 count=1 conv=notrunc 2>/dev/null
    dsum=$(file_sum "$D")
    dline="sharedmem: gc $D: damaged, not removed: remove it with \`sharedmem rm $D\`"
    run stat "$D"
    expect_rc 0 "stat of a damaged region"
    expect_field state "bad: damaged: remove it with \`sharedmem rm $D\`" \
        "stat says that a damaged region is damaged"
    expect_field error SMEM_EBADREGION "stat of a damaged region"
    run stat "$D" --json
    expect_json "$TMP/out" "$D" "stat --json of a damaged region" '"state":"bad"' \
        '"error":"SMEM_EBADREGION"' '"problem":"damaged"'
    run ls
    if grep -F -e "$D " "$TMP/out" | grep -q -F -e "bad: damaged: remove it with \`sharedmem rm $D\`"
    then pass; else fail "ls says that a damaged region is damaged"; fi
    expect_gc_left "$D" "$dline" "$dsum" "a damaged region"

    echo "the target of a link" >"$TMP/target"
    ln -s "$TMP/target" "$SHM/smem.$L"
    lsum=$(file_sum "$L")
    lline="sharedmem: gc $L: a symbolic link, not removed"
    run stat "$L"
    expect_rc 0 "stat of a symbolic link"
    expect_field state "bad: a symbolic link" "stat says that a symbolic link is one"
    run stat "$L" --json
    expect_json "$TMP/out" "$L" "stat --json of a symbolic link" '"state":"bad"' \
        '"problem":"symlink"'
    expect_gc_left "$L" "$lline" "$lsum" "a symbolic link"
    if [ "$(cat "$TMP/target")" = "the target of a link" ]; then pass; else
        fail "gc leaves the target of a symbolic link alone"; fi

    fline="" nobody=$(id -u nobody 2>/dev/null)
    if [ "$ME_UID" != 0 ] || [ -z "$nobody" ]; then
        echo "NOTE: not root, or no user nobody: another user's file is not tried"
    else
        run create "$F" 4096 --persist
        chown nobody "$SHM/smem.$F"
        fsum=$(file_sum "$F")
        fwhat="another user's file (owner nobody, uid $nobody)"
        fline="sharedmem: gc $F: $fwhat, not removed"
        run stat "$F"
        expect_rc 0 "stat of another user's file"
        expect_field state "bad: $fwhat" "stat names the owner of another user's file"
        run stat "$F" --json
        expect_json "$TMP/out" "$F" "stat --json of another user's file" '"state":"bad"' \
            '"error":"SMEM_EACCES"' '"problem":"another_user"' "\"uid\":$nobody,"
        run ls
        expect_no_out "$F" "ls without --all does not list another user's file"
        run ls --all
        if grep -F -e "$F " "$TMP/out" | grep -q -F -e "bad: $fwhat"; then pass; else
            fail "ls --all names the owner of another user's file"; fi
        expect_gc_left "$F" "$fline" "$fsum" "another user's file"
    fi

    # all at once, beside a stale region: each is reported, the stale one goes
    if make_stale "$S"; then
        run gc --dry-run --prefix "$P-"
        expect_gc_reports "$dline" "$lline" "$fline" "gc --dry-run --prefix with garbage"
        expect_out "would remove $S" "gc --dry-run lists a stale region beside garbage"
        run gc --prefix "$P-"
        expect_gc_reports "$dline" "$lline" "$fline" "gc --prefix with garbage"
        expect_out "removed $S" "gc removes a stale region beside garbage"
        expect_no_file "$S" "gc removes a stale region beside garbage"
    fi
    expect_left "$D" "$dsum" "gc --prefix"
    expect_left "$L" "$lsum" "gc --prefix"

    # the way out that gc gives works
    run rm "$D"
    expect_rc 0 "rm of a damaged region"
    expect_no_file "$D" "rm removes a damaged region"
    rm -f "$SHM/smem.$L"
    if [ -n "$fline" ]; then
        chown "$ME_UID" "$SHM/smem.$F"
        run rm "$F"
    fi
}

# ---------------------------------------------------------------------------
# gc

# Every gc here is given --prefix "$P-" or names: a test never collects
# regions that it did not make.
S="$P-s"   # stale: its holder is killed
O="$P-o"   # stale too, outside the prefix "$P-s"
K="$P-k2"  # held: gc must keep it
if make_stale "$S" && make_stale "$O"; then
    expect_file "$S" "a killed holder leaves the file"
    run stat "$S"
    expect_rc 0 "stat of a stale region"
    expect_field state stale "a killed holder leaves a stale region"
    expect_field "in use" no "a stale region is not in use"

    if start_hold "$K" --create 4096; then
        KPID=$HPID
        run gc --dry-run --prefix "$P-"
        expect_rc 0 "gc --dry-run --prefix"
        expect_out "would remove $S" "gc --dry-run lists the stale region"
        expect_out "would remove $O" "gc --dry-run lists every stale region of the prefix"
        expect_no_out "$K" "gc --dry-run does not list a held region"
        expect_no_out "$A" "gc --dry-run does not list a persistent region"
        expect_file "$S" "gc --dry-run removes nothing"

        run gc --prefix "$P-s"
        expect_rc 0 "gc --prefix"
        expect_out "removed $S" "gc --prefix removes the stale region of the prefix"
        expect_no_out "$O" "gc --prefix leaves the names outside the prefix"
        expect_no_file "$S" "gc --prefix removes the stale region"
        expect_file "$O" "gc --prefix keeps a stale region outside the prefix"

        run gc --prefix "$P-"
        expect_rc 0 "gc --prefix of the whole test"
        expect_out "removed $O" "gc reports the stale region"
        expect_no_out "$K" "gc keeps a held region"
        expect_no_out "$A" "gc keeps a persistent region"
        expect_no_file "$O" "gc removes the stale region"
        expect_file "$K" "gc keeps the held region's file"
        expect_file "$A" "gc keeps the persistent region's file"
        run stat "$K"
        expect_field state ready "the held region is still ready after gc"

        run gc "$K"
        expect_rc 0 "gc NAME of a held region"
        expect_quiet "gc NAME of a held region"
        expect_file "$K" "gc NAME keeps a held region"

        HPID=$KPID
        stop_hold TERM
        expect_no_file "$K" "the held region goes when released"
    fi
fi
run gc "$P-missing"
expect_rc 1 "gc of a missing region"
expect_err_line "sharedmem: gc $P-missing: no such region" "gc of a missing region"
run gc --prefix "$P-" "$A"
expect_usage "gc with both --prefix and NAME"

check_gc_garbage

# ---------------------------------------------------------------------------
# the persistent region is removed last

run rm "$A" "$P-k" "$V" "$W" "$M"
expect_rc 0 "rm of regions, values and maps"
expect_no_file "$A" "rm removes $A"
expect_no_file "$V" "rm removes the value $V"
expect_no_file "$M" "rm removes the map $M"

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
