#!/bin/sh
# The test `python-pip`: `pip install --no-build-isolation ./python` works
# offline and gives a module that imports and works.
#
#   sh python/tests/pip-install.sh PYTHON SOURCE_DIR
#
# It copies python/, src/ and include/ of SOURCE_DIR to a temporary
# directory (pip builds in place, and the source tree must stay clean),
# makes a venv there that sees PYTHON's packages (setuptools and wheel:
# no network), installs into it, and runs a map round trip with the
# installed module.  Exit 77 (skip) when PYTHON has no venv, pip,
# setuptools or wheel, unless SMEM_REQUIRE_PYTHON=1 (CI), where that fails.

if [ $# -ne 2 ]; then
    echo "usage: sh python/tests/pip-install.sh PYTHON SOURCE_DIR" >&2
    exit 2
fi
PYTHON=$1
SOURCE_DIR=$2

missing() {
    if [ "${SMEM_REQUIRE_PYTHON:-0}" = 1 ]; then
        echo "python-pip: FAILED (SMEM_REQUIRE_PYTHON=1): $*" >&2
        exit 1
    fi
    echo "python-pip: skipped: $*" >&2
    exit 77
}

# ensurepip: what `python3 -m venv` needs (Debian's python3-venv).
for mod in ensurepip pip setuptools wheel; do
    "$PYTHON" -c "import $mod" >/dev/null 2>&1 ||
        missing "$PYTHON has no $mod (Debian: apt-get install python3-venv python3-pip python3-setuptools python3-wheel)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smem-pip.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
for dir in python src include; do
    cp -R "$SOURCE_DIR/$dir" "$tmp/$dir" || exit 1
done
rm -rf "$tmp/python/build" "$tmp/python"/*.egg-info

"$PYTHON" -m venv --system-site-packages "$tmp/venv" || exit 1
"$tmp/venv/bin/python" -m pip install --no-build-isolation --no-index --quiet "$tmp/python" ||
    { echo "python-pip: pip install --no-build-isolation ./python failed" >&2; exit 1; }

cd "$tmp" || exit 1 # not where a sharedmem.abi3.so of a build might be found
"$tmp/venv/bin/python" - "$tmp/venv" <<'PY' || exit 1
import os, sys
import sharedmem

venv = os.path.realpath(sys.argv[1])
where = os.path.realpath(sharedmem.__file__)
assert where.startswith(venv + os.sep), f"imported {where}, not the module installed in {venv}"
assert where.endswith(".abi3.so"), f"{where} is not built for the stable ABI"
stub = os.path.join(os.path.dirname(where), "sharedmem.pyi")
assert os.path.isfile(stub), f"no type stubs beside the module ({stub})"
name = f"pip-test-{os.getpid()}"
try:
    with sharedmem.Map(name, 16, 64, exclusive=True) as m:
        m["key"] = "value"
        assert m["key"] == b"value", m["key"]
        assert m.incr("n", 5) == 5
finally:
    try:
        sharedmem.remove(name)
    except FileNotFoundError:
        pass
print(f"python-pip: installed {where} ({sharedmem.version()}): a map round trip works")
PY
