#!/bin/sh
# test-readme.sh README BUILD-DIR — runs the README's tool examples as
# written (issue #11): the lines of the first ```sh block after the
# heading "## The `sharedmem` tool", taken from README.md itself, one after
# the other, in the order a user types them, with BUILD-DIR/tools on the
# PATH and BUILD-DIR as ./build.  Every line must succeed:
#
#   NAME ... &           runs in the background (a hold) until the end
#   sharedmem watch ...  runs for a moment and must print, then stop at
#                        SIGINT (Ctrl-C) with exit 0
#   sharedmem get ...    prints what its comment says, if it has one
#   anything else        exits 0, within 30 s
#
# The README's lines include `sharedmem gc` and `ls`, which look at every
# region of the user: so they run in a /dev/shm of their own, a tmpfs in a
# private mount namespace (root and unshare(1); else exit 77), and touch
# nothing of anyone else's.  Exits 0 if every line works, 1 if not.

set -u
README=${1:?usage: test-readme.sh README BUILD-DIR}
BUILD=${2:?usage: test-readme.sh README BUILD-DIR}

if [ "${SMEM_README_INSIDE:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1; then
        echo "SKIP: needs root and unshare(1) for a private /dev/shm"
        exit 77
    fi
    if ! unshare -m true 2>/dev/null; then
        echo "SKIP: cannot make a mount namespace here"
        exit 77
    fi
    SMEM_README_INSIDE=1 exec unshare -m --propagation private \
        sh -c 'mount -t tmpfs -o mode=1777 tmpfs /dev/shm && exec sh "$0" "$@"' \
        "$0" "$README" "$BUILD"
fi

BUILD=$(cd "$BUILD" && pwd) || exit 1
README=$(cd "$(dirname "$README")" && pwd)/$(basename "$README") || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-readme.XXXXXX") || exit 1
BG=""
cleanup() {
    for p in $BG; do kill "$p" 2>/dev/null; done
    for p in $BG; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# The block, without its fences.
awk '/^## The `sharedmem` tool/ { f = 1; next }
     f && /^```sh$/ { inblock = 1; next }
     inblock && /^```$/ { exit }
     inblock { print }' "$README" >"$TMP/lines"
n=$(wc -l <"$TMP/lines")
if [ "$n" -lt 5 ]; then
    echo "FAIL: found $n lines of examples in $README"
    exit 1
fi

ln -s "$BUILD" "$TMP/build"
cd "$TMP" || exit 1
PATH="$BUILD/tools:$PATH"
export PATH

fails=0
i=0
while IFS= read -r line; do
    i=$((i + 1))
    # The command, and the comment after it (two or more spaces, then #).
    cmd=$(printf '%s\n' "$line" | sed 's/[[:space:]][[:space:]]*#.*$//')
    comment=$(printf '%s\n' "$line" | sed -n 's/^.*[[:space:]][[:space:]]*#[[:space:]]*//p')
    [ -n "$cmd" ] || continue
    case "$cmd" in
    *"&")
        # exec: $! is then the command itself, which cleanup can stop.
        sh -c "exec ${cmd%&}" >"$TMP/bg.$i" 2>&1 &
        BG="$BG $!"
        sleep 0.5
        if kill -0 "$!" 2>/dev/null; then echo "ok: $cmd"; else
            echo "FAIL: line $i, '$cmd', ended at once: $(cat "$TMP/bg.$i")"
            fails=$((fails + 1))
        fi
        ;;
    "sharedmem watch "*)
        sh -c "exec $cmd" >"$TMP/out" 2>"$TMP/err" &
        wp=$!
        sleep 1
        kill -INT "$wp" 2>/dev/null
        wait "$wp"
        rc=$?
        if [ "$rc" -eq 0 ] && [ -s "$TMP/out" ]; then echo "ok: $cmd"; else
            echo "FAIL: line $i, '$cmd': exit $rc after Ctrl-C, output '$(cat "$TMP/out")'," \
                "errors: $(cat "$TMP/err")"
            fails=$((fails + 1))
        fi
        ;;
    *)
        # A line that does not end (a hold without "&") is a failure too.
        timeout 30 sh -c "$cmd" >"$TMP/out" 2>"$TMP/err" </dev/null
        rc=$?
        if [ "$rc" -eq 124 ]; then
            echo "FAIL: line $i, '$cmd': still running after 30 s"
            fails=$((fails + 1))
        elif [ "$rc" -ne 0 ]; then
            echo "FAIL: line $i, '$cmd': exit $rc: $(cat "$TMP/err")"
            fails=$((fails + 1))
        elif [ -n "$comment" ] && [ "${cmd#sharedmem get }" != "$cmd" ] &&
            [ "$(cat "$TMP/out")" != "$comment" ]; then
            echo "FAIL: line $i, '$cmd': printed '$(cat "$TMP/out")', the README says '$comment'"
            fails=$((fails + 1))
        else
            echo "ok: $cmd"
        fi
        ;;
    esac
done <"$TMP/lines"

# Every `man [SECTION] PAGE` of the README leads to a page of man/ of
# that section; a PAGE that is in two sections must name its section
# (`man sharedmem` opens section 1, the tool, first).
MANDIR=$(dirname "$README")/man
grep -o '`man [1-8]* *[A-Za-z_][A-Za-z_0-9]*`' "$README" | tr -d '`' | sort -u >"$TMP/mans"
while read -r _ a b; do
    if [ -n "$b" ]; then sec=$a page=$b; else sec="" page=$a; fi
    found=$(ls "$MANDIR" | grep -c "^$page\.[1-8]$")
    if [ -n "$sec" ] && [ -f "$MANDIR/$page.$sec" ]; then
        echo "ok: man $sec $page"
    elif [ -z "$sec" ] && [ "$found" -eq 1 ]; then
        echo "ok: man $page"
    elif [ -z "$sec" ] && [ "$found" -gt 1 ] &&
        grep -q "\`man $page\` alone opens" "$README"; then
        echo "ok: man $page (the README says which page it opens)"
    else
        echo "FAIL: the README's \`man $sec $page\` leads to no page, or to one of several"
        fails=$((fails + 1))
    fi
done <"$TMP/mans"

echo "$i lines, $fails failed"
[ "$fails" -eq 0 ]
