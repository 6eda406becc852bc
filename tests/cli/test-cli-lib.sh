# test-cli-lib.sh — sourced by test-cli.sh (Linux) and test-cli-win.sh
# (Windows, under Wine): the helpers of the `sharedmem` tests, and the
# checks that mean the same on both systems.  Plain POSIX sh.
#
# The script that sources it sets:
#   BIN        the tool
#   EMU        the command that runs it (an emulator such as wine), or ""
#   TMP        a private directory for the outputs
#   P          the prefix of every region name the test makes
#   STRIP_CR   1 if the tool ends its text lines with CR-LF (Windows), else 0
#   SOFT_STOP  the signal that stops a background hold or watch cleanly:
#              TERM on Linux; INT under Wine, which turns SIGINT into a
#              console Ctrl-C but dies of SIGTERM at once
# and defines expect_region NAME WHAT and expect_no_region NAME WHAT (the
# region exists / does not exist).

PIDS=""
FAILS=0
CHECKS=0

# ---------------------------------------------------------------------------
# Helpers

# tool ARGS...: runs the tool, through $EMU if there is one.  Not for
# background programs: `tool ... &` would run a subshell, and $! would be
# its pid, not the program's; they write out `$EMU "$BIN"` instead (wine
# execs the Windows program in its own process: $! is that process).
tool() {
    # shellcheck disable=SC2086 # EMU is a command and its arguments
    $EMU "$BIN" "$@"
}

# text FILE: FILE's text with the CRs of CR-LF line ends removed, in place
# (a Windows program writes text so unless it chose binary mode).
text() {
    if [ "$STRIP_CR" = 1 ]; then
        tr -d '\r' <"$1" >"$1.lf" && mv "$1.lf" "$1"
    fi
}

# run ARGS...: runs the tool; sets RC, output in $TMP/out and $TMP/err,
# as text, and stdout as written in $TMP/out.raw.
run() {
    tool "$@" >"$TMP/out.raw" 2>"$TMP/err"
    RC=$?
    LAST="sharedmem $*"
    cp "$TMP/out.raw" "$TMP/out"
    text "$TMP/out"
    text "$TMP/err"
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

# has_line FILE LINE: FILE has a line that is exactly LINE (ignoring the CR
# of a CR-LF line end: for the stderr of a background program, which may
# still be writing to it and so cannot be turned into text in place).
has_line() {
    tr -d '\r' <"$1" | grep -q -x -F -e "$2"
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
    if cmp -s "$1" "$TMP/out.raw"; then pass; else
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
    # shellcheck disable=SC2086
    $EMU "$BIN" hold "$name" "$@" >/dev/null 2>>"$HERR" &
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

# stop_hold SIGNAL: sends SIGNAL to $HPID and waits; sets HRC, and turns
# the hold's stderr ($HERR) into text.
stop_hold() {
    kill -"$1" "$HPID"
    wait "$HPID"
    HRC=$?
    text "$HERR"
}

WOUT="$TMP/watch.out"
WERR="$TMP/watch.err"
# start_watch NAME [ARGS...]: watch in the background; sets WPID.
start_watch() {
    : >"$WOUT"
    : >"$WERR"
    # shellcheck disable=SC2086
    $EMU "$BIN" watch "$@" >"$WOUT" 2>"$WERR" &
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

# ---------------------------------------------------------------------------
# version and help

check_help() {
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
        for c in ls stat create rm gc get set watch map del incr keys dump hold version help; do
            expect_out "  $c " "$h lists $c"
        done
    done

    for c in ls stat create rm gc get set watch map del incr keys dump hold version help; do
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
    expect_out "--prefix" "gc --help documents --prefix"
    expect_out "remove it with \`sharedmem rm NAME\`" "gc --help says what to do with a damaged name"
    run map --help
    for o in --entries --value-size --persist --mode; do expect_out "$o" "map --help documents $o"; done
    run hold --help
    for o in --entries --value-size; do expect_out "$o" "hold --help documents $o"; done
    for c in get set watch; do
        run $c --help
        if head -n 1 "$TMP/out" | grep -q "^Usage: sharedmem $c NAME \[KEY\]"; then pass; else
            fail "$c --help shows the KEY of a map"; fi
    done
    run watch --help
    expect_out '"set KEY<TAB>VALUE"' "watch --help says what watch of a map prints"
    expect_out '"del KEY"' "watch --help says how a deletion shows"
    run dump --help
    expect_out "--json" "dump --help documents --json"
    expect_out "\\xXX" "dump --help documents how other bytes are shown"
    run keys --help
    for o in --json --null; do expect_out "$o" "keys --help documents $o"; done
    run incr --help
    expect_out "DELTA" "incr --help documents DELTA"
    expect_out "-5" "incr --help shows a negative DELTA"
    run --help
    expect_out "get NAME KEY" "--help says how get reaches a map"
    for c in ls stat create rm gc set watch map hold; do
        run $c --help
        expect_out "On Windows:" "$c --help says what differs on Windows"
    done
    run --help
    expect_out "On Windows" "--help says what differs on Windows"
    run stat "$P-x" --help
    expect_rc 0 "--help after an argument"
}

# ---------------------------------------------------------------------------
# usage errors: exit 2

check_usage_errors() {
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
    run set "$P-u" a b c
    expect_usage "set with three words after NAME"
    run set "$P-u" -x
    expect_usage "set with a VALUE that looks like an option"
    run get
    expect_usage "get without NAME"
    run get "$P-u" a b
    expect_usage "get with two words after NAME"
    run get "$P-u" --bogus
    expect_usage "get with an unknown option"
    run watch
    expect_usage "watch without NAME"
    run watch "$P-u" a b
    expect_usage "watch with two words after NAME"
    for c in get watch; do
        run $c "bad/name"
        expect_usage "$c with an invalid name"
    done
    run set "bad/name" x --persist
    expect_usage "set with an invalid name"
    expect_no_region "$P-u" "nothing created by a usage error"

    long=$(printf '%065d' 0)
    for n in "bad/name" ".hidden" "_x" "a b" "$long" "é"; do
        run stat "$n"
        expect_usage "stat with the invalid name '$n'"
        run create "$n" 4096
        expect_usage "create with the invalid name '$n'"
    done
    run create -- -x 4096
    expect_usage "create with the name '-x'"
    check_map_usage_errors
}

# check_map_usage_errors: the usage errors of the map commands and of the
# map forms of get, set and watch (exit 2, nothing done).
check_map_usage_errors() {
    U="$P-u"
    long=$(printf '%065d' 0)
    run map
    expect_usage "map without NAME"
    run map "$U"
    expect_usage "map without --entries and --value-size"
    if grep -q "'--entries' and '--value-size' are required" "$TMP/err"; then pass; else
        fail "map without figures says that they are required"; fi
    run map "$U" --entries 4
    expect_usage "map without --value-size"
    run map "$U" --value-size 16
    expect_usage "map without --entries"
    run map "$U" extra --entries 4 --value-size 16
    expect_usage "map with an extra argument"
    for n in 0 -1 abc "" 1.5 1K 1073741825 99999999999999999999 " 4"; do
        run map "$U" --entries "$n" --value-size 16
        expect_usage "map with --entries '$n'"
        if grep -q "invalid number of entries '$n'" "$TMP/err"; then pass; else
            fail "--entries '$n': 'invalid number of entries' in the message"; fi
    done
    for v in 2M 1025K -1 "" 12X 1.5; do
        run map "$U" --entries 4 --value-size "$v"
        expect_usage "map with --value-size '$v'"
        if grep -q "invalid value size '$v'" "$TMP/err"; then pass; else
            fail "--value-size '$v': 'invalid value size' in the message"; fi
    done
    run map "$U" --entries 4 --value-size 16 --mode 8
    expect_usage "map with an invalid mode"
    run map "bad/name" --entries 4 --value-size 16
    expect_usage "map with an invalid name"
    run hold "$U" --entries 4
    expect_usage "hold --entries without --value-size"
    run hold "$U" --entries 4 --value-size 8 --create 4K
    expect_usage "hold with both --entries and --create"
    run hold "$U" --entries 4 --value-size 8 --capacity 4K
    expect_usage "hold with both --entries and --capacity"

    # keys: 1 to 64 bytes
    run get "$U" ""
    expect_usage "get of an empty key"
    if grep -q "invalid key '': a key has 1 to 64 bytes" "$TMP/err"; then pass; else
        fail "an empty key is named as such"; fi
    run get "$U" "$long"
    expect_usage "get of a key of 65 bytes"
    if grep -q "invalid key '$long': 65 bytes, longer than 64" "$TMP/err"; then pass; else
        fail "a key of 65 bytes is named, with its length"; fi
    for c in "set $U $long v" "set $U '' v" "del $U $long" "del $U k ''" "incr $U ''" \
        "watch $U ''"; do
        eval "run $c"
        expect_usage "$c: invalid key"
        if grep -q "invalid key" "$TMP/err"; then pass; else fail "$c: 'invalid key' in the message"; fi
    done
    run set "$U" k v --persist
    expect_usage "set NAME KEY VALUE --persist"
    if grep -q "'--persist' is for values only" "$TMP/err"; then pass; else
        fail "set --persist with a KEY says that it is for values"; fi
    run set "$U" k v --capacity 8
    expect_usage "set NAME KEY VALUE --capacity"
    run set "$U" k v --mode 0600
    expect_usage "set NAME KEY VALUE --mode"
    run del "$U"
    expect_usage "del without KEY"
    run incr "$U"
    expect_usage "incr without KEY"
    run incr "$U" k 1 2
    expect_usage "incr with two deltas"
    for d in x 1.5 "" 1e3 9223372036854775808 -9223372036854775809 --5 "5 "; do
        run incr "$U" k -- "$d"
        expect_usage "incr with the delta '$d'"
        if grep -q "invalid delta" "$TMP/err"; then pass; else fail "delta '$d': 'invalid delta' in the message"; fi
    done
    run keys
    expect_usage "keys without NAME"
    run keys "$U" 'k*' k
    expect_usage "keys with an argument after PATTERN"
    run keys "$U" --json --null
    expect_usage "keys with --json and --null"
    run dump
    expect_usage "dump without NAME"
    run dump "$U" k
    expect_usage "dump with an extra argument"
    run dump "$U" --bogus
    expect_usage "dump with an unknown option"
    for c in del incr keys dump; do
        run $c "bad/name" k
        expect_usage "$c with an invalid name"
    done
    expect_no_region "$U" "nothing created by a usage error"
}

# ---------------------------------------------------------------------------
# the value that hold creates

# check_hold_value NAME: without --create, `hold NAME` of a missing NAME
# creates a value of 4096 bytes (the seed's detached process), which set
# and get use while hold runs, and which goes with it.
check_hold_value() {
    HV=$1
    if start_hold "$HV"; then
        if has_line "$HERR" "sharedmem: note: created $HV, a value of 4096 bytes"; then pass; else
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
        stop_hold "$SOFT_STOP"
        RC=$HRC LAST="hold $HV, then SIG$SOFT_STOP"
        expect_rc 0 "hold of a value it created exits 0 on SIG$SOFT_STOP"
        expect_no_region "$HV" "the value hold created goes with it"
        run get "$HV"
        expect_rc 1 "get after the holder is gone"
        expect_err_line "sharedmem: get $HV: no such region" "get after the holder is gone"
    fi
}

# ---------------------------------------------------------------------------
# set and get

# check_values NAME: get, set and their JSON on the value NAME (capacity
# 4096), which holds "hello" and stays alive meanwhile.
check_values() {
    V=$1
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
}

# check_capacity NAME: sets larger than the capacity of the value NAME,
# which has a capacity of 16 and holds 0123456789abcdef, change nothing;
# and set --persist creates no value too small for its input.
check_capacity() {
    W=$1
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
    expect_no_region "$P-big" "a new value too small for VALUE is not created"
    run set "$P-big" --persist --capacity 8 - <"$TMP/17"
    expect_rc 1 "set --persist - of a new value larger than its capacity"
    expect_no_region "$P-big" "a new value too small for standard input is not created"
}

# raw_region_error CMD RAW: what CMD says of the raw region RAW.
raw_region_error() {
    printf 'sharedmem: %s %s: is a raw region (bytes with no value or map in them): `sharedmem get %s --raw` or `sharedmem dump %s` show its bytes; get, set and watch work on values and maps' \
        "$1" "$2" "$2" "$2"
}

# check_kind_errors RAW: get, set and watch of the raw region RAW, and of
# a missing name, fail.
check_kind_errors() {
    A=$1
    run set "$A" x
    expect_rc 1 "set of a raw region"
    expect_err_line "$(raw_region_error set "$A")" "set of a raw region"
    run get "$A"
    expect_rc 1 "get of a raw region"
    expect_err_line "$(raw_region_error get "$A")" "get of a raw region"
    run stat "$A" --json
    expect_json "$TMP/out" "$A" "the raw region is untouched" '"kind":"region"'
    run get "$P-missing"
    expect_rc 1 "get of a missing value"
    expect_err_line "sharedmem: get $P-missing: no such region" "get of a missing value"
    if [ -s "$TMP/out" ]; then fail "a failed get prints nothing on stdout"; else pass; fi
    expect_no_region "$P-missing" "get never creates"
    run get "$P-missing" --json
    expect_rc 1 "get --json of a missing value"
    run watch "$P-missing"
    expect_rc 1 "watch of a missing value"
    expect_err_line "sharedmem: watch $P-missing: no such region" "watch of a missing value"
    run watch "$A"
    expect_rc 1 "watch of a raw region"
    expect_err_line "$(raw_region_error watch "$A")" "watch of a raw region"
}

# ---------------------------------------------------------------------------
# watch

# check_watch NAME: watch of the value NAME, which stays alive meanwhile,
# prints it and each change, and stops cleanly.
check_watch() {
    V=$1
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
    expect_region "$V" "watch leaves the value"

    # --json: one object per line
    start_watch "$V" --json
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch --json prints the current value"; fi
    run set "$V" "$(printf 'say "hi"\nbye')"
    if wait_lines "$WOUT" 2; then pass; else watch_fail "watch --json prints a new value"; fi
    WJSON="$TMP/watch.json" # a copy: watch still writes to $WOUT
    cp "$WOUT" "$WJSON"
    text "$WJSON"
    if [ "$(wc -l <"$WJSON")" -eq 2 ] && sed -n 2p "$WJSON" |
        grep -F -q "{\"name\":\"$V\",\"length\":12,\"version\":" &&
        sed -n 2p "$WJSON" | grep -F -q '"value":"say \"hi\"\nbye"}' &&
        sed -n 1p "$WJSON" | grep -F -q '"value":"three"}'; then
        pass
    else
        watch_fail "watch --json prints one object per value, on one line"
    fi
    cp "$WJSON" "$TMP/out"
    expect_json_parses "$WJSON" "watch --json"
    wa=$(sed -n '1s/.*"version":\([0-9]*\).*/\1/p' "$WJSON")
    wb=$(sed -n '2s/.*"version":\([0-9]*\).*/\1/p' "$WJSON")
    if [ -n "$wa" ] && [ -n "$wb" ] && [ "$wb" -gt "$wa" ]; then pass; else
        watch_fail "watch --json: the versions grow ('$wa', '$wb')"; fi
    stop_in_time "$WPID" "$SOFT_STOP" 2
    RC=$SRC LAST="watch $V --json, then SIG$SOFT_STOP"
    expect_rc 0 "watch exits 0 within 2 s of SIG$SOFT_STOP"

    # a watched value stays alive after its holder is gone
    WH="$P-wh"
    if start_hold "$WH"; then
        start_watch "$WH"
        if wait_lines "$WOUT" 1; then pass; else watch_fail "watch of a value never set"; fi
        if [ "$(cat "$WOUT")" = "" ]; then pass; else
            watch_fail "watch prints an empty line for a value never set"; fi
        stop_hold "$SOFT_STOP"
        expect_region "$WH" "a watched value outlives its holder"
        run set "$WH" "still here"
        expect_rc 0 "set of a value kept alive by watch"
        if wait_lines "$WOUT" 2 && [ "$(sed -n 2p "$WOUT")" = "still here" ]; then pass; else
            watch_fail "watch prints the value set after the holder left"; fi
        stop_in_time "$WPID" INT 2
        RC=$SRC LAST="watch $WH, then SIGINT"
        expect_rc 0 "watch of a held value exits 0 on SIGINT"
        expect_no_region "$WH" "the last watcher removes the value"
    fi
}


# ---------------------------------------------------------------------------
# maps

# expect_json_doc FILE WHAT: FILE is one JSON document (if python3 is there).
expect_json_doc() {
    command -v python3 >/dev/null 2>&1 || return 0
    if python3 -c '
import json, sys
json.load(open(sys.argv[1], encoding="utf-8", errors="strict"))
' "$1" 2>/dev/null; then pass; else fail "$2: not a valid JSON document"; fi
}

# check_maps M: the map commands on the map M, made with --entries 4
# --value-size 16, empty, and kept alive meanwhile.  Leaves M empty.
check_maps() {
    M=$1
    run keys "$M"
    expect_rc 0 "keys of an empty map"
    expect_quiet "keys of an empty map"
    run keys "$M" --json
    if [ "$(cat "$TMP/out")" = "[]" ]; then pass; else fail "keys --json of an empty map is []"; fi
    run dump "$M"
    expect_rc 0 "dump of an empty map"
    expect_quiet "dump of an empty map"
    run dump "$M" --json
    expect_rc 0 "dump --json of an empty map"
    expect_out "{\"name\":\"$M\",\"version\":0,\"max_entries\":4,\"max_value\":16,\"count\":0,\"entries\":[]}" \
        "dump --json of an empty map"
    expect_json_doc "$TMP/out" "dump --json of an empty map"
    run stat "$M"
    expect_rc 0 "stat of a map"
    expect_field kind map "stat kind of a map"
    expect_field entries "0 of 4" "stat entries of an empty map"
    expect_field "max value" "16 (16 bytes)" "stat max value"
    if grep -q '^capacity:' "$TMP/out"; then fail "stat of a map shows no capacity line"; else pass; fi

    # set and get
    run set "$M" colour blue
    expect_rc 0 "set NAME KEY VALUE"
    expect_quiet "set NAME KEY VALUE"
    printf '%s' blue >"$TMP/want"
    run get "$M" colour
    expect_rc 0 "get NAME KEY"
    expect_stdout "$TMP/want" "get NAME KEY prints the bytes, no newline"
    run get "$M" colour --json
    expect_rc 0 "get NAME KEY --json"
    expect_json "$TMP/out" "$M" "get NAME KEY --json" '"key":"colour",' '"length":4,' \
        '"value":"blue"}'
    expect_json_parses "$TMP/out" "get NAME KEY --json"
    k1=$(json_num version)
    run set "$M" colour red
    run get "$M" colour --json
    expect_json "$TMP/out" "$M" "get after a second set" '"value":"red"}'
    k2=$(json_num version)
    if [ -n "$k1" ] && [ -n "$k2" ] && [ "$k1" -gt 0 ] && [ "$k2" -gt "$k1" ]; then pass; else
        fail "a key's version grows with each set ('$k1', '$k2')"; fi

    # binary bytes through standard input, exactly; the empty value; "-"
    printf 'a\000b\377c\n\001"\\' >"$TMP/bin"
    run set "$M" bin - <"$TMP/bin"
    expect_rc 0 "set NAME KEY - from standard input"
    expect_quiet "set NAME KEY -"
    run get "$M" bin
    expect_stdout "$TMP/bin" "get NAME KEY returns the binary bytes"
    run get "$M" bin --json
    expect_json "$TMP/out" "$M" "get NAME KEY --json of binary bytes" '"length":9,' \
        '"value":"a\u0000b\u00ffc\n\u0001\"\\"}'
    expect_json_parses "$TMP/out" "get NAME KEY --json of binary bytes"
    run set "$M" empty ""
    expect_rc 0 "set of an empty value"
    run get "$M" empty
    expect_rc 0 "get of an empty value"
    expect_quiet "get of an empty value"
    run set "$M" -- -dash -x
    expect_rc 0 "set -- -KEY -VALUE"
    printf '%s' -x >"$TMP/want"
    run get "$M" -- -dash
    expect_stdout "$TMP/want" "get of a key and value that begin with a dash"

    # dump: sorted, escaped, one line per entry
    run dump "$M"
    expect_rc 0 "dump"
    printf '%s\n' '-dash	-x' 'bin	a\x00b\xffc\n\x01"\\' 'colour	red' 'empty	' >"$TMP/want"
    if cmp -s "$TMP/want" "$TMP/out"; then pass; else
        fail "dump prints KEY<TAB>VALUE lines, sorted, escaped: $(cat "$TMP/want")"; fi
    run dump "$M" --json
    expect_rc 0 "dump --json"
    expect_json_doc "$TMP/out" "dump --json"
    expect_out "\"count\":4,\"entries\":[" "dump --json counts the entries"
    expect_out '{"key":"bin","length":9,"version":' "dump --json entry of bin"
    expect_out '"value":"a\u0000b\u00ffc\n\u0001\"\\"}' "dump --json escapes the binary value"
    expect_out '{"key":"empty","length":0,' "dump --json entry of an empty value"
    run keys "$M"
    printf '%s\n' -dash bin colour empty >"$TMP/want"
    if cmp -s "$TMP/want" "$TMP/out"; then pass; else fail "keys prints the keys, sorted"; fi
    run keys "$M" --json
    if [ "$(cat "$TMP/out")" = '["-dash","bin","colour","empty"]' ]; then pass; else
        fail "keys --json"; fi
    expect_json_doc "$TMP/out" "keys --json"
    run keys "$M" -0
    printf -- '-dash\000bin\000colour\000empty\000' >"$TMP/want"
    expect_stdout "$TMP/want" "keys -0 ends each key with NUL"

    # stat, ls
    run stat "$M"
    expect_field entries "4 of 4" "stat entries of a full map"
    run stat "$M" --json
    expect_json "$TMP/out" "$M" "stat --json of a map" '"capacity":4,' '"entries":4,' \
        '"max_value":16,' '"kind":"map"' '"state":"ready"'
    expect_json_parses "$TMP/out" "stat --json of a map"
    run ls --json
    expect_json "$TMP/out" "$M" "ls --json of a map" '"capacity":4,' '"entries":4,' \
        '"max_value":16,' '"kind":"map"'
    expect_json_doc "$TMP/out" "ls --json"
    run ls
    if [ "$(tr -d ' \n' <"$TMP/out")" != "" ] || [ "$EMU" = "" ]; then
        if awk -v n="$M" '$1 == n && $2 == "map" && $5 == 16 && $6 == "4/4"' "$TMP/out" |
            grep -q .; then pass; else fail "ls row of the map: KIND map, MAXVALUE 16, ENTRIES 4/4"; fi
    fi

    # a full map: no new key, but existing keys change
    run get "$M" colour --json
    cv=$(json_num version)
    run set "$M" extra x
    expect_rc 1 "set of a new key in a full map"
    expect_err_line "sharedmem: set $M: the map is full (4 entries): no room for the new key 'extra'; nothing was stored" \
        "set of a new key in a full map"
    run get "$M" extra
    expect_rc 1 "the key refused by a full map is not there"
    expect_err_line "sharedmem: get $M: no key 'extra'" "get of a missing key"
    if [ -s "$TMP/out" ]; then fail "a failed get prints nothing on stdout"; else pass; fi
    run incr "$M" newcounter
    expect_rc 1 "incr of a new key in a full map"
    expect_err_line "sharedmem: incr $M: the map is full (4 entries): no room for the new key 'newcounter'; nothing was stored" \
        "incr of a new key in a full map"
    run set "$M" colour green
    expect_rc 0 "set of an existing key in a full map"

    # more than the value size: nothing changes
    run get "$M" colour --json
    cv=$(json_num version)
    run set "$M" colour 0123456789abcdefg
    expect_rc 1 "set of 17 bytes into a value size of 16"
    expect_err_line "sharedmem: set $M: the value (17 bytes) is larger than the map's value size (16 bytes); nothing was stored" \
        "set of more than the value size"
    printf '%s' 0123456789abcdefg >"$TMP/17"
    run set "$M" colour - <"$TMP/17"
    expect_rc 1 "set - of 17 bytes into a value size of 16"
    expect_err_line "sharedmem: set $M: standard input holds more than the map's value size (16 bytes); nothing was stored" \
        "set - of more than the value size"
    run get "$M" colour --json
    expect_json "$TMP/out" "$M" "a set that was too large changed nothing" '"value":"green"}' \
        "\"version\":$cv,"
    run set "$M" colour 0123456789abcdef
    expect_rc 0 "set of exactly the value size"

    # del
    run del "$M" colour
    expect_rc 0 "del"
    expect_quiet "del"
    run get "$M" colour
    expect_rc 1 "get of a deleted key"
    run del "$M" colour
    expect_rc 1 "del of a missing key"
    expect_err_line "sharedmem: del $M: no key 'colour'" "del of a missing key"
    run del "$M" bin nothere empty
    expect_rc 1 "del with a missing key among others"
    expect_err_line "sharedmem: del $M: no key 'nothere'" "del with a missing key among others"
    run keys "$M"
    if [ "$(cat "$TMP/out")" = "-dash" ]; then pass; else fail "del went on after the missing key"; fi
    run del "$M" -- -dash
    expect_rc 0 "del -- -KEY"

    # incr
    run incr "$M" n
    expect_rc 0 "incr of a missing key"
    if [ "$(cat "$TMP/out")" = 1 ]; then pass; else fail "incr of a missing key prints 1"; fi
    run incr "$M" n 41
    if [ "$(cat "$TMP/out")" = 42 ]; then pass; else fail "incr by 41 prints 42"; fi
    run incr "$M" n -50
    expect_rc 0 "incr with a negative DELTA"
    if [ "$(cat "$TMP/out")" = -8 ]; then pass; else fail "incr by -50 prints -8"; fi
    run incr "$M" n -- -2
    if [ "$(cat "$TMP/out")" = -10 ]; then pass; else fail "incr -- -2 prints -10"; fi
    run incr "$M" n +3
    if [ "$(cat "$TMP/out")" = -7 ]; then pass; else fail "incr +3 prints -7"; fi
    printf '%s' -7 >"$TMP/want"
    run get "$M" n
    expect_stdout "$TMP/want" "the counter is stored as decimal text"
    run set "$M" word hello
    run incr "$M" word
    expect_rc 1 "incr of a value that is not a number"
    expect_err_line "sharedmem: incr $M: the value of 'word' is not a whole number (the decimal text of a signed 64-bit integer, such as -12); nothing was changed" \
        "incr of a value that is not a number"
    run set "$M" big 9
    run incr "$M" big 9223372036854775807
    expect_rc 1 "incr beyond the largest 64-bit integer"
    expect_err_line "sharedmem: incr $M: 'big' plus 9223372036854775807 is out of the range of a signed 64-bit integer; nothing was changed" \
        "incr beyond the largest 64-bit integer"
    printf '%s' 9 >"$TMP/want"
    run get "$M" big
    expect_stdout "$TMP/want" "an incr out of range changed nothing"
    run set "$M" big -1
    run incr "$M" big -9223372036854775808
    expect_rc 1 "incr below the smallest 64-bit integer"
    expect_err_line "sharedmem: incr $M: 'big' plus -9223372036854775808 is out of the range of a signed 64-bit integer; nothing was changed" \
        "incr below the smallest 64-bit integer"
    run incr "$M" big -9999999999
    if [ "$(cat "$TMP/out")" = -10000000000 ]; then pass; else fail "incr by a large negative delta"; fi
    run set "$M" big 9999999999999999
    run incr "$M" big
    expect_rc 1 "incr to a number longer than the value size"
    expect_err_line "sharedmem: incr $M: the new value of 'big' is longer than the map's value size (16 bytes); nothing was changed" \
        "incr to a number longer than the value size"
    run del "$M" n word big
    expect_rc 0 "del of the counters"
    run keys "$M"
    expect_quiet "the map is empty again"
}

# check_map_kinds M V A: the map M, the value V and the raw region A,
# all alive: each command tells what NAME is when it does not fit.
check_map_kinds() {
    M=$1 V=$2 A=$3
    run get "$M"
    expect_rc 1 "get NAME of a map"
    expect_err_line "sharedmem: get $M: is a map, not a value: name a key (sharedmem get $M KEY)" \
        "get NAME of a map"
    run set "$M" x
    expect_rc 1 "set NAME VALUE of a map"
    expect_err_line "sharedmem: set $M: is a map, not a value: name a key (sharedmem set $M KEY VALUE)" \
        "set NAME VALUE of a map"
    run get "$V" k
    expect_rc 1 "get NAME KEY of a value"
    expect_err_line "sharedmem: get $V: is a value, not a map: it has no keys (sharedmem get $V)" \
        "get NAME KEY of a value"
    run set "$V" k x
    expect_rc 1 "set NAME KEY VALUE of a value"
    expect_err_line "sharedmem: set $V: is a value, not a map: it has no keys (sharedmem set $V VALUE)" \
        "set NAME KEY VALUE of a value"
    run watch "$V" k
    expect_rc 1 "watch NAME KEY of a value"
    expect_err_line "sharedmem: watch $V: is a value, not a map: it has no keys (sharedmem watch $V)" \
        "watch NAME KEY of a value"
    for c in "del $V k" "incr $V k" "keys $V" "dump $V"; do
        eval "run $c"
        expect_rc 1 "$c of a value"
        expect_err_line "sharedmem: ${c%% *} $V: is a value, not a map" "$c of a value"
    done
    for c in "get $A k" "set $A k x" "del $A k" "incr $A k" "keys $A" "watch $A k"; do
        eval "run $c"
        expect_rc 1 "$c of a raw region"
        expect_err_line "$(raw_region_error "${c%% *}" "$A")" "$c of a raw region"
    done
    # dump of a raw region: its bytes, as a hex dump
    run dump "$A"
    expect_rc 0 "dump of a raw region"
    if head -n 1 "$TMP/out" | grep -q '^00000000: [0-9a-f ]*  '; then pass; else
        fail "dump of a raw region: the first line is not a hex dump line"; fi
    X="$P-nomap"
    for c in "get $X k" "set $X k x" "del $X k" "incr $X k" "keys $X" "dump $X" "watch $X k"; do
        eval "run $c"
        expect_rc 1 "$c of a missing map"
        expect_err_line "sharedmem: ${c%% *} $X: no such map (create it with \`sharedmem map $X --entries N --value-size SIZE --persist\`, or keep it alive with \`sharedmem hold $X --entries N --value-size SIZE\`)" \
            "$c of a missing map"
    done
    expect_no_region "$X" "no map command creates a map"
    run map "$V" --entries 4 --value-size 16
    expect_rc 1 "map of an existing value"
    expect_err_line "sharedmem: map $V: exists, and is a value, not a map" "map of an existing value"
    run map "$A" --entries 4 --value-size 16
    expect_rc 1 "map of an existing raw region"
    expect_err_line "sharedmem: map $A: exists, and is a raw region, not a map" \
        "map of an existing raw region"
    run map "$M" --entries 5 --value-size 16
    expect_rc 1 "map with other figures"
    expect_err_line "sharedmem: map $M: exists with other figures: 4 entries of 16 bytes (use those, or remove it first with \`sharedmem rm $M\`)" \
        "map with other figures"
    run map "$M" --entries 4 --value-size 17
    expect_rc 1 "map with another value size"
    run map "$M" --entries 4 --value-size 16
    expect_rc 0 "map with the same figures"
    expect_err_line "sharedmem: note: $M already exists, a map of these figures; it was left as it is (its mode and lifetime too)" \
        "map with the same figures notes it"
}

# check_map_watch M: watch of the map M (empty, alive meanwhile), of one
# key and of the whole map, seeing changes made by other processes.
check_map_watch() {
    M=$1
    run set "$M" a one
    # one key
    start_watch "$M" a
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch NAME KEY prints the current value"; fi
    n=1
    for step in "set $M a two" "set $M b other" "set $M a three" "del $M a" "set $M a four"; do
        eval "run $step"
        expect_rc 0 "$step while watched"
        case "$step" in *" b "*) continue ;; esac # another key: no line
        n=$((n + 1))
        if wait_lines "$WOUT" $n; then pass; else watch_fail "watch NAME KEY sees '$step'"; fi
    done
    nap
    printf 'one\ntwo\nthree\n\nfour\n' >"$TMP/want"
    if cmp -s "$TMP/want" "$WOUT"; then pass; else
        watch_fail "watch NAME KEY prints each value of the key (deleted: an empty line)"; fi
    stop_in_time "$WPID" "$SOFT_STOP" 2
    RC=$SRC LAST="watch $M a, then SIG$SOFT_STOP"
    expect_rc 0 "watch NAME KEY exits 0 on SIG$SOFT_STOP"

    # one key, --json; a key that is absent at first
    start_watch "$M" c --json
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch NAME KEY --json of a missing key"; fi
    run set "$M" c "say \"hi\""
    if wait_lines "$WOUT" 2; then pass; else watch_fail "watch NAME KEY --json sees the key added"; fi
    WJSON="$TMP/watch.json"
    cp "$WOUT" "$WJSON"
    text "$WJSON"
    if sed -n 1p "$WJSON" | grep -F -q "{\"name\":\"$M\",\"key\":\"c\",\"length\":0,\"version\":0,\"value\":null}" &&
        sed -n 2p "$WJSON" | grep -F -q '"key":"c","length":8,' &&
        sed -n 2p "$WJSON" | grep -F -q '"value":"say \"hi\""}'; then
        pass
    else
        watch_fail "watch NAME KEY --json: null for a missing key, then the value"
    fi
    expect_json_parses "$WJSON" "watch NAME KEY --json"
    stop_in_time "$WPID" "$SOFT_STOP" 2
    RC=$SRC LAST="watch $M c --json, then SIG$SOFT_STOP"
    expect_rc 0 "watch NAME KEY --json exits 0"

    # the whole map: its entries, then every change
    run del "$M" b c
    start_watch "$M"
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch NAME of a map prints its entries"; fi
    n=1
    for step in "set $M b 2" "set $M a five" "del $M a" "incr $M b"; do
        eval "run $step"
        expect_rc 0 "$step while the map is watched"
        n=$((n + 1))
        if wait_lines "$WOUT" $n; then pass; else watch_fail "watch NAME sees '$step'"; fi
    done
    printf 'set a\tfour\nset b\t2\nset a\tfive\ndel a\nset b\t3\n' >"$TMP/want"
    cp "$WOUT" "$TMP/watch.txt"
    text "$TMP/watch.txt"
    if cmp -s "$TMP/want" "$TMP/watch.txt"; then pass; else
        watch_fail "watch NAME prints 'set KEY<TAB>VALUE' and 'del KEY' lines"; fi
    stop_in_time "$WPID" INT 2
    RC=$SRC LAST="watch $M, then SIGINT"
    expect_rc 0 "watch NAME of a map exits 0 on SIGINT"
    if [ -s "$WERR" ]; then fail "watch of a map writes nothing on stderr"; else pass; fi

    start_watch "$M" --json
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch NAME --json of a map"; fi
    run del "$M" b
    if wait_lines "$WOUT" 2; then pass; else watch_fail "watch NAME --json sees a deletion"; fi
    cp "$WOUT" "$WJSON"
    text "$WJSON"
    if sed -n 1p "$WJSON" | grep -F -q '"event":"set","key":"b","length":1,' &&
        sed -n 2p "$WJSON" | grep -F -q '"event":"del","key":"b","length":0,"version":0,"value":null}'; then
        pass
    else
        watch_fail "watch NAME --json: set then del events"
    fi
    m1=$(sed -n '1s/.*"map_version":\([0-9]*\).*/\1/p' "$WJSON")
    m2=$(sed -n '2s/.*"map_version":\([0-9]*\).*/\1/p' "$WJSON")
    if [ -n "$m1" ] && [ -n "$m2" ] && [ "$m2" -gt "$m1" ]; then pass; else
        watch_fail "watch NAME --json: map_version grows ('$m1', '$m2')"; fi
    expect_json_parses "$WJSON" "watch NAME --json"
    stop_in_time "$WPID" "$SOFT_STOP" 2
    RC=$SRC LAST="watch $M --json, then SIG$SOFT_STOP"
    expect_rc 0 "watch NAME --json of a map exits 0"
    run keys "$M"
    expect_quiet "the watched map is empty again"
}

# check_incr_race M N: 4 processes each run N `incr M race` at once; none
# of the additions is lost.
check_incr_race() {
    M=$1 N=$2
    rpids=""
    : >"$TMP/race.err"
    for w in 1 2 3 4; do
        (
            j=0
            while [ $j -lt "$N" ]; do
                tool incr "$M" race >/dev/null 2>>"$TMP/race.err" || echo "exit $?" >>"$TMP/race.err"
                j=$((j + 1))
            done
        ) &
        rpids="$rpids $!"
    done
    for p in $rpids; do wait "$p"; done
    cp "$TMP/race.err" "$TMP/err"
    : >"$TMP/out"
    LAST="4 x $N incr $M race" RC=0
    if [ -s "$TMP/race.err" ]; then fail "concurrent incr: no failure"; else pass; fi
    printf '%s' $((4 * N)) >"$TMP/want"
    run get "$M" race
    expect_stdout "$TMP/want" "4 x $N concurrent incr add up to $((4 * N))"
    run del "$M" race
}
