#!/bin/sh
# test-install.sh BUILD-DIR SOURCE-DIR — an install to a fresh prefix, used
# as a new user would (issue #11), with LD_LIBRARY_PATH unset throughout:
#
#   - PREFIX/bin/sharedmem runs (its RUNPATH is $ORIGIN-relative), and can
#     create and remove a region;
#   - pkg-config finds sharedmem and dllshmem in PREFIX;
#   - the seed's parent.c and child.c build with
#     `pkg-config --cflags --libs dllshmem` and pass their string;
#   - a CMake project links sharedmem::dllshmem through find_package.
#
# Exits 0 if all is well, 1 if not, 77 if pkg-config or cmake is missing.

set -u
BUILD=${1:?usage: test-install.sh BUILD-DIR SOURCE-DIR}
SRC=${2:?usage: test-install.sh BUILD-DIR SOURCE-DIR}
for tool in cmake pkg-config cc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed"
        exit 77
    fi
done
unset LD_LIBRARY_PATH
SRC=$(cd "$SRC" && pwd) || exit 1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sharedmem-install.XXXXXX") || exit 1
NAME="inst-$$"
cleanup() {
    [ -x "$TMP/p/bin/sharedmem" ] && "$TMP/p/bin/sharedmem" rm "$NAME" "$NAME-seed" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

if ! cmake --install "$BUILD" --prefix "$TMP/p" >"$TMP/install.log" 2>&1; then
    cat "$TMP/install.log"
    echo "FAIL: cmake --install"
    exit 1
fi

# The tool, run from the install alone.
if out=$("$TMP/p/bin/sharedmem" --version 2>&1); then echo "ok: installed sharedmem --version: $out"; else
    fail "the installed sharedmem does not start: $out"; fi
if "$TMP/p/bin/sharedmem" create "$NAME" 4K --persist && "$TMP/p/bin/sharedmem" rm "$NAME"; then
    echo "ok: the installed sharedmem creates and removes a region"
else
    fail "the installed sharedmem cannot create and remove $NAME"
fi
if command -v readelf >/dev/null 2>&1; then
    if readelf -d "$TMP/p/bin/sharedmem" | grep -E 'R(UN)?PATH' | grep -q 'ORIGIN'; then
        echo "ok: its RUNPATH is relative to \$ORIGIN"
    else
        fail "the installed sharedmem has no \$ORIGIN RUNPATH: $(readelf -d "$TMP/p/bin/sharedmem" | grep PATH)"
    fi
fi

# pkg-config, for both libraries.
PKG_CONFIG_PATH=$(dirname "$(find "$TMP/p" -name sharedmem.pc | head -n 1)")
export PKG_CONFIG_PATH
if pkg-config --exists sharedmem dllshmem; then echo "ok: pkg-config finds sharedmem and dllshmem"; else
    fail "pkg-config does not find sharedmem and dllshmem in $PKG_CONFIG_PATH"; fi
libdir=$(pkg-config --variable=libdir sharedmem)

# The seed's programs, built as its users would, and run.  A library built
# with sanitizers (the CI builds) needs its runtimes in the program too.
flags=$(pkg-config --cflags --libs dllshmem)
if command -v readelf >/dev/null 2>&1; then
    needed=$(readelf -d "$libdir"/libsharedmem.so 2>/dev/null)
    case "$needed" in *libasan*) flags="$flags -fsanitize=address" ;; esac
    case "$needed" in *libubsan*) flags="$flags -fsanitize=undefined" ;; esac
    case "$needed" in *libtsan*) flags="$flags -fsanitize=thread" ;; esac
fi
for p in parent child; do
    # shellcheck disable=SC2086 # the flags are words
    if ! cc -D_GNU_SOURCE "$SRC/examples/$p.c" -o "$TMP/$p" $flags -Wl,-rpath,"$libdir" \
        2>"$TMP/cc.$p"; then
        fail "the seed's $p.c does not build with pkg-config dllshmem: $(cat "$TMP/cc.$p")"
    fi
done
if [ -x "$TMP/parent" ] && [ -x "$TMP/child" ]; then
    if DLLSHMEM_NAME="$NAME-seed" "$TMP/parent" "$TMP/child" >"$TMP/seed.out" 2>&1 &&
        grep -q 'This is a test string' "$TMP/seed.out"; then
        echo "ok: the seed's parent and child, built with pkg-config, pass their string"
    else
        fail "the seed's demo from the install: $(cat "$TMP/seed.out")"
    fi
fi

# find_package and sharedmem::dllshmem.
mkdir -p "$TMP/cm"
cat >"$TMP/cm/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(seed C)
find_package(sharedmem REQUIRED)
add_executable(child $SRC/examples/child.c)
target_compile_definitions(child PRIVATE _GNU_SOURCE)
target_link_libraries(child PRIVATE sharedmem::dllshmem)
EOF
if cmake -S "$TMP/cm" -B "$TMP/cm/b" -DCMAKE_PREFIX_PATH="$TMP/p" >"$TMP/cm.log" 2>&1 &&
    cmake --build "$TMP/cm/b" >>"$TMP/cm.log" 2>&1; then
    echo "ok: find_package(sharedmem) links sharedmem::dllshmem"
else
    fail "a CMake project with sharedmem::dllshmem: $(tail -n 5 "$TMP/cm.log")"
fi

[ "$fails" -eq 0 ] && echo "install test passed"
[ "$fails" -eq 0 ]
