#!/bin/sh
# suite-guard.sh setup|check SHAREDMEM STATE-DIR — the guard of the test
# suite: `make check` must touch no region that it did not create (issue
# #10: a `sharedmem gc` without a name in the suite removed a stale region
# of another program of the same user).
#
# CTest runs `setup` before every other test (the fixture smem_guard,
# tests/guard.cmake) and `check` after all of them.  setup makes two
# regions whose names no test uses, guard-RANDOM-stale (its holder was
# SIGKILLed: what any gc would remove) and guard-RANDOM-bad (its header
# overwritten: what a careless rm or re-create would touch), and writes
# their names and checksums to STATE-DIR.  check fails if either is gone
# or changed by a byte, then removes both.
#
# `suite-guard.sh windows` skips: a Windows region lives only while a
# process has it open, so no stale region can be left for the suite to
# touch, and there is no /dev/shm to plant a damaged one in.
#
# Plain POSIX sh, cksum and ls -i.  Exits 0 if all is well, 1 if not, 77
# to skip.

set -u
SHM=/dev/shm

mode=${1:?usage: suite-guard.sh setup|check SHAREDMEM STATE-DIR}
if [ "$mode" = windows ]; then
    echo "SKIP: on Windows a region goes with its last user: none can be left stale for" \
        "the suite to touch, and there is no /dev/shm to plant a damaged one in"
    exit 77
fi
BIN=${2:?usage: suite-guard.sh setup|check SHAREDMEM STATE-DIR}
STATE=${3:?usage: suite-guard.sh setup|check SHAREDMEM STATE-DIR}

if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then
    echo "SKIP: $SHM is missing or not writable"
    exit 77
fi

# fingerprint NAME: the inode, size and checksum of the region's file.
fingerprint() {
    # shellcheck disable=SC2012 # region names are letters, digits, . _ -
    printf '%s %s\n' "$(ls -di "$SHM/smem.$1" | awk '{ print $1 }')" \
        "$(cksum <"$SHM/smem.$1")"
}

# remove NAME: as a user would, else the file alone.
remove() {
    "$BIN" rm "$1" 2>/dev/null || rm -f "$SHM/smem.$1"
}

# remove_listed: removes the regions named in STATE-DIR/names, if any.
remove_listed() {
    [ -f "$STATE/names" ] || return 0
    while read -r name; do
        remove "$name"
    done <"$STATE/names"
}

# make_stale NAME: a region whose only user, `sharedmem hold`, is SIGKILLed.
make_stale() {
    "$BIN" hold "$1" --create 4096 >/dev/null 2>"$STATE/hold.err" &
    hpid=$!
    i=0
    while ! grep -q "^holding $1 " "$STATE/hold.err" && [ $i -lt 100 ]; do
        kill -0 "$hpid" 2>/dev/null || break
        sleep 0.1 2>/dev/null || sleep 1
        i=$((i + 1))
    done
    kill -9 "$hpid" 2>/dev/null
    wait "$hpid" 2>/dev/null
    "$BIN" stat "$1" 2>/dev/null | grep -q '^state: *stale$'
}

# make_damaged NAME: a persistent region whose header is overwritten.
make_damaged() {
    "$BIN" create "$1" 4096 --persist || return 1
    printf 'guard: not a sharedmem header!!!' |
        dd of="$SHM/smem.$1" bs=32 count=1 conv=notrunc 2>/dev/null
    "$BIN" stat "$1" 2>/dev/null | grep -q '^state: *bad: '
}

setup() {
    remove_listed # the leftovers of a run whose check never came
    rm -rf "$STATE"
    mkdir -p "$STATE" || exit 1
    stem="guard-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
    stale="$stem-stale" bad="$stem-bad"
    printf '%s\n%s\n' "$stale" "$bad" >"$STATE/names"
    if ! make_stale "$stale"; then
        echo "FAIL: could not make the stale region $stale:"
        cat "$STATE/hold.err"
        remove_listed
        exit 1
    fi
    if ! make_damaged "$bad"; then
        echo "FAIL: could not make the damaged region $bad"
        remove_listed
        exit 1
    fi
    for name in "$stale" "$bad"; do
        echo "$name $(fingerprint "$name")"
    done >"$STATE/sums"
    echo "made $stale (stale) and $bad (damaged); the suite must leave them as they are"
}

check() {
    if [ ! -f "$STATE/sums" ]; then
        echo "FAIL: $STATE/sums is missing: did suite_guard_setup run?"
        exit 1
    fi
    fails=0
    while read -r name want; do
        if [ ! -e "$SHM/smem.$name" ]; then
            echo "FAIL: a test removed $name, a region that the suite did not create"
            fails=$((fails + 1))
        elif [ "$(fingerprint "$name")" != "$want" ]; then
            echo "FAIL: a test changed $name, a region that the suite did not create"
            fails=$((fails + 1))
        else
            echo "ok: $name is untouched"
        fi
    done <"$STATE/sums"
    remove_listed
    rm -rf "$STATE"
    [ "$fails" -eq 0 ]
}

case "$mode" in
setup) setup ;;
check) check ;;
*)
    echo "usage: suite-guard.sh setup|check SHAREDMEM STATE-DIR" >&2
    exit 2
    ;;
esac
