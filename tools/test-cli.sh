#!/bin/sh
# test-cli.sh SHAREDMEM-BINARY — tests the `sharedmem` command-line tool.
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

# expect_stdout FILE WHAT: stdout is byte for byte the content of FILE.
expect_stdout() {
    if cmp -s "$1" "$TMP/out"; then pass; else
        fail "$2: stdout should be the bytes: $(od -An -c "$1" | tr -s ' \n' ' ' | cut -c1-120)"
    fi
}

# expect_quiet WHAT: nothing on stdout nor stderr.
expect_quiet() {
    if [ -s "$TMP/out" ] || [ -s "$TMP/err" ]; then fail "$1: should print nothing"; else pass; fi
}

# json_num KEY: the number after "KEY": in the last stdout.
json_num() {
    sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" "$TMP/out"
}

# expect_json_parses FILE WHAT: every line of FILE is a JSON object (only
# if python3 is there; the other checks do not need it).
expect_json_parses() {
    command -v python3 >/dev/null 2>&1 || return 0
    if python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="strict"):
    assert isinstance(json.loads(line), dict)
' "$1" 2>/dev/null; then pass; else fail "$2: not one valid JSON object per line"; fi
}

# wait_lines FILE N: waits up to 5 s until FILE has at least N lines.
wait_lines() {
    i=0
    while [ "$(wc -l <"$1")" -lt "$2" ] && [ $i -lt 50 ]; do
        nap
        i=$((i + 1))
    done
    [ "$(wc -l <"$1")" -ge "$2" ]
}

# stop_in_time PID SIGNAL SECONDS: sends SIGNAL to PID and waits for it,
# as wait_in_time.
stop_in_time() {
    kill -"$2" "$1"
    wait_in_time "$1" "$3"
}

# wait_in_time PID SECONDS: waits for PID; kills it if it has not exited
# SECONDS later (exit status 137).  Sets SRC.
wait_in_time() {
    (sleep "$2"; kill -9 "$1" 2>/dev/null) &
    dog=$!
    wait "$1"
    SRC=$?
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
}

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
    for c in ls stat create rm gc get set watch hold version help; do
        expect_out "  $c " "$h lists $c"
    done
done

for c in ls stat create rm gc get set watch hold version help; do
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
for o in --create --capacity --mode; do expect_out "$o" "hold --help documents $o"; done
expect_out "4096" "hold --help gives the default capacity"
run set --help
for o in --persist --capacity --mode; do expect_out "$o" "set --help documents $o"; done
expect_out "standard input" "set --help documents VALUE '-'"
expect_out "4096" "set --help gives the default capacity"
run get --help
expect_out "--json" "get --help documents --json"
expect_out "\\u00XX" "get --help documents the JSON rule for other bytes"
run watch --help
expect_out "--json" "watch --help documents --json"
expect_out "only the latest" "watch --help says that changes may be coalesced"
expect_out "SIGINT" "watch --help says how it stops"
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
run hold "$P-u" --mode 0
expect_usage "hold with an invalid mode"
run hold "$P-u" --create 4K --capacity 4K
expect_usage "hold with both --create and --capacity"
for c in 0 12X 2G 1025M; do
    run hold "$P-u" --capacity "$c"
    expect_usage "hold with the capacity '$c'"
    run set "$P-u" x --persist --capacity "$c"
    expect_usage "set with the capacity '$c'"
    if grep -q "invalid capacity" "$TMP/err"; then pass; else fail "capacity '$c': 'invalid capacity' in the message"; fi
done
run set "$P-u" x --capacity 64
expect_usage "set --capacity without --persist"
run set "$P-u" x --mode 0640
expect_usage "set --mode without --persist"
run set "$P-u" x --persist --mode 8
expect_usage "set with an invalid mode"
run set "$P-u"
expect_usage "set without VALUE"
run set "$P-u" a b
expect_usage "set with two values"
run set "$P-u" -x
expect_usage "set with a VALUE that looks like an option"
run get
expect_usage "get without NAME"
run get a b
expect_usage "get with two names"
run get "$P-u" --bogus
expect_usage "get with an unknown option"
run watch
expect_usage "watch without NAME"
run watch a b
expect_usage "watch with two names"
for c in get watch; do
    run $c "bad/name"
    expect_usage "$c with an invalid name"
done
run set "bad/name" x --persist
expect_usage "set with an invalid name"
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

# Without --create, a missing NAME is created as a value of 4096 bytes
# (the seed's detached process), that set and get use while hold runs.
HV="$P-hv"
if start_hold "$HV"; then
    if grep -q "^sharedmem: note: created $HV, a value of 4096 bytes\$" "$HERR"; then pass; else
        cp "$HERR" "$TMP/err"
        fail "hold notes that it created $HV as a value of 4096 bytes"
    fi
    run stat "$HV" --json
    expect_json "$TMP/out" "$HV" "value created by hold" '"kind":"value"' \
        '"persistent":false' '"in_use":true' '"state":"ready"'
    run get "$HV"
    expect_rc 0 "get of a value never set"
    expect_quiet "get of a value never set"
    run get "$HV" --json
    expect_json "$TMP/out" "$HV" "get --json of a value never set" '"length":0,' \
        '"version":0,' '"value":""}'
    run set "$HV" "while held"
    expect_rc 0 "set without --persist of a held value"
    expect_quiet "set of a held value"
    printf '%s' "while held" >"$TMP/want"
    run get "$HV"
    expect_stdout "$TMP/want" "get of the value set while held"
    # its capacity is 4096 bytes
    head -c 4096 /dev/zero | tr '\000' 'x' >"$TMP/4096"
    run set "$HV" - <"$TMP/4096"
    expect_rc 0 "set of 4096 bytes into the value hold created"
    { cat "$TMP/4096"; printf y; } >"$TMP/4097"
    run set "$HV" - <"$TMP/4097"
    expect_rc 1 "set of 4097 bytes into the value hold created"
    expect_err_line "sharedmem: set $HV: standard input holds more than the capacity (4096 bytes); nothing was stored" \
        "set of more than the capacity from stdin"
    run get "$HV"
    expect_stdout "$TMP/4096" "a set that was too large changed nothing"
    stop_hold TERM
    RC=$HRC LAST="hold $HV, then SIGTERM"
    expect_rc 0 "hold of a value it created exits 0 on SIGTERM"
    expect_no_file "$HV" "the value hold created goes with it"
    run get "$HV"
    expect_rc 1 "get after the holder is gone"
    expect_err_line "sharedmem: get $HV: no such region" "get after the holder is gone"
fi

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
if awk -v n="$V" '$1 == n && $3 == "value"' "$TMP/out" | grep -q .; then pass; else
    fail "ls shows the kind 'value'"; fi

printf '%s' hello >"$TMP/want"
run get "$V"
expect_rc 0 "get"
expect_stdout "$TMP/want" "get prints the bytes, no newline"
if [ -s "$TMP/err" ]; then fail "get writes nothing on stderr"; else pass; fi

run get "$V" --json
expect_rc 0 "get --json"
if [ "$(wc -l <"$TMP/out")" -eq 1 ]; then pass; else fail "get --json prints one line"; fi
expect_json "$TMP/out" "$V" "get --json" '"length":5,' '"version":' '"value":"hello"}'
expect_json_parses "$TMP/out" "get --json"
v1=$(json_num version)

run set "$V" "hello again"
expect_rc 0 "set of an existing value"
run get "$V" --json
expect_json "$TMP/out" "$V" "get --json after a second set" '"length":11,' '"value":"hello again"'
v2=$(json_num version)
run set "$V" "third" --persist # no effect on an existing value
expect_rc 0 "set --persist of an existing value"
run get "$V" --json
v3=$(json_num version)
if [ -n "$v1" ] && [ -n "$v2" ] && [ -n "$v3" ] && [ "$v1" -gt 0 ] && [ "$v2" -gt "$v1" ] &&
    [ "$v3" -gt "$v2" ]; then
    pass
else
    fail "the version grows with each set ('$v1', '$v2', '$v3')"
fi

# binary bytes through standard input, exactly
printf 'a\000b\377c\n\001"\\' >"$TMP/bin"
run set "$V" - <"$TMP/bin"
expect_rc 0 "set - from standard input"
expect_quiet "set -"
run get "$V"
expect_stdout "$TMP/bin" "get returns the binary bytes that set - stored"
run get "$V" --json
expect_json "$TMP/out" "$V" "get --json of binary bytes" '"length":9,' \
    '"value":"a\u0000b\u00ffc\n\u0001\"\\"}'
expect_json_parses "$TMP/out" "get --json of binary bytes"
v4=$(json_num version)
if [ -n "$v4" ] && [ "$v4" -gt "$v3" ]; then pass; else fail "set - makes the version grow"; fi

# UTF-8 is copied; bytes outside well-formed UTF-8 are \u00XX: a lone
# continuation byte, an overlong form, a surrogate, beyond U+10FFFF, a
# truncated sequence at the end
printf 'caf\303\251 \342\202\254 \360\237\230\200 \t|\200|\300\257|\355\240\200|\364\220\200\200|\342\202' >"$TMP/utf"
run set "$V" - <"$TMP/utf"
run get "$V"
expect_stdout "$TMP/utf" "get returns the UTF-8 bytes"
run get "$V" --json
printf '"value":"caf\303\251 \342\202\254 \360\237\230\200 \\t|\\u0080|\\u00c0\\u00af|\\u00ed\\u00a0\\u0080|\\u00f4\\u0090\\u0080\\u0080|\\u00e2\\u0082"}' >"$TMP/frag"
if grep -F -q -f "$TMP/frag" "$TMP/out"; then pass; else
    fail "get --json: UTF-8 copied, other bytes as \\u00XX ($(cat "$TMP/frag"))"; fi
expect_json_parses "$TMP/out" "get --json of UTF-8 and stray bytes"

# the empty value; a VALUE after "--" that begins with a dash
run set "$V" ""
expect_rc 0 "set of the empty value"
run get "$V"
expect_quiet "get of the empty value"
run get "$V" --json
expect_json "$TMP/out" "$V" "get --json of the empty value" '"length":0,' '"value":""}'
v5=$(json_num version)
if [ -n "$v5" ] && [ "$v5" -gt 0 ]; then pass; else fail "an empty value that was set has a version"; fi
run set "$V" - </dev/null
expect_rc 0 "set - of empty standard input"
run set "$V" -- -x
expect_rc 0 "set -- -x"
printf '%s' -x >"$TMP/want"
run get "$V"
expect_stdout "$TMP/want" "get of a value that begins with a dash"
printf '%s' - >"$TMP/want"
run set "$V" - <"$TMP/want"
run get "$V"
expect_stdout "$TMP/want" "a single dash stored through standard input"

# more than the capacity: exit 1, nothing changes
W="$P-cap"
run set "$W" 0123456789abcdef --persist --capacity 16 --mode 0640
expect_rc 0 "set --persist --capacity 16 --mode 0640"
mode=$(stat -c %a "$SHM/smem.$W" 2>/dev/null)
if [ "$mode" = 640 ]; then pass; else fail "set --mode 0640: the mode is '$mode'"; fi
run get "$W" --json
wv=$(json_num version)
run set "$W" 0123456789abcdefg
expect_rc 1 "set of 17 bytes into a capacity of 16"
expect_err_line "sharedmem: set $W: the value (17 bytes) is larger than the capacity (16 bytes); nothing was stored" \
    "set of more than the capacity"
printf '%s' 0123456789abcdefg >"$TMP/17"
run set "$W" - <"$TMP/17"
expect_rc 1 "set - of 17 bytes into a capacity of 16"
expect_err_line "sharedmem: set $W: standard input holds more than the capacity (16 bytes); nothing was stored" \
    "set - of more than the capacity"
run get "$W" --json
expect_json "$TMP/out" "$W" "nothing changed after sets that were too large" '"length":16,' \
    '"value":"0123456789abcdef"}' "\"version\":$wv,"
run set "$P-big" "longer than eight" --persist --capacity 8
expect_rc 1 "set --persist of a new value larger than its capacity"
expect_no_file "$P-big" "a new value too small for VALUE is not created"
run set "$P-big" --persist --capacity 8 - <"$TMP/17"
expect_rc 1 "set --persist - of a new value larger than its capacity"
expect_no_file "$P-big" "a new value too small for standard input is not created"

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

# another kind of region, a missing value
run set "$A" x
expect_rc 1 "set of a raw region"
expect_err_line "sharedmem: set $A: exists with another size or kind" "set of a raw region"
run get "$A"
expect_rc 1 "get of a raw region"
expect_err_line "sharedmem: get $A: exists with another size or kind" "get of a raw region"
run stat "$A" --json
expect_json "$TMP/out" "$A" "the raw region is untouched" '"kind":"region"'
run get "$P-missing"
expect_rc 1 "get of a missing value"
expect_err_line "sharedmem: get $P-missing: no such region" "get of a missing value"
if [ -s "$TMP/out" ]; then fail "a failed get prints nothing on stdout"; else pass; fi
expect_no_file "$P-missing" "get never creates"
run get "$P-missing" --json
expect_rc 1 "get --json of a missing value"

# ---------------------------------------------------------------------------
# watch

WOUT="$TMP/watch.out"
WERR="$TMP/watch.err"
# start_watch NAME [ARGS...]: watch in the background; sets WPID.
start_watch() {
    : >"$WOUT"
    : >"$WERR"
    "$BIN" watch "$@" >"$WOUT" 2>"$WERR" &
    WPID=$!
    PIDS="$PIDS $WPID"
}
# watch_fail WHAT
watch_fail() {
    LAST="sharedmem watch (background)" RC=-1
    cp "$WOUT" "$TMP/out"
    cp "$WERR" "$TMP/err"
    fail "$1"
}

run set "$V" initial
start_watch "$V"
if wait_lines "$WOUT" 1; then pass; else watch_fail "watch prints the current value"; fi
n=1
for val in one "two words" three; do
    run set "$V" "$val" # from another process
    expect_rc 0 "set '$val' while watched"
    n=$((n + 1))
    if wait_lines "$WOUT" $n; then pass; else watch_fail "watch prints '$val'"; fi
done
printf 'initial\none\ntwo words\nthree\n' >"$TMP/want"
if cmp -s "$TMP/want" "$WOUT"; then pass; else
    watch_fail "watch prints each value on a line of its own"; fi
stop_in_time "$WPID" INT 2
RC=$SRC LAST="watch $V, then SIGINT"
cp "$WERR" "$TMP/err"
: >"$TMP/out"
expect_rc 0 "watch exits 0 within 2 s of SIGINT"
if [ -s "$WERR" ]; then fail "watch writes nothing on stderr"; else pass; fi
expect_file "$V" "watch leaves a persistent value"

# --json: one object per line; SIGTERM
start_watch "$V" --json
if wait_lines "$WOUT" 1; then pass; else watch_fail "watch --json prints the current value"; fi
run set "$V" 'say "hi"
bye'
if wait_lines "$WOUT" 2; then pass; else watch_fail "watch --json prints a new value"; fi
if [ "$(wc -l <"$WOUT")" -eq 2 ] && sed -n 2p "$WOUT" |
    grep -F -q "{\"name\":\"$V\",\"length\":12,\"version\":" &&
    sed -n 2p "$WOUT" | grep -F -q '"value":"say \"hi\"\nbye"}' &&
    sed -n 1p "$WOUT" | grep -F -q '"value":"three"}'; then
    pass
else
    watch_fail "watch --json prints one object per value, on one line"
fi
cp "$WOUT" "$TMP/out"
expect_json_parses "$WOUT" "watch --json"
wa=$(sed -n '1s/.*"version":\([0-9]*\).*/\1/p' "$WOUT")
wb=$(sed -n '2s/.*"version":\([0-9]*\).*/\1/p' "$WOUT")
if [ -n "$wa" ] && [ -n "$wb" ] && [ "$wb" -gt "$wa" ]; then pass; else
    watch_fail "watch --json: the versions grow ('$wa', '$wb')"; fi
stop_in_time "$WPID" TERM 2
RC=$SRC LAST="watch $V --json, then SIGTERM"
expect_rc 0 "watch exits 0 within 2 s of SIGTERM"

# a watched value stays alive after its holder is gone
WH="$P-wh"
if start_hold "$WH"; then
    start_watch "$WH"
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch of a value never set"; fi
    if [ "$(cat "$WOUT")" = "" ]; then pass; else
        watch_fail "watch prints an empty line for a value never set"; fi
    stop_hold TERM
    expect_file "$WH" "a watched value outlives its holder"
    run set "$WH" "still here"
    expect_rc 0 "set of a value kept alive by watch"
    if wait_lines "$WOUT" 2 && [ "$(sed -n 2p "$WOUT")" = "still here" ]; then pass; else
        watch_fail "watch prints the value set after the holder left"; fi
    stop_in_time "$WPID" INT 2
    RC=$SRC LAST="watch $WH, then SIGINT"
    expect_rc 0 "watch of a held value exits 0 on SIGINT"
    expect_no_file "$WH" "the last watcher removes the value"
fi

run watch "$P-missing"
expect_rc 1 "watch of a missing value"
expect_err_line "sharedmem: watch $P-missing: no such region" "watch of a missing value"
run watch "$A"
expect_rc 1 "watch of a raw region"
expect_err_line "sharedmem: watch $A: exists with another size or kind" "watch of a raw region"
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

run rm "$A" "$P-k" "$V" "$W"
expect_rc 0 "rm of regions and values"
expect_no_file "$A" "rm removes $A"
expect_no_file "$V" "rm removes the value $V"

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
