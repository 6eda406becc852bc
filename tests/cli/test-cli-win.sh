#!/bin/sh
# test-cli-win.sh SHAREDMEM-EXE [EMULATOR...] — tests the Windows build of
# the `sharedmem` tool, run through EMULATOR (wine, when it was cross-built
# on Linux; none on Windows itself, from an MSYS2 shell).  The checks that
# mean the same on both systems come from test-cli-lib.sh; those here
# follow Windows' rule that a region lives exactly as long as some process
# has it open.
#
# Left out here (test-cli.sh has them), with the reason:
#   - the region's file in /dev/shm, its mode bits, the umask: a region is
#     a pagefile-backed section; only the mode it records is checked;
#   - a persistent region outliving its users (create/set --persist, hold
#     of a persistent region, rm of a region nobody uses): Windows destroys
#     a section with its last handle; checked instead: such a region is
#     gone, and the command says so;
#   - stale regions and gc removing them: a region dies with its last
#     user, so none is ever stale; checked instead: gc removes nothing;
#   - owners and uids: Windows regions have no uid (OWNER is "-");
#   - garbage on a name (a damaged header, a symbolic link, another user's
#     file) and what gc, stat and ls say of it: those are planted as files
#     in /dev/shm;
#   - hold and watch stopped by SIGTERM or SIGHUP: a Windows program knows
#     console events only; Wine turns SIGINT into Ctrl-C and dies of the
#     others at once (a hard kill, checked as such);
#   - watch of a value that rm removed: rm cannot remove a region that a
#     watch keeps open; checked instead: that rm fails with "in use".
#
# Needs what test-cli.sh needs, without stat(1).  Exits 0 if every check
# passes, 1 if one fails, 77 to skip (nothing to run a Windows program
# with).  Every region it makes is named wclitest-PID-*; it goes when the
# test's processes end, which the test makes sure of on exit.

set -u

BIN=${1:?usage: test-cli-win.sh PATH-TO-sharedmem.exe [EMULATOR...]}
shift
EMU="$*"

if [ ! -f "$BIN" ]; then
    echo "test-cli-win.sh: $BIN does not exist" >&2
    exit 1
fi
if [ -z "$EMU" ]; then
    case "$(uname -s)" in
    MINGW* | MSYS* | CYGWIN*) ;; # Windows runs it itself
    *)
        echo "SKIP: no emulator (such as wine) to run $BIN"
        exit 77
        ;;
    esac
fi

# Wine's own messages (and Debian's wrapper's hint about wine32) would mix
# with the tool's on stderr, which the checks read.
WINEDEBUG=-all
export WINEDEBUG

P="wclitest-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-cli-win.XXXXXX") || exit 1
STRIP_CR=1
SOFT_STOP=INT
# shellcheck source=tests/cli/test-cli-lib.sh
. "$(dirname "$0")/test-cli-lib.sh"

# Killing its processes is all the cleaning up there is: their regions go
# with their handles.
cleanup() {
    for p in $PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# What the shared checks call: whether the tool finds the region.
expect_region() {
    if tool stat "$1" >/dev/null 2>&1; then pass; else fail "$2: the region $1 should exist"; fi
}
expect_no_region() {
    gone=$(tool stat "$1" 2>&1 >/dev/null | tr -d '\r')
    if [ "$gone" = "sharedmem: stat $1: no such region" ]; then pass; else
        fail "$2: the region $1 should be gone (stat says '$gone')"
    fi
}

# expect_released NAME: the hold $HPID, whose stderr is $HERR, has exited
# 0 within 5 s, saying so (after `rm NAME` asked it to let go).
expect_released() {
    wait_in_time "$HPID" 5
    text "$HERR"
    RC=$SRC LAST="hold $1, then rm $1"
    cp "$HERR" "$TMP/err"
    : >"$TMP/out"
    expect_rc 0 "a hold that rm asked to let go exits 0"
    if has_line "$HERR" "released $1"; then pass; else fail "hold says it released $1"; fi
}

check_help
check_usage_errors

# ---------------------------------------------------------------------------
# create: a region lives only while some process has it open

C="$P-c"
run create "$C" 4096
expect_rc 0 "create without --persist"
if grep -q "not persistent" "$TMP/err"; then pass; else fail "create without --persist notes it"; fi
expect_no_region "$C" "a non-persistent region is gone after create exits"

run create "$C" 64K --persist
expect_rc 0 "create --persist"
expect_err_line "sharedmem: note: $C was removed when this command exited: here a region lives only while a process has it open, even with --persist; keep it with \`sharedmem hold $C --create 64K\`" \
    "create --persist notes that the region went with it"
expect_no_region "$C" "--persist cannot keep a region without a process"

# ---------------------------------------------------------------------------
# a held raw region: hold, stat, ls, the errors of the other commands

A="$P-a"
if start_hold "$A" --create 64K --mode 0640; then
    APID=$HPID AERR=$HERR
    # the pid is Windows' own, not the one the shell knows
    if tr -d '\r' <"$HERR" | grep -q "^holding $A (pid [0-9][0-9]*); Ctrl-C to release\$"; then
        pass
    else
        cp "$HERR" "$TMP/err"
        fail "hold message for $A"
    fi

    run stat "$A"
    expect_rc 0 "stat of a held region"
    expect_field name "$A" "stat name"
    expect_field kind region "stat kind"
    if stat_field size | grep -q '^65536 '; then pass; else fail "stat size 65536"; fi
    expect_field state ready "stat state"
    expect_field persistent no "stat persistent"
    expect_field "in use" yes "stat in use"
    expect_field owner - "stat owner: Windows regions have no uid"
    expect_field mode 0640 "stat mode: recorded as given"
    # the UTC offset is computed by the tool: not the zone's name
    if stat_field created | grep -q '^[0-9-]* [0-9:]* [-+][0-9][0-9][0-9][0-9] ([0-9]*)$'; then pass; else
        fail "stat created: 'YYYY-MM-DD HH:MM:SS +HHMM (SECONDS)'"; fi

    run stat "$A" --json
    now=$(date +%s)
    expect_json "$TMP/out" "$A" "stat --json" '"size":65536,' '"kind":"region"' \
        '"persistent":false' '"in_use":true' '"state":"ready"' '"error":null' '"uid":0,' \
        '"owner":null' '"mode":"0640"' '"layout":'
    created=$(json_num created)
    if [ -n "$created" ] && [ "$created" -gt $((now - 600)) ] && [ "$created" -le $((now + 5)) ]; then
        pass
    else
        fail "stat --json created '$created' is not about now ($now)"
    fi
    expect_json_parses "$TMP/out" "stat --json"

    # ls lists what Windows lets it find; it may find nothing (documented)
    run ls --json
    expect_rc 0 "ls --json"
    if [ "$(tr -d ' \n' <"$TMP/out")" = "[]" ]; then
        echo "NOTE: ls finds no region here: its row checks are left out"
    else
        expect_json "$TMP/out" "$A" "ls --json" '"size":65536,' '"in_use":true' '"owner":null'
        run ls
        expect_rc 0 "ls"
        if head -n 1 "$TMP/out" | grep -q '^NAME  *KIND  *BYTES  *MEMORY  *MAXVALUE  *ENTRIES  *PERSIST  *USERS  *STATE  *OWNER  *MODE$'; then
            pass
        else
            fail "ls header"
        fi
        if awk -v n="$A" '$1 == n && $2 == "region" && $3 == 65536 && $7 == "no" && $8 >= 1 &&
                          $9 == "ready" && $10 == "-" && $11 == "0640"' "$TMP/out" | grep -q .; then
            pass
        else
            fail "ls row of $A"
        fi
        run ls --all --json
        expect_json "$TMP/out" "$A" "ls --all --json" '"kind":"region"'
    fi

    run create "$A" 64K
    expect_rc 1 "create of a held region"
    expect_err_line "sharedmem: create $A: region already exists" "create of an existing region"
    run hold "$A" --create 4K
    expect_rc 1 "hold --create of a region of another size"
    expect_err_line "sharedmem: hold $A: exists with another size or kind" \
        "hold --create of a region of another size"
    check_kind_errors "$A"

    # --prefix: a test never collects regions that it did not make
    run gc --dry-run --prefix "$P-"
    expect_rc 0 "gc --dry-run --prefix"
    expect_no_out "$A" "gc --dry-run does not list a held region"
    run gc --prefix "$P-"
    expect_rc 0 "gc --prefix"
    expect_quiet "gc --prefix of a held region"
    run gc "$A"
    expect_rc 0 "gc NAME of a held region"
    expect_quiet "gc NAME of a held region"
    expect_region "$A" "gc keeps a held region"

    # rm asks the hold to let go
    run rm "$A"
    expect_rc 0 "rm of a held region"
    expect_quiet "rm of a held region"
    HPID=$APID HERR=$AERR
    expect_released "$A"
    expect_no_region "$A" "rm removes a held region"
fi
run gc "$P-missing"
expect_rc 1 "gc of a missing region"
expect_err_line "sharedmem: gc $P-missing: no such region" "gc of a missing region"

# ---------------------------------------------------------------------------
# rm

run rm "$A"
expect_rc 1 "rm of a missing region"
expect_err_line "sharedmem: rm $A: no such region" "rm of a missing region"

# two holds of one region: rm releases both
D="$P-d"
if start_hold "$D" --create 4K; then
    D1=$HPID D1ERR=$HERR
    if start_hold "$D"; then
        run rm "$D"
        expect_rc 0 "rm of a region with two holds"
        expect_released "$D"
        HPID=$D1 HERR=$D1ERR
        expect_released "$D"
        expect_no_region "$D" "rm removes a region with two holds"
    fi
fi

# names are checked before anything is removed; an error stops nothing
R1="$P-r1" R2="$P-r2"
if start_hold "$R1" --create 4K; then
    R1PID=$HPID R1ERR=$HERR
    if start_hold "$R2" --create 4K; then
        R2PID=$HPID R2ERR=$HERR
        run rm "$R1" "bad/name" "$R2"
        expect_usage "rm with an invalid name among others"
        expect_region "$R1" "names are checked before anything is removed"
        run rm "$R1" "$P-missing" "$R2"
        expect_rc 1 "rm continues after an error"
        expect_err_line "sharedmem: rm $P-missing: no such region" "rm continues after an error"
        HPID=$R1PID HERR=$R1ERR
        expect_released "$R1"
        HPID=$R2PID HERR=$R2ERR
        expect_released "$R2"
        expect_no_region "$R1" "rm removed the first"
        expect_no_region "$R2" "rm removed the last after the error"
    fi
fi

# ---------------------------------------------------------------------------
# hold: Ctrl-C releases; a hard kill takes the region with it

H="$P-h"
if start_hold "$H" --create 8K; then
    run stat "$H" --json
    expect_json "$TMP/out" "$H" "held region" '"size":8192,' '"in_use":true'
    stop_hold INT
    RC=$HRC LAST="hold $H --create 8K, then SIGINT (Ctrl-C)"
    cp "$HERR" "$TMP/err"
    : >"$TMP/out"
    expect_rc 0 "hold exits 0 on Ctrl-C"
    if has_line "$HERR" "released $H"; then pass; else fail "hold says it released $H"; fi
    expect_no_region "$H" "hold releases the region on Ctrl-C"
fi
if start_hold "$H" --create 8K; then
    kill -9 "$HPID"
    wait "$HPID" 2>/dev/null
    expect_no_region "$H" "a killed holder takes its region with it"
fi

check_hold_value "$P-hv"

# --capacity and --mode for the value hold creates
HC="$P-hc"
if start_hold "$HC" --capacity 64 --mode 0640; then
    if has_line "$HERR" "sharedmem: note: created $HC, a value of 64 bytes"; then pass; else
        fail "hold --capacity 64 notes the capacity"; fi
    run stat "$HC" --json
    expect_json "$TMP/out" "$HC" "hold --capacity 64 --mode 0640" '"kind":"value"' \
        '"capacity":64,' '"mode":"0640"'
    run set "$HC" "$(printf '%064d' 7)"
    expect_rc 0 "set of 64 bytes into a value of 64"
    run set "$HC" "$(printf '%065d' 7)"
    expect_rc 1 "set of 65 bytes into a value of 64"
    stop_hold INT
    RC=$HRC LAST="hold $HC --capacity 64, then SIGINT"
    expect_rc 0 "hold --capacity exits 0 on Ctrl-C"
    expect_no_region "$HC" "hold --capacity releases its value"
fi

# ---------------------------------------------------------------------------
# set and get, on values kept by a hold

V="$P-v"
run set "$V" hello
expect_rc 1 "set of a missing value without --persist"
expect_err_line "sharedmem: set $V: no such region (add --persist to create it, or keep it alive with \`sharedmem hold $V\`)" \
    "set of a missing value without --persist"
expect_no_region "$V" "set without --persist creates nothing"
run set "$V" hello --persist
expect_rc 0 "set --persist of a new value"
expect_err_line "sharedmem: note: $V was removed, with the value just stored, when this command exited: here a value lives only while a process has it open, even with --persist; keep it with \`sharedmem hold $V\`" \
    "set --persist notes that the value went with it"
expect_no_region "$V" "--persist cannot keep a value without a process"

if start_hold "$V"; then
    VPID=$HPID VERR=$HERR
    run set "$V" hello
    expect_rc 0 "set of a held value"
    expect_quiet "set of a held value"
    run stat "$V" --json
    expect_json "$TMP/out" "$V" "held value" '"kind":"value"' '"capacity":4096,' \
        '"persistent":false' '"in_use":true' '"state":"ready"' '"mode":"0600"'
    check_values "$V"

    W="$P-cap"
    if start_hold "$W" --capacity 16 --mode 0640; then
        WPID0=$HPID WERR0=$HERR
        run set "$W" 0123456789abcdef
        expect_rc 0 "set of 16 bytes into a value of 16"
        check_capacity "$W"
        # a second hold attaches to the existing value, creating nothing
        if start_hold "$W" --capacity 8; then
            if grep -q "note:" "$HERR"; then fail "hold of an existing value notes no creation"; else pass; fi
            stop_hold INT
            RC=$HRC LAST="second hold of $W"
            expect_rc 0 "hold of an existing value exits 0"
            expect_region "$W" "the other hold keeps the value"
        fi
        HPID=$WPID0 HERR=$WERR0
        stop_hold INT
        expect_no_region "$W" "the last hold takes the value with it"
    fi

    check_watch "$V"

    # rm of a watched value: the hold lets go, the watch keeps it
    start_watch "$V"
    if wait_lines "$WOUT" 1; then pass; else watch_fail "watch of $V"; fi
    run rm "$V"
    expect_rc 1 "rm of a watched value"
    expect_err_line "sharedmem: rm $V: in use" "rm of a watched value"
    HPID=$VPID HERR=$VERR
    expect_released "$V"
    expect_region "$V" "the watch keeps the value"
    stop_in_time "$WPID" INT 2
    RC=$SRC LAST="watch $V, then SIGINT"
    expect_rc 0 "watch exits 0 on Ctrl-C"
    expect_no_region "$V" "the value goes with its last watcher"
fi

# ---------------------------------------------------------------------------
# maps: `map --persist` cannot keep one; `hold --entries` does

M="$P-m"
run map "$M" --entries 4 --value-size 16 --persist
expect_rc 0 "map --persist"
expect_err_line "sharedmem: note: $M was removed when this command exited: here a map lives only while a process has it open, even with --persist; keep it with \`sharedmem hold $M --entries 4 --value-size 16\`" \
    "map --persist notes that the map went with it"
expect_no_region "$M" "--persist cannot keep a map without a process"

if start_hold "$M" --entries 4 --value-size 16 --mode 0640; then
    MPID=$HPID MERR=$HERR
    if has_line "$HERR" "sharedmem: note: created $M, a map of 4 entries of 16 bytes"; then pass; else
        cp "$HERR" "$TMP/err"
        fail "hold --entries notes the map it created"
    fi
    run stat "$M" --json
    expect_json "$TMP/out" "$M" "map created by hold" '"kind":"map"' '"capacity":4,' \
        '"entries":0,' '"max_value":16,' '"in_use":true' '"mode":"0640"'
    check_maps "$M"
    # a raw region and a value beside it, for the kind errors
    if start_hold "$P-ma" --create 4K; then
        MAPID=$HPID
        if start_hold "$P-mv"; then
            MVPID=$HPID
            check_map_kinds "$M" "$P-mv" "$P-ma"
            HPID=$MVPID
            stop_hold INT
        fi
        HPID=$MAPID
        stop_hold INT
    fi
    check_map_watch "$M"
    check_incr_race "$M" 8
    run rm "$M"
    expect_rc 0 "rm of a held map"
    HPID=$MPID HERR=$MERR
    expect_released "$M"
    expect_no_region "$M" "rm removes a held map"
fi

# a write error ends watch with one message
WF="$P-wf"
if [ -w /dev/full ] && start_hold "$WF"; then
    # shellcheck disable=SC2086
    $EMU "$BIN" watch "$WF" >/dev/full 2>"$TMP/err" &
    WPID=$!
    PIDS="$PIDS $WPID"
    wait_in_time "$WPID" 5 # it exits on its own at once
    text "$TMP/err"
    : >"$TMP/out"
    RC=$SRC LAST="sharedmem watch $WF >/dev/full"
    expect_rc 1 "watch reports a write error"
    expect_err_line "sharedmem: watch $WF: error writing the output" "watch reports a write error"
    stop_hold INT
fi

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
