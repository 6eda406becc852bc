#!/bin/sh
# check-man.sh MANDIR [INCLUDEDIR] — checks that every man page in MANDIR
# renders without a single groff warning, and that every ".so" page points
# at a page that exists.  With INCLUDEDIR, also checks that every function
# the public headers there export (SMEM_API, DLLSHMEM_API) has a page
# NAME.3 in MANDIR, itself or a ".so" to the page that documents it.
# Exits 0 if all is well, 1 if not, 77 if groff is not installed.

set -u
dir=${1:?usage: check-man.sh MANDIR [INCLUDEDIR]}
incdir=${2:-}

if ! command -v groff >/dev/null 2>&1; then
    echo "SKIP: groff is not installed"
    exit 77
fi

fails=0
pages=0
for page in "$dir"/*.[1-8]; do
    [ -e "$page" ] || continue
    pages=$((pages + 1))
    first=$(head -n 1 "$page")
    case "$first" in
    ".so "*)
        target=${first#.so }
        if [ ! -f "$dir/${target##*/}" ]; then
            echo "FAIL: $page points at $target, which is missing"
            fails=$((fails + 1))
        fi
        continue
        ;;
    esac
    out=$(LC_ALL=C groff -man -ww -z "$page" 2>&1)
    if [ -n "$out" ]; then
        echo "FAIL: $page:"
        echo "$out" | sed 's/^/  /'
        fails=$((fails + 1))
    fi
    if ! grep -q '^\.TH ' "$page" || ! grep -q '^\.SH NAME' "$page"; then
        echo "FAIL: $page lacks .TH or .SH NAME"
        fails=$((fails + 1))
    fi
done

# Every exported function has a page that names it.
if [ -n "$incdir" ]; then
    funcs=$(cat "$incdir"/*.h |
        sed -n -E 's/^(SMEM_API|DLLSHMEM_API) ([^(]*[ *])?([A-Za-z_][A-Za-z0-9_]*)\(.*/\3/p')
    if [ -z "$funcs" ]; then
        echo "FAIL: no exported function found in $incdir/*.h"
        fails=$((fails + 1))
    fi
    for fn in $funcs; do
        page="$dir/$fn.3"
        if [ ! -f "$page" ]; then
            echo "FAIL: $fn (exported by $incdir) has no page $fn.3"
            fails=$((fails + 1))
            continue
        fi
        first=$(head -n 1 "$page")
        case "$first" in
        ".so "*) page="$dir/${first##*/}" ;;
        esac
        if [ ! -f "$page" ] || ! grep -q -w -e "$fn" "$page"; then
            echo "FAIL: $fn.3 leads to ${page##*/}, which does not mention $fn"
            fails=$((fails + 1))
        fi
    done
    echo "$(echo "$funcs" | wc -w) exported functions checked"
fi

if [ "$pages" -eq 0 ]; then
    echo "FAIL: no man pages in $dir"
    exit 1
fi
echo "$pages pages, $fails problems"
[ "$fails" -eq 0 ]
