#!/bin/sh
# test-cli.sh SHAREDMEM-BINARY — tests the `sharedmem` command-line tool.
#
# Plain POSIX sh plus grep, sed, awk and stat(1); exits 0 if every check
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
PIDS=""
FAILS=0
CHECKS=0
ME_UID=$(id -u)
ME_NAME=$(id -un 2>/dev/null || echo "$ME_UID")

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

umask 077 # a mode we ask for must be applied whatever the umask

# ---------------------------------------------------------------------------
# Helpers

# run ARGS...: runs the tool; sets RC, output in $TMP/out and $TMP/err.
run() {
    "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    LAST="sharedmem $*"
}

pass() { CHECKS=$((CHECKS + 1)); }

fail() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    echo "FAIL: $1"
    echo "  command: $LAST (exit $RC)"
    sed 's/^/  stdout: /' "$TMP/out"
    sed 's/^/  stderr: /' "$TMP/err"
}

# expect_rc N WHAT
expect_rc() {
    if [ "$RC" -eq "$1" ]; then pass; else fail "$2: expected exit $1"; fi
}

# expect_out FIXED-STRING WHAT: stdout contains the string.
expect_out() {
    if grep -F -q -e "$1" "$TMP/out"; then pass; else fail "$2: stdout lacks '$1'"; fi
}

# expect_no_out FIXED-STRING WHAT
expect_no_out() {
    if grep -F -q -e "$1" "$TMP/out"; then fail "$2: stdout has '$1'"; else pass; fi
}

# expect_err_line EXACT-LINE WHAT: stderr is exactly this one line.
expect_err_line() {
    if [ "$(wc -l <"$TMP/err")" -eq 1 ] && [ "$(cat "$TMP/err")" = "$1" ]; then
        pass
    else
        fail "$2: stderr should be the one line '$1'"
    fi
}

# expect_usage WHAT: exit 2, a message and a hint to run --help, nothing on stdout.
expect_usage() {
    if [ "$RC" -eq 2 ] && grep -q '^sharedmem: ' "$TMP/err" &&
        grep -q -e "--help" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 2 ] &&
        [ ! -s "$TMP/out" ]; then
        pass
    else
        fail "$1: expected a usage error (exit 2, message + --help hint)"
    fi
}

# expect_file NAME WHAT / expect_no_file NAME WHAT: the region's file.
expect_file() {
    if [ -e "$SHM/smem.$1" ]; then pass; else fail "$2: $SHM/smem.$1 should exist"; fi
}
expect_no_file() {
    if [ -e "$SHM/smem.$1" ]; then fail "$2: $SHM/smem.$1 should be gone"; else pass; fi
}

# stat_field KEY: the value of "KEY: value" in the last stdout.
stat_field() {
    sed -n "s/^$1: *//p" "$TMP/out"
}

# expect_field KEY VALUE WHAT (stat's human output)
expect_field() {
    v=$(stat_field "$1")
    if [ "$v" = "$2" ]; then pass; else fail "$3: '$1' is '$v', expected '$2'"; fi
}

# json_has FILE NAME FRAGMENT...: the JSON object of NAME (one per line)
# contains every fragment, e.g. '"persistent":true'.
expect_json() {
    file=$1 name=$2 what=$3
    shift 3
    line=$(grep -F -e "{\"name\":\"$name\"," "$file")
    if [ -z "$line" ]; then
        fail "$what: no JSON object for $name"
        return
    fi
    for frag in "$@"; do
        case "$line" in
        *"$frag"*) pass ;;
        *) fail "$what: JSON for $name lacks $frag" ;;
        esac
    done
}

nap() { sleep 0.1 2>/dev/null || sleep 1; }

# start_hold NAME [ARGS...]: runs `hold NAME ARGS` in the background and
# waits until it holds the region; sets HPID, and HERR to its stderr file.
HOLDS=0
start_hold() {
    name=$1
    shift
    HOLDS=$((HOLDS + 1))
    HERR="$TMP/hold-$HOLDS.err" # a new file each time: the background
    : >"$HERR"                  # shell may open it after we first look
    "$BIN" hold "$name" "$@" >/dev/null 2>>"$HERR" &
    HPID=$!
    PIDS="$PIDS $HPID"
    i=0
    while [ $i -lt 100 ]; do
        grep -q "^holding $name " "$HERR" && return 0
        kill -0 "$HPID" 2>/dev/null || break
        nap
        i=$((i + 1))
    done
    LAST="sharedmem hold $name $*" RC=-1
    cp "$HERR" "$TMP/err"
    : >"$TMP/out"
    fail "hold $name did not start"
    return 1
}

# stop_hold SIGNAL: sends SIGNAL to $HPID and waits; sets HRC.
stop_hold() {
    kill -"$1" "$HPID"
    wait "$HPID"
    HRC=$?
}

# ---------------------------------------------------------------------------
# version and help

run --version
expect_rc 0 "--version"
expect_out "sharedmem " "--version"
run version
expect_rc 0 "version"
if grep -q '^sharedmem [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' "$TMP/out"; then pass; else
    fail "version prints 'sharedmem X.Y.Z'"; fi

for h in --help -h help; do
    run $h
    expect_rc 0 "$h"
    if head -n 1 "$TMP/out" | grep -q '^Usage: sharedmem '; then pass; else
        fail "$h prints a usage line"; fi
    for c in ls stat create rm gc hold version help; do
        expect_out "  $c " "$h lists $c"
    done
done

for c in ls stat create rm gc hold version help; do
    for form in "$c --help" "$c -h" "help $c"; do
        # shellcheck disable=SC2086
        run $form
        expect_rc 0 "$form"
        if head -n 1 "$TMP/out" | grep -q "^Usage: sharedmem $c"; then pass; else
            fail "$form prints 'Usage: sharedmem $c'"; fi
        expect_out "Exit status:" "$form documents the exit status"
        expect_out "--help" "$form documents --help"
        if [ -s "$TMP/err" ]; then fail "$form writes nothing on stderr"; else pass; fi
    done
done
run create --help
for o in --persist --mode; do expect_out "$o" "create --help documents $o"; done
run ls --help
for o in --json --all; do expect_out "$o" "ls --help documents $o"; done
run hold --help
expect_out "--create" "hold --help documents --create"
run gc --help
expect_out "--dry-run" "gc --help documents --dry-run"
run stat "$P-x" --help
expect_rc 0 "--help after an argument"

# ---------------------------------------------------------------------------
# usage errors: exit 2

run
expect_usage "no command"
run bogus
expect_usage "unknown command"
run --bogus
expect_usage "unknown tool option"
run ls --bogus
expect_usage "unknown option of ls"
run ls extra
expect_usage "ls with an argument"
run stat
expect_usage "stat without NAME"
run stat a b
expect_usage "stat with two names"
run create "$P-u"
expect_usage "create without SIZE"
run create "$P-u" 1K extra
expect_usage "create with an extra argument"
run create "$P-u" 1K --mode
expect_usage "--mode without a value"
run create "$P-u" 1K --persist=yes
expect_usage "a flag given a value"
run rm
expect_usage "rm without NAME"
run hold
expect_usage "hold without NAME"
run help bogus
expect_usage "help of an unknown command"

for s in abc "" 0 0K -1 +5 " 5" "5 " 1.5K 12X 4KB 4Ki 1Kib 99999999999999999999999 \
    18446744073709551616 17179869184G 2T 1099511627777; do
    run create "$P-u" -- "$s"
    expect_usage "create with size '$s'"
    if grep -q "invalid size" "$TMP/err"; then pass; else fail "size '$s': 'invalid size' in the message"; fi
done
run hold "$P-u" --create 12X
expect_usage "hold --create with a bad size"

for m in 8 0 00 1000 07777 abc "" 0x1ff 9 -600 "0640 "; do
    run create "$P-u" 4096 --mode "$m"
    expect_usage "create with mode '$m'"
    if grep -q "invalid mode" "$TMP/err"; then pass; else fail "mode '$m': 'invalid mode' in the message"; fi
done
run hold "$P-u" --mode 0600
expect_usage "hold --mode without --create"
expect_no_file "$P-u" "nothing created by a usage error"

long=$(printf '%065d' 0)
for n in "bad/name" ".hidden" "_x" "a b" "$long" "é"; do
    run stat "$n"
    expect_usage "stat with the invalid name '$n'"
    run create "$n" 4096
    expect_usage "create with the invalid name '$n'"
done
run create -- -x 4096
expect_usage "create with the name '-x'"

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
if head -n 1 "$TMP/out" | grep -q '^NAME  *SIZE  *KIND  *PERSIST  *IN USE  *STATE  *OWNER  *MODE$'; then
    pass
else
    fail "ls header"
fi
row=$(awk -v n="$A" '$1 == n' "$TMP/out")
if [ "$row" ] && echo "$row" | awk -v o="$ME_NAME" -v u="$ME_UID" \
    '{ exit !($2 == 65536 && $3 == "region" && $4 == "yes" && $5 == "no" && $6 == "ready" &&
              ($7 == o || $7 == u) && $8 == "0640") }'; then
    pass
else
    fail "ls row of $A: '$row'"
fi
if awk -v n="$B" '$1 == n && $2 == 1048576 && $8 == "0600"' "$TMP/out" | grep -q .; then pass; else
    fail "ls row of $B (1M, default mode 0600)"; fi
# the table is aligned: the SIZE column ends at the same place on every line
if awk 'NR == 1 { e = index($0, "SIZE") + 3 } NR > 1 { if (substr($0, e + 1, 2) != "  ") bad = 1 }
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

run hold "$P-missing"
expect_rc 1 "hold of a missing region"
expect_err_line "sharedmem: hold $P-missing: no such region" "hold of a missing region"

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
# gc

S="$P-s"   # stale: its holder is killed
K="$P-k2"  # held: gc must keep it
if start_hold "$S" --create 4096; then
    kill -9 "$HPID"
    wait "$HPID" 2>/dev/null
    expect_file "$S" "a killed holder leaves the file"
    run stat "$S"
    expect_rc 0 "stat of a stale region"
    expect_field state stale "a killed holder leaves a stale region"
    expect_field "in use" no "a stale region is not in use"

    if start_hold "$K" --create 4096; then
        KPID=$HPID
        run gc --dry-run
        expect_rc 0 "gc --dry-run"
        expect_out "would remove $S" "gc --dry-run lists the stale region"
        expect_no_out "$K" "gc --dry-run does not list a held region"
        expect_no_out "$A" "gc --dry-run does not list a persistent region"
        expect_file "$S" "gc --dry-run removes nothing"

        run gc
        expect_rc 0 "gc"
        expect_out "removed $S" "gc reports the stale region"
        expect_no_out "$K" "gc keeps a held region"
        expect_no_out "$A" "gc keeps a persistent region"
        expect_no_file "$S" "gc removes the stale region"
        expect_file "$K" "gc keeps the held region's file"
        expect_file "$A" "gc keeps the persistent region's file"
        run stat "$K"
        expect_field state ready "the held region is still ready after gc"

        run gc "$K"
        expect_rc 0 "gc NAME of a held region"
        expect_file "$K" "gc NAME keeps a held region"

        HPID=$KPID
        stop_hold TERM
        expect_no_file "$K" "the held region goes when released"
    fi
fi
run gc "$P-missing"
expect_rc 1 "gc of a missing region"
expect_err_line "sharedmem: gc $P-missing: no such region" "gc of a missing region"

# ---------------------------------------------------------------------------
# the persistent region is removed last

run rm "$A" "$P-k"
expect_rc 0 "rm of two regions"
expect_no_file "$A" "rm removes $A"

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
