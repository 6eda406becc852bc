#!/bin/sh
# Installs the build into a scratch prefix, runs the installed tool with
# no LD_LIBRARY_PATH, and builds consumers against it: with pkg-config
# (sharedmem, and dllshmem for the seed's programs) and with CMake's
# find_package.
# usage: install-check.sh BUILD_DIR
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
env -u LD_LIBRARY_PATH "$tmp/prefix/bin/sharedmem" --version

cat >"$tmp/consumer.c" <<'C'
#include <sharedmem.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    if (strcmp(smem_version(), SMEM_VERSION_STRING) != 0)
        return 1;
    printf("consumer linked against sharedmem %s: %s\n", smem_version(),
           smem_strerror(SMEM_ENOENT));
    return 0;
}
C

pcdir=$(dirname "$(find "$tmp/prefix" -name sharedmem.pc | head -n 1)")
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs sharedmem)
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir sharedmem)
# shellcheck disable=SC2086
cc "$tmp/consumer.c" -o "$tmp/consumer-pc" $flags -Wl,-rpath,"$libdir"
"$tmp/consumer-pc"

mkdir "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(sharedmem 0.1 REQUIRED)
add_executable(consumer ../consumer.c)
target_link_libraries(consumer PRIVATE sharedmem::sharedmem)
add_executable(consumer-static ../consumer.c)
target_link_libraries(consumer-static PRIVATE sharedmem::sharedmem_static)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
"$tmp/cm/build/consumer"
"$tmp/cm/build/consumer-static"
# The seed's programs, with pkg-config dllshmem.
dflags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs dllshmem)
for p in parent child; do
    # shellcheck disable=SC2086
    cc -D_GNU_SOURCE "$(dirname "$0")/../examples/$p.c" -o "$tmp/$p" $dflags -Wl,-rpath,"$libdir"
done
DLLSHMEM_NAME="install-check-$$" env -u LD_LIBRARY_PATH "$tmp/parent" "$tmp/child" |
    grep 'This is a test string'
echo "install check: the installed tool ran; pkg-config and find_package consumers built and ran"
