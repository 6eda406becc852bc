"""Value, Region, context managers and close, and the module functions."""

import os
import signal
import threading
import time

import pytest

import sharedmem


# ---------------------------------------------------------------------------
# Value


def test_value_get_set_version(name):
    with sharedmem.Value(name, 64) as v:
        assert v.name == name and v.capacity == 64 and v.created
        assert v.get() == b"" and v.version == 0
        v.set(b"abc")
        assert v.get() == b"abc" and type(v.get()) is bytes
        v1 = v.version
        assert v1 > 0
        v.set("héllo")
        assert v.get() == "héllo".encode()
        assert v.version > v1
        v.set(bytearray(b"ba"))
        assert v.get() == b"ba"
        v.set(memoryview(b"xyz"))
        assert v.get() == b"xyz"
        v.set(b"C" * 64)
        assert v.get() == b"C" * 64
        v.set(b"")
        assert v.get() == b""
        with pytest.raises(sharedmem.InvalidArgument):
            v.set(b"C" * 65)
        with pytest.raises(TypeError):
            v.set(12)
        with sharedmem.Value(name) as other:  # capacity 0: the existing one
            assert other.capacity == 64 and not other.created
            other.set(b"from other")
            assert v.get() == b"from other"
        r = repr(v)
        assert name in r and "64" in r


def test_value_wait_in_process(name):
    with sharedmem.Value(name, 16) as v:
        v.set(b"a")
        seen = v.version
        assert v.wait(seen=seen - 1, timeout=5) == seen  # already different: at once
        assert v.wait(seen=0) == seen

        got = []
        t = threading.Thread(target=lambda: got.append(v.wait(timeout=30)))
        t.start()
        time.sleep(0.2)
        v.set(b"b")
        t.join(60)
        assert not t.is_alive()
        assert got == [v.version] and v.version > seen
        with pytest.raises(sharedmem.Timeout):
            v.wait(timeout=0.05)


# ---------------------------------------------------------------------------
# Region


def test_region_buffer(name):
    with sharedmem.Region(name, 4096) as r:
        assert r.name == name and r.created
        assert len(r) == 4096 == r.size
        mv = memoryview(r)
        assert not mv.readonly
        assert mv.nbytes == 4096 and mv.format == "B" and mv.contiguous
        assert bytes(mv) == bytes(4096)  # zero-filled
        mv[10:15] = b"hello"
        with sharedmem.Region(name) as r2:
            assert not r2.created and len(r2) == 4096
            mv2 = memoryview(r2)
            assert bytes(mv2[10:15]) == b"hello"
            mv2[0] = 255  # no copy: written through one, seen through the other
            assert mv[0] == 255
            mv2.release()
        mv.release()
        assert name in repr(r) and "4096" in repr(r)


def test_region_close_with_export_alive(name):
    r = sharedmem.Region(name, 4096)
    mv = memoryview(r)
    with pytest.raises(BufferError):
        r.close()
    assert not r.closed
    mv[0] = 1  # still usable
    assert memoryview(r)[0] == 1
    mv.release()
    r.close()
    assert r.closed
    with pytest.raises(ValueError):
        memoryview(r)


def test_region_buffer_survives_other_handles(name):
    with sharedmem.Region(name, 8192) as keep:
        with sharedmem.Region(name) as r:
            bytearray_copy = bytearray(memoryview(r)[:4])
        assert bytearray_copy == bytearray(4)
        assert len(keep) == 8192


# ---------------------------------------------------------------------------
# Context managers and close


@pytest.mark.parametrize("kind", ["map", "value", "region"])
def test_context_manager_closes(name, kind):
    cls, args = {"map": (sharedmem.Map, (4, 4)), "value": (sharedmem.Value, (4,)),
                 "region": (sharedmem.Region, (4096,))}[kind]
    with cls(name, *args) as obj:
        assert isinstance(obj, cls) and not obj.closed
    assert obj.closed
    obj.close()  # double close is fine
    obj.close()
    assert obj.closed
    # it was the last user of a non-persistent region: the region is gone
    with pytest.raises(sharedmem.NotFoundError):
        sharedmem.stat(name)
    # a with block left by an exception closes too, and lets it through
    with pytest.raises(RuntimeError):
        with cls(name, *args) as obj2:
            raise RuntimeError("boom")
    assert obj2.closed
    # explicit close, then use
    obj3 = cls(name, *args)
    obj3.close()
    with pytest.raises(ValueError, match="closed"):
        {"map": lambda: obj3["k"], "value": lambda: obj3.get(),
         "region": lambda: memoryview(obj3)}[kind]()


def test_unclosed_handles_are_closed_by_gc(name):
    v = sharedmem.Value(name, 8)
    assert sharedmem.stat(name)["users"] == 1
    del v
    import gc
    gc.collect()
    with pytest.raises(sharedmem.NotFoundError):
        sharedmem.stat(name)


def test_persist(name):
    with sharedmem.Value(name, 8, persist=True) as v:
        v.set(b"kept")
    st = sharedmem.stat(name)
    assert st["persistent"] and not st["in_use"]
    with sharedmem.Value(name, create=False) as v:
        assert v.get() == b"kept" and not v.created


def test_mode(name):
    with sharedmem.Map(name, 4, 4, mode=0o640):
        assert sharedmem.stat(name)["mode"] == 0o640


def test_open_timeout_argument(name):
    with sharedmem.Map(name, 4, 4, timeout=0.5) as m:
        m["k"] = b"v"
        with sharedmem.Map(name, timeout=1) as m2:
            assert m2["k"] == b"v"


# ---------------------------------------------------------------------------
# Module functions


INFO_KEYS = {"name", "kind", "state", "size", "capacity", "entries", "max_value",
             "persistent", "in_use", "users", "uid", "mode", "created", "memory", "error"}


def test_stat_and_list_regions(names):
    mname, vname, rname = names(), names(), names()
    with sharedmem.Map(mname, 100, 32) as m, sharedmem.Value(vname, 48) as v, \
            sharedmem.Region(rname, 8192) as r:
        m["a"] = b"1"
        m["b"] = b"2"
        sm = sharedmem.stat(mname)
        assert set(sm) >= INFO_KEYS, set(sm) ^ INFO_KEYS
        assert sm["name"] == mname and sm["kind"] == "map"
        assert isinstance(sm["state"], str) and sm["state"].lower() == "ready"
        assert (sm["capacity"], sm["entries"], sm["max_value"]) == (100, 2, 32)
        assert not sm["persistent"] and sm["in_use"] and sm["users"] == 1
        assert sm["uid"] == os.getuid() and sm["mode"] == 0o600
        assert abs(sm["created"] - time.time()) < 3600
        assert sm["memory"] > sm["size"] > 0
        assert not sm["error"]
        sv = sharedmem.stat(vname)
        assert sv["kind"] == "value" and sv["capacity"] == 48
        sr = sharedmem.stat(rname)
        assert sr["kind"] == "region" and sr["size"] == 8192 and sr["capacity"] == 0
        with sharedmem.Region(rname):
            assert sharedmem.stat(rname)["users"] == 2
        listed = {i["name"]: i for i in sharedmem.list_regions()}
        assert isinstance(sharedmem.list_regions(), list)
        for n, kind in ((mname, "map"), (vname, "value"), (rname, "region")):
            assert n in listed
            assert set(listed[n]) >= INFO_KEYS
            assert listed[n]["kind"] == kind
        assert listed[mname]["entries"] == 2
    listed = {i["name"] for i in sharedmem.list_regions()}
    assert not {mname, vname, rname} & listed  # the last users closed them


def test_remove(name):
    with sharedmem.Map(name, 4, 4, persist=True) as m:
        m["k"] = b"v"
        sharedmem.remove(name)
        with pytest.raises(sharedmem.NotFoundError):
            sharedmem.stat(name)
        assert m["k"] == b"v"  # the handle keeps its memory
        with sharedmem.Map(name, 4, 4) as fresh:  # the name now makes a new one
            assert fresh.created and len(fresh) == 0
    with pytest.raises(FileNotFoundError):
        sharedmem.remove(name)


def test_gc_of_one_name_removes_only_stale(name):
    with pytest.raises(TypeError):
        sharedmem.gc(42)
    with sharedmem.Region(name, 4096):
        assert sharedmem.gc(name) is False  # in use
    with sharedmem.Value(name, 8, persist=True):
        pass
    assert sharedmem.gc(name) is False  # persistent, not stale
    sharedmem.remove(name)
    with pytest.raises(sharedmem.NotFoundError):
        sharedmem.gc(name)
    # a region whose only user was killed is stale: gc removes it
    pid = os.fork()
    if pid == 0:
        try:
            r = sharedmem.Region(name, 4096)  # noqa: F841 - kept open
            os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert sharedmem.stat(name)["state"].lower() == "stale"
    assert sharedmem.gc(name) is True
    with pytest.raises(sharedmem.NotFoundError):
        sharedmem.stat(name)


GC_EVERY = """
import os, signal, sys
import sharedmem
# In a private /dev/shm: two stale regions (their only user killed), one
# in use, one persistent.  gc() removes the two, and nothing else.
for stale in ("gone-1", "gone-2"):
    pid = os.fork()
    if pid == 0:
        r = sharedmem.Region(stale, 4096)  # kept open: the kill leaves it stale
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
held = sharedmem.Region("held", 4096)
with sharedmem.Value("kept", 8, persist=True):
    pass
removed = sharedmem.gc()
left = sorted(r["name"] for r in sharedmem.list_regions())
assert removed == 2 and left == ["held", "kept"], (removed, left)
assert sharedmem.gc(None) == 0
print("gc() removed", removed, "left", left)
"""


def test_gc_of_every_region_in_a_private_dev_shm():
    """gc() with no name works over every region, so it runs only where it
    can see none but its own: a mount namespace with its own /dev/shm."""
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) for a private /dev/shm")
    script = "mount -t tmpfs -o size=16m smem-test /dev/shm && exec \"$0\" -c \"$1\""
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                        sys.executable, GC_EVERY], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "gc() removed 2" in r.stdout


def test_version():
    v = sharedmem.version()
    assert isinstance(v, str) and v == sharedmem.__version__
    parts = v.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_module_file_and_stubs():
    path = sharedmem.__file__
    assert os.path.basename(path) == "sharedmem.abi3.so"
    assert os.path.exists(os.path.join(os.path.dirname(path), "sharedmem.pyi"))


def test_docstrings():
    missing = []
    for attr in ("Map", "Value", "Region", "list_regions", "stat", "remove", "gc",
                 "version", "Error"):
        obj = getattr(sharedmem, attr)
        if not (obj.__doc__ or "").strip():
            missing.append(attr)
    assert (sharedmem.__doc__ or "").strip(), "the module has no docstring"
    methods = {
        sharedmem.Map: ["get", "keys", "items", "values", "add", "cas", "incr", "version",
                        "wait", "set", "expire", "ttl", "get_stale", "flush", "stats",
                        "resize", "close", "max_entries", "max_value", "created", "evicting",
                        "name", "closed"],
        sharedmem.Value: ["get", "set", "wait", "version", "capacity", "created", "close",
                          "name", "closed"],
        sharedmem.Region: ["size", "created", "close", "name", "closed"],
    }
    for cls, attrs in methods.items():
        for attr in attrs:
            if not (getattr(cls, attr).__doc__ or "").strip():
                missing.append(f"{cls.__name__}.{attr}")
    assert not missing, missing


def test_stubs_name_everything_the_module_has():
    """sharedmem.pyi declares every public name of the module and of its
    classes, and nothing the module lacks (but the TypedDicts that only
    describe the dicts stat() and stats() return)."""
    import ast

    with open(os.path.join(os.path.dirname(sharedmem.__file__), "sharedmem.pyi")) as f:
        tree = ast.parse(f.read())
    declared, members = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", None) == "TypedDict" for b in node.bases):
            continue
        if isinstance(node, ast.ClassDef):
            declared.add(node.name)
            members[node.name] = {
                n.name if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) else n.target.id
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                or (isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name))
            }
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
        elif isinstance(node, ast.Assign):
            declared.update(t.id for t in node.targets if isinstance(t, ast.Name))
    public = {n for n in dir(sharedmem) if not n.startswith("_")} | {"__version__"}
    declared = {n for n in declared if not n.startswith("_") or n == "__version__"}
    assert public - declared == set(), f"not in the stubs: {sorted(public - declared)}"
    assert declared - public == set(), f"in the stubs only: {sorted(declared - public)}"
    for cls in ("Map", "Value", "Region"):
        have = {n for n in dir(getattr(sharedmem, cls)) if not n.startswith("_")}
        stub = {n for n in members[cls] if not n.startswith("_")}
        assert have - stub == set(), f"{cls}: not in the stubs: {sorted(have - stub)}"
        assert stub - have == set(), f"{cls}: in the stubs only: {sorted(stub - have)}"
