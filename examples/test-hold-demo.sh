#!/bin/sh
# The seed's "detached process", with the tool: while `sharedmem hold NAME`
# runs, the string the parent wrote outlives the parent and the child, and
# `sharedmem get NAME` prints it; when the holder stops, it is gone.
# usage: test-hold-demo.sh SHAREDMEM PARENT CHILD [RUNNER...]
# RUNNER (e.g. wine) starts the programs when they are built for another
# system; their lines may then end with \r\n, read here as \n.
set -u
cli=$1 parent=$2 child=$3
shift 3
run="$*"
name=holddemo-$$
export DLLSHMEM_NAME=$name
fail() { echo "FAIL: $*"; exit 1; }
x() { $run "$@"; }
unix() { printf '%s\n' "$1" | tr -d '\r'; }

$run "$cli" hold "$name" 2>/dev/null & # not through x: $! must be the holder
holder=$!
trap 'kill "$holder" 2>/dev/null' EXIT
i=0
until x "$cli" stat "$name" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 200 ] || fail "hold did not create $name"
    sleep 0.05
done
[ "$(x "$cli" stat "$name" --json | grep -c '"kind":"value"')" = 1 ] || fail "hold did not make a value"

out=$(x "$parent" "$child") || fail "parent/child failed: $out"
unix "$out" | grep -qx 'Child process read from shared memory: This is a test string' ||
    fail "child printed: $out"

got=$(x "$cli" get "$name") || fail "get failed after parent and child exited"
got=$(unix "$got")
[ "$got" = "This is a test string" ] || fail "get printed '$got'"

kill "$holder"
wait "$holder"
trap - EXIT
if x "$cli" stat "$name" >/dev/null 2>&1; then
    fail "$name still exists after the holder stopped"
fi
echo "ok: hold kept the parent's string for 'sharedmem get'"
