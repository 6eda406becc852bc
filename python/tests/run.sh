#!/bin/sh
# The ctest entry point of the Python module's tests:
#
#   sh python/tests/run.sh PYTHON MODULE_DIR BUILD_DIR
#
# PYTHON is the interpreter the module was built for, MODULE_DIR the
# directory holding sharedmem.abi3.so, BUILD_DIR the CMake build directory
# (BUILD_DIR/tools/sharedmem is the command-line tool the tests talk to).
#
# Exit status: pytest's (0 passed, 1 failed, ...), or 77 (ctest's skip)
# with a message saying what is missing: pytest for PYTHON, or the module.
# With SMEM_REQUIRE_PYTHON=1 in the environment (CI sets it) nothing may be
# missing: what would skip fails instead, here and in the tests (numpy, the
# tool).
#
# No cache files are written into the source tree: no .pytest_cache
# (-p no:cacheprovider) and no __pycache__ (PYTHONDONTWRITEBYTECODE).

if [ $# -ne 3 ]; then
    echo "usage: sh python/tests/run.sh PYTHON MODULE_DIR BUILD_DIR" >&2
    exit 2
fi
PYTHON=$1
MODULE_DIR=$2
BUILD_DIR=$3
# Relative directories are relative to where we were started; we cd below.
case $MODULE_DIR in /*) ;; *) MODULE_DIR=$(pwd)/$MODULE_DIR ;; esac
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$(pwd)/$BUILD_DIR ;; esac

here=$(cd "$(dirname "$0")" && pwd) || exit 1
top=$(cd "$here/../.." && pwd) || exit 1

missing() {
    if [ "${SMEM_REQUIRE_PYTHON:-0}" = 1 ]; then
        echo "python tests: FAILED (SMEM_REQUIRE_PYTHON=1): $*" >&2
        exit 1
    fi
    echo "python tests: skipped: $*" >&2
    exit 77
}

if [ -z "$PYTHON" ] || ! "$PYTHON" -c "import sys" >/dev/null 2>&1; then
    missing "no Python interpreter ('$PYTHON' does not run)"
fi
if ! "$PYTHON" -c "import pytest" >/dev/null 2>&1; then
    missing "pytest is not installed for $PYTHON ($("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])' 2>/dev/null)): apt-get install python3-pytest (or: $PYTHON -m pip install pytest)"
fi
if [ ! -f "$MODULE_DIR/sharedmem.abi3.so" ]; then
    missing "the module is not built: no $MODULE_DIR/sharedmem.abi3.so"
fi
# Built but not importable (built for another interpreter, a missing
# symbol, ...) is a failure, never a skip.
if ! err=$(cd "$top" && PYTHONPATH="$MODULE_DIR" PYTHONDONTWRITEBYTECODE=1 \
        "$PYTHON" -c "import sharedmem" 2>&1); then
    echo "python tests: FAILED: $MODULE_DIR/sharedmem.abi3.so does not import into $PYTHON:" >&2
    echo "$err" >&2
    exit 1
fi

cd "$top" || exit 1
PYTHONPATH=$MODULE_DIR
SMEM_CLI=$BUILD_DIR/tools/sharedmem
PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH SMEM_CLI PYTHONDONTWRITEBYTECODE
exec "$PYTHON" -m pytest -q -p no:cacheprovider python/tests
