#!/bin/sh
# The structure of the code, checked (issue #12):
#
#   layers     each file of the library calls only what files of its own
#              layer or below define, and no files call each other in a
#              circle, read from `nm` of the static library (a lower file
#              that references a symbol defined above it fails):
#                0  error.c name.c           (leaf utilities)
#                1  os-*.c                   (the OS layer, os.h)
#                2  region.c
#                3  wlock.c
#                4  value.c map*.c           (the kinds)
#                5  inspect.c                (knows every kind)
#   files      no source file in src/ or tools/ over 700 lines
#   functions  no function over 80 lines, counted from its "{" to its "}"
#              at column 0, unless the comment right above it has a
#              sentence starting "Not split:" that says why
#
# Usage: check-structure.sh LIBSHAREDMEM.a SOURCE_DIR
#        check-structure.sh --self-test     (shows that each check can fail)
set -u

fail=0
problem() {
    echo "FAIL: $*"
    fail=1
}

layer_of() { # object or source file name -> layer, or "?" for a file no layer names
    case "${1##*/}" in
    error.c* | name.c*) echo 0 ;;
    os-*) echo 1 ;;
    region.c*) echo 2 ;;
    wlock.c*) echo 3 ;;
    value.c* | map.c* | map-*.c*) echo 4 ;;
    inspect.c*) echo 5 ;;
    *) echo "?" ;;
    esac
}

# Every "file symbol" defined (T, D, B, R ...) and referenced (U) in the
# archive, then each reference to a symbol of a higher layer.
check_layers() {
    archive=$1
    nm -A "$archive" >"$tmp/nm" 2>"$tmp/nm.err" || {
        problem "nm $archive: $(cat "$tmp/nm.err")"
        return
    }
    # nm -A: "ARCHIVE:OBJECT:VALUE TYPE NAME", or "ARCHIVE:OBJECT: U NAME".
    awk '{ n = split($1, p, ":"); obj = p[n - 1] } NF == 3 && $2 ~ /^[TDBRGS]$/ { print obj, $3 }' \
        "$tmp/nm" | sort -u >"$tmp/defined"
    awk '{ n = split($1, p, ":"); obj = p[n - 1] } $2 == "U" { print obj, $3 }' \
        "$tmp/nm" | sort -u >"$tmp/used"
    objects=$(cut -d' ' -f1 "$tmp/defined" "$tmp/used" | sort -u)
    [ -n "$objects" ] || problem "no object files in $archive"
    for obj in $objects; do
        if [ "$(layer_of "$obj")" = "?" ]; then
            problem "$obj is in no layer: add it to layer_of in $0 (and to README.md's Layout)"
        fi
    done
    checked=0
    while read -r obj sym; do
        def=$(awk -v s="$sym" '$2 == s { print $1; exit }' "$tmp/defined")
        [ -n "$def" ] || continue # from the C library or the OS
        checked=$((checked + 1))
        from=$(layer_of "$obj")
        to=$(layer_of "$def")
        if [ "$from" != "?" ] && [ "$to" != "?" ] && [ "$to" -gt "$from" ]; then
            problem "${obj%.o} (layer $from) calls $sym of ${def%.o} (layer $to), a layer above it"
        fi
    done <"$tmp/used"
    echo "layers: $checked references between the library's files checked"
    # No circle either, in a layer or across (tsort names one it finds).
    while read -r obj sym; do
        def=$(awk -v s="$sym" '$2 == s { print $1; exit }' "$tmp/defined")
        [ -n "$def" ] && [ "$def" != "$obj" ] && echo "$obj $def"
    done <"$tmp/used" | sort -u >"$tmp/calls"
    if ! tsort "$tmp/calls" >/dev/null 2>"$tmp/loop"; then
        problem "a circle among the library's files: $(grep -v 'input contains a loop' "$tmp/loop" |
            sed 's/^tsort: //' | tr '\n' ' ')"
    fi
}

check_files() {
    for f in "$@"; do
        n=$(wc -l <"$f")
        [ "$n" -le 700 ] || problem "$f has $n lines (at most 700)"
    done
    echo "files: $# checked"
}

check_functions() {
    awk '
        FNR == 1 { start = 0; because = 0; last_because = -100 }
        /Not split:/ { last_because = FNR }
        /^\{$/ { start = FNR; because = FNR - last_because < 40 }
        /^\}/ && start {
            n = FNR - start + 1
            if (n > 80 && !because)
                printf "FAIL: %s:%d: a function of %d lines, and no \"Not split:\" comment above it\n", FILENAME, start, n
            start = 0
        }' "$@" >"$tmp/long"
    if [ -s "$tmp/long" ]; then
        cat "$tmp/long"
        fail=1
    fi
    echo "functions: those of $# files checked"
}

self_test() {
    # A lower file (region.c) that calls a function of a kind (map.c).
    mkdir "$tmp/lib"
    printf 'int smem__map_up(void);\nint smem__down(void) { return smem__map_up(); }\n' >"$tmp/lib/region.c"
    printf 'int smem__map_up(void) { return 1; }\n' >"$tmp/lib/map.c"
    (cd "$tmp/lib" && cc -c region.c -o region.c.o && cc -c map.c -o map.c.o &&
        ar rc libx.a region.c.o map.c.o) || { echo "self-test: cannot compile"; exit 77; }
    out=$(sh "$0" "$tmp/lib/libx.a" "$tmp/lib" 2>&1)
    case "$out" in
    *"region.c (layer 2) calls smem__map_up of map.c (layer 4)"*) echo "ok: an upward call fails" ;;
    *) problem "an upward call was not found: $out" ;;
    esac
    # Two files of one layer that call each other.
    printf 'int smem__b(void);\nint smem__a(int n) { return n ? smem__b() : 0; }\n' >"$tmp/lib/value.c"
    printf 'int smem__a(int);\nint smem__b(void) { return smem__a(0); }\n' >"$tmp/lib/map-read.c"
    (cd "$tmp/lib" && cc -c value.c -o value.c.o && cc -c map-read.c -o map-read.c.o &&
        ar rc liby.a value.c.o map-read.c.o) || { echo "self-test: cannot compile"; exit 77; }
    out=$(sh "$0" "$tmp/lib/liby.a" "$tmp/lib" 2>&1)
    case "$out" in
    *"a circle among the library's files"*) echo "ok: a circle in one layer fails" ;;
    *) problem "a circle was not found: $out" ;;
    esac
    # A file of 701 lines and a function of 81.
    mkdir "$tmp/src"
    awk 'BEGIN { print "int f(void)"; print "{"; for (i = 0; i < 79; i++) print "    ;"; print "}";
                 for (i = 0; i < 619; i++) print "" }' >"$tmp/src/long.c"
    out=$(cd "$tmp" && fail=0 && check_files src/long.c && check_functions src/long.c; echo "fail=$fail")
    case "$out" in
    *"has 701 lines"*"a function of 81 lines"*) echo "ok: a long file and a long function fail" ;;
    *) problem "a long file or function was not found: $out" ;;
    esac
    sed -i '1i /* Not split: a test. */' "$tmp/src/long.c"
    sed -i '$d' "$tmp/src/long.c"
    out=$(cd "$tmp" && check_functions src/long.c)
    case "$out" in
    *FAIL*) problem "a \"Not split:\" comment was not taken: $out" ;;
    *) echo "ok: a long function with a \"Not split:\" comment passes" ;;
    esac
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-structure.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ "${1:-}" = "--self-test" ]; then
    self_test
    exit $fail
fi
[ $# -eq 2 ] || { echo "usage: $0 LIBSHAREDMEM.a SOURCE_DIR | --self-test" >&2; exit 2; }
command -v nm >/dev/null 2>&1 || { echo "skip: no nm"; exit 77; }
archive=$1
srcdir=$2
check_layers "$archive"
if [ -d "$srcdir/src" ]; then
    set -- "$srcdir"/src/*.c "$srcdir"/src/*.h "$srcdir"/tools/*.c "$srcdir"/tools/*.h
    check_files "$@"
    check_functions "$@"
fi
[ $fail -eq 0 ] && echo "structure: ok"
exit $fail
