#!/bin/sh
# Two processes share a region through the CLI:
#   1. `sharedmem hold` creates the region and keeps it alive;
#   2. one process writes a line into it and exits;
#   3. another process, started afterwards, reads the line back;
#   4. when the holder stops, the region goes away with its last user.
# usage: demo.sh PATH/TO/sharedmem PATH/TO/smem-demo
set -eu
cli=$1
demo=$2
name=demo-$$

"$cli" hold "$name" --create 4096 &
holder=$!
trap 'kill "$holder" 2>/dev/null || true' EXIT HUP INT PIPE TERM
# Wait until the holder has created it.
i=0
until "$cli" stat "$name" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "demo: holder did not start" >&2; exit 1; }
    sleep 0.05
done

echo "== region $name created by 'sharedmem hold' (pid $holder)"
"$cli" stat "$name"
echo
echo "== a writer process stores a line and exits"
"$demo" write "$name" "Hello from process $$ at $(date +%T)"
echo
echo "== a reader process, started later, reads it"
"$demo" read "$name"
echo
echo "== sharedmem ls"
"$cli" ls
echo
echo "== stopping the holder: the last user is gone, so is the region"
kill "$holder"
wait "$holder" || true
trap - EXIT HUP INT PIPE TERM
if "$cli" stat "$name" >/dev/null 2>&1; then
    echo "demo: region $name is still there" >&2
    exit 1
fi
echo "sharedmem stat $name: no such region"
