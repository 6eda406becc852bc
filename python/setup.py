"""Builds the extension module sharedmem (stable ABI of CPython 3.11).

`pip install ./python` (from a checkout: the library's sources in ../src are
compiled into the module, so it needs no libsharedmem at run time).  The
lists of C files are read from ../src/CMakeLists.txt (SMEM_PORTABLE_SOURCES
and SMEM_OS_SOURCES), so that this build and CMake's can never differ.
"""
import os
import re
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "src")
INCLUDE = os.path.join(ROOT, "include")
LIMITED_API = "0x030B0000"


def cmake_set(text, var):
    """The word lists of every set(VAR ...) in a CMakeLists.txt, in order."""
    text = re.sub(r"#[^\n]*", "", text)
    return [m.group(1).split() for m in re.finditer(r"\bset\(\s*%s\s+([^)]*)\)" % var, text)]


def library_sources():
    with open(os.path.join(SRC, "CMakeLists.txt"), encoding="utf-8") as f:
        text = f.read()
    portable = cmake_set(text, "SMEM_PORTABLE_SOURCES")
    os_lists = cmake_set(text, "SMEM_OS_SOURCES")  # if(WIN32) ... else() ... endif()
    if len(portable) != 1 or len(os_lists) != 2:
        sys.exit("setup.py: cannot read the source lists of src/CMakeLists.txt")
    win, posix = os_lists
    chosen = win if sys.platform == "win32" else posix
    files = [os.path.join(SRC, name) for name in portable[0] + chosen]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        sys.exit("setup.py: missing library sources: %s" % ", ".join(missing))
    return files


def library_version():
    with open(os.path.join(INCLUDE, "sharedmem.h"), encoding="utf-8") as f:
        m = re.search(r'#define SMEM_VERSION_STRING "([0-9.]+)"', f.read())
    return m.group(1)


MODULE_SOURCES = ["module.c", "util.c", "map.c", "map-ops.c", "value.c", "region.c"]

if sys.platform == "win32":
    compile_args, link_args, libraries = [], [], ["ntdll"]
    macros = [("_WIN32_WINNT", "0x0601"), ("WIN32_LEAN_AND_MEAN", None), ("UNICODE", None),
              ("_UNICODE", None)]
else:
    compile_args, link_args, libraries = ["-std=c11", "-pthread"], ["-pthread"], []
    macros = [("_GNU_SOURCE", None)]
    if sys.platform.startswith("linux"):
        # Export PyInit_sharedmem alone, not the library's smem_* symbols.
        link_args.append("-Wl,--version-script=" + os.path.join(HERE, "exports.map"))

extension = Extension(
    "sharedmem",
    # Absolute paths: objects then go under build/temp.*, even those of ../src.
    sources=[os.path.join(HERE, "src", f) for f in MODULE_SOURCES] + library_sources(),
    include_dirs=[INCLUDE, SRC, os.path.join(HERE, "src")],
    define_macros=[("Py_LIMITED_API", LIMITED_API), ("SMEM_STATIC", None)] + macros,
    extra_compile_args=compile_args,
    extra_link_args=link_args,
    libraries=libraries,
    py_limited_api=True,
)

class build_ext_with_stubs(build_ext):
    """build_ext that also puts sharedmem.pyi beside the module (PEP 561)."""

    def run(self):
        super().run()
        target = os.path.join(HERE if self.inplace else self.build_lib, "sharedmem.pyi")
        if os.path.abspath(target) != os.path.join(HERE, "sharedmem.pyi"):
            self.copy_file(os.path.join(HERE, "sharedmem.pyi"), target)


setup(
    name="sharedmem",
    version=library_version(),
    description="Named shared memory between processes: regions, values and maps",
    python_requires=">=3.11",
    ext_modules=[extension],
    cmdclass={"build_ext": build_ext_with_stubs},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
    zip_safe=False,
)
