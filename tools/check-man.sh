#!/bin/sh
# check-man.sh MANDIR — checks that every man page in MANDIR renders without
# a single groff warning, and that every ".so" page points at a page that
# exists.  Exits 0 if all is well, 1 if not, 77 if groff is not installed.

set -u
dir=${1:?usage: check-man.sh MANDIR}

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

if [ "$pages" -eq 0 ]; then
    echo "FAIL: no man pages in $dir"
    exit 1
fi
echo "$pages pages, $fails problems"
[ "$fails" -eq 0 ]
