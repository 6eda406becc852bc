"""Across processes: multiprocessing workers (fork and spawn), waits woken by
the command-line tool and by other processes, the tool reading what Python
wrote, and handles inherited through os.fork()."""

import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

import sharedmem

import _workers
from conftest import run_cli

JOIN_TIMEOUT = 900  # generous: 2 shared cores


def child_env():
    """The environment for a child interpreter that must import sharedmem."""
    env = dict(os.environ)
    here = os.path.dirname(sharedmem.__file__)
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# ---------------------------------------------------------------------------
# 4 processes x 100,000 incr


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_incr(name, method):
    ctx = multiprocessing.get_context(method)
    with sharedmem.Map(name, 16, 24) as m:
        if method == "fork":
            # the Map opened here, used by the children
            target, args = _workers.incr_inherited, (m,)
        else:
            # each child opens it by name
            target, args = _workers.incr_by_name, (name,)
        procs = [ctx.Process(target=target, args=args) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(JOIN_TIMEOUT)
        for p in procs:
            if p.is_alive():
                p.kill()
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        assert m["counter"] == b"400000"
        assert m.incr("counter", 0) == 4 * _workers.INCRS
        # the parent's handle still works after the children are gone
        m["after"] = b"ok"
        assert m["after"] == b"ok"


# ---------------------------------------------------------------------------
# Value.wait across processes


def test_value_wait_across_processes(name):
    ctx = multiprocessing.get_context("spawn")
    with sharedmem.Value(name, 32) as v:
        v.set(b"before")
        q = ctx.Queue()
        p = ctx.Process(target=_workers.wait_value, args=(name, q))
        p.start()
        try:
            what, seen = q.get(timeout=120)
            assert what == "ready" and seen == v.version
            time.sleep(0.3)  # let it go to sleep in wait
            v.set(b"after")
            what, new, value = q.get(timeout=120)
            assert what == "woke", what
            assert new == v.version > seen
            assert value == b"after"
            what, cls, is_timeout = q.get(timeout=120)
            assert (what, cls, is_timeout) == ("timed out", "Timeout", True)
            p.join(JOIN_TIMEOUT)
            assert p.exitcode == 0
        finally:
            if p.is_alive():
                p.kill()
                p.join()


# ---------------------------------------------------------------------------
# Interplay with the command-line tool


WAITER = r"""
import sys, sharedmem
name, key = sys.argv[1], sys.argv[2]
with sharedmem.Map(name, create=False) as m:
    seen = m.version(key)
    print("ready", seen, flush=True)
    new = m.wait(key, seen=seen, timeout=120)
    print("woke", new, m[key].hex(), flush=True)
"""


@pytest.mark.parametrize("key", ["status", "ключ"])
def test_cli_set_wakes_python_waiter(name, cli, key):
    with sharedmem.Map(name, 16, 64) as m:
        m[key] = b"old"
        m["other"] = b"x"
        proc = subprocess.Popen([sys.executable, "-c", WAITER, name, key],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=child_env())
        try:
            line = proc.stdout.readline().decode()
            assert line.split() == ["ready", str(m.version(key))], (
                line, proc.stderr.read() if not line else "")
            time.sleep(0.3)  # let it go to sleep in wait
            run_cli(cli, "set", name, "other", "not this key")
            time.sleep(0.1)
            run_cli(cli, "set", name, key, "new value from the tool")
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            woke = out.decode().split()
            assert woke == ["woke", str(m.version(key)), b"new value from the tool".hex()]
            assert m[key] == b"new value from the tool"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_cli_reads_what_python_wrote(names, cli):
    name = names()
    with sharedmem.Map(name, 16, 64) as m:
        value = b"binary\x00\x01\xff and text\n"
        m["bin"] = value
        m["ключ"] = "значение"
        m.incr("count", 41)
        # get writes the bytes exactly, no newline added (stdout is a pipe)
        assert run_cli(cli, "get", name, "bin").stdout == value
        assert run_cli(cli, "get", name, "ключ").stdout == "значение".encode()
        assert run_cli(cli, "get", name, "count").stdout == b"41"
        j = json.loads(run_cli(cli, "get", name, "ключ", "--json").stdout)
        assert j == {"name": name, "key": "ключ", "length": len("значение".encode()),
                     "version": m.version("ключ"), "value": "значение"}
        # an absent key: exit 1
        assert run_cli(cli, "get", name, "absent", check=False).returncode == 1
        # the tool's changes are seen by Python
        assert run_cli(cli, "incr", name, "count").stdout.strip() == b"42"
        assert m["count"] == b"42"
        run_cli(cli, "del", name, "bin")
        assert "bin" not in m
        # and what the tool lists is what Python put
        keys = run_cli(cli, "keys", name, "--null").stdout
        assert keys == b"".join(k + b"\0" for k in sorted(["ключ".encode(), b"count"]))
    vname = names()
    with sharedmem.Value(vname, 32) as v:
        v.set(b"from python")
        assert run_cli(cli, "get", vname).stdout == b"from python"
        run_cli(cli, "set", vname, "from the tool")
        assert v.get() == b"from the tool"


# ---------------------------------------------------------------------------
# os.fork()


def test_fork_inherits_handles(names):
    name = names()
    with sharedmem.Map(name, 16, 32) as m, sharedmem.Value(names(), 16) as v:
        m["parent"] = b"p"
        v.set(b"pv")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                os.close(r)
                ok = (m["parent"] == b"p" and m.get("parent") == b"p"
                      and v.get() == b"pv")
                m["child"] = b"c"
                m.incr("n")
                v.set(b"cv")
                os.write(w, b"ok" if ok else b"bad read")
                code = 0 if ok else 1
            except BaseException as e:  # noqa: BLE001 - report anything
                try:
                    os.write(w, repr(e).encode())
                except BaseException:
                    pass
            finally:
                os._exit(code)
        os.close(w)
        msg = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            msg += chunk
        os.close(r)
        _, status = os.waitpid(pid, 0)
        assert msg == b"ok"
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        # the parent sees the child's writes and still works
        assert m["child"] == b"c" and m["n"] == b"1" and v.get() == b"cv"
        m["parent"] = b"p2"
        assert m["parent"] == b"p2"
        assert m.incr("n") == 2
        v.set(b"pv2")
        assert v.get() == b"pv2"
        assert sharedmem.stat(name)["in_use"]
