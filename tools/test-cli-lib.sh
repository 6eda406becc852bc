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
    for c in ls stat create rm gc set watch hold; do
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

# check_kind_errors RAW: get, set and watch of the raw region RAW, and of
# a missing name, fail.
check_kind_errors() {
    A=$1
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
    expect_no_region "$P-missing" "get never creates"
    run get "$P-missing" --json
    expect_rc 1 "get --json of a missing value"
    run watch "$P-missing"
    expect_rc 1 "watch of a missing value"
    expect_err_line "sharedmem: watch $P-missing: no such region" "watch of a missing value"
    run watch "$A"
    expect_rc 1 "watch of a raw region"
    expect_err_line "sharedmem: watch $A: exists with another size or kind" "watch of a raw region"
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

