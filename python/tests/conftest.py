"""Shared fixtures of the sharedmem module's tests.

Every region a test makes is named by the `names` fixture: a per-run
prefix ("pytest-PID-N") and removed by name at teardown with
sharedmem.remove, so that the suite never touches anybody else's regions
(it never calls gc_all()).

SMEM_REQUIRE_PYTHON=1 (CI) turns every skip for something missing (numpy,
the command-line tool) into a failure.
"""

import itertools
import os
import subprocess

import pytest

import sharedmem

REQUIRE = os.environ.get("SMEM_REQUIRE_PYTHON") == "1"

_counter = itertools.count()
PREFIX = f"pytest-{os.getpid()}-"


def new_name():
    """A region name no other run uses (the pid makes it per-run)."""
    return f"{PREFIX}{next(_counter)}"


def require(module):
    """importorskip, except under SMEM_REQUIRE_PYTHON=1, where it must import."""
    if REQUIRE:
        try:
            return __import__(module)
        except ImportError as e:
            pytest.fail(f"{module} is required (SMEM_REQUIRE_PYTHON=1): {e}")
    return pytest.importorskip(module)


@pytest.fixture
def names():
    """A factory of fresh region names; each one is removed at teardown."""
    made = []

    def make():
        name = new_name()
        made.append(name)
        return name

    yield make
    for name in made:
        try:
            sharedmem.remove(name)
        except FileNotFoundError:
            pass


@pytest.fixture
def name(names):
    """One fresh region name, removed at teardown."""
    return names()


@pytest.fixture
def cli():
    """The path of the sharedmem command-line tool ($SMEM_CLI)."""
    path = os.environ.get("SMEM_CLI")
    if not path or not os.access(path, os.X_OK):
        msg = f"the sharedmem tool is not available (SMEM_CLI={path!r})"
        if REQUIRE:
            pytest.fail(msg + " and SMEM_REQUIRE_PYTHON=1")
        pytest.skip(msg)
    return path


def run_cli(cli, *args, check=True):
    """Runs the tool with stdout a pipe; returns the CompletedProcess (bytes)."""
    proc = subprocess.run([cli, *args], capture_output=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{cli} {' '.join(args)}: exit {proc.returncode}: {proc.stderr!r}"
        )
    return proc
