"""Growing maps: Map.resize() and Map(grow=True) (smem_map_resize and
SMEM_GROW): contents, versions and expiry survive a resize, other Map
objects follow without reopening, a map cannot shrink, a read-only handle
cannot resize, a grow map takes far more keys and longer values than it was
made for, grow=True cannot be asked of a map made without it, and a child
process grows a map that the parent then reads whole."""

import multiprocessing
import threading

import pytest

import sharedmem
from sharedmem import InvalidArgument, Mismatch, PermissionDenied

import _workers

EBADF, E2BIG, EINVAL, EMISMATCH = -9, -7, -22, -1003
JOIN_TIMEOUT = 900  # generous: 2 shared cores


def figures(m):
    return m.max_entries, m.max_value


# ---------------------------------------------------------------------------
# resize


def test_resize_keeps_contents(name):
    with sharedmem.Map(name, 8, 16) as m:
        for i in range(8):
            m[f"k{i}"] = b"v%d" % i * (i + 1)
        m.set("k0", b"expiring", ttl=3600)
        versions = {k: m.version(k) for k in m}
        map_version = m.version()
        with pytest.raises(sharedmem.Full):
            m["one more"] = b"x"
        assert m.resize(64, 32) is None
        assert figures(m) == (64, 32)
        # every entry, with its value, version and expiry, and the move is
        # not a change
        assert len(m) == 8
        assert m["k0"] == b"expiring" and 3500 < m.ttl("k0") <= 3600
        for i in range(1, 8):
            assert m[f"k{i}"] == b"v%d" % i * (i + 1)
            assert m.ttl(f"k{i}") is None
        assert {k: m.version(k) for k in m} == versions
        assert m.version() == map_version
        assert m.stats()["max_entries"] == 64
        assert "max_entries=64" in repr(m) and "max_value=32" in repr(m)
        # the room is there: 56 more keys, and values of 32 bytes
        for i in range(8, 64):
            m[f"k{i}"] = b"y" * 32
        assert len(m) == 64
        with pytest.raises(sharedmem.Full):
            m["one more"] = b"x"
        with pytest.raises(InvalidArgument):
            m["k1"] = b"z" * 33


def test_resize_max_value_none_keeps_it(name):
    with sharedmem.Map(name, 8, 16) as m:
        m["a"] = b"1"
        version = m.version()
        m.resize(8)  # the same figures: a no-op
        m.resize(8, None)
        m.resize(max_entries=8, max_value=16)
        assert figures(m) == (8, 16) and m.version() == version
        m.resize(20)
        assert figures(m) == (20, 16)
        m.resize(20, max_value=None)
        assert figures(m) == (20, 16)
        m.resize(max_value=40, max_entries=20)
        assert figures(m) == (20, 40)
        assert m["a"] == b"1" and m.version() == version


def test_other_map_objects_follow_without_reopening(name):
    with sharedmem.Map(name, 8, 16) as m, sharedmem.Map(name) as other:
        ro = sharedmem.Map(name, readonly=True)
        try:
            assert figures(other) == figures(ro) == (8, 16)
            m["a"] = b"1"
            m.resize(100, 40)
            # the properties ask the library: no reopening, no other call first
            assert figures(other) == (100, 40)
            assert figures(ro) == (100, 40)
            assert "max_entries=100" in repr(other)
            assert other["a"] == b"1" and ro["a"] == b"1"
            for i in range(99):
                other[f"k{i}"] = b"w" * 40
            assert len(m) == len(ro) == 100
            assert ro["k98"] == b"w" * 40
            # and once more, the other way round
            other.resize(200)
            assert figures(m) == (200, 40) and m.stats()["max_entries"] == 200
        finally:
            ro.close()
        # an open accepts the figures it was created with, or the current ones
        for args in ((8, 16), (200, 40), ()):
            with sharedmem.Map(name, *args) as again:
                assert figures(again) == (200, 40) and len(again) == 100
        for args in ((100, 40), (200, 16), (16, 8)):
            with pytest.raises(Mismatch):
                sharedmem.Map(name, *args)


def test_shrink_raises(name):
    with sharedmem.Map(name, 8, 16) as m:
        m["a"] = b"1"
        for args in ((4,), (4, 16), (8, 8), (4, 32), (100, 8), (0, 0)):
            with pytest.raises(ValueError) as ei:
                m.resize(*args)
            e = ei.value
            assert type(e) is InvalidArgument, repr(e)
            assert (e.code, e.errname, e.region) == (EINVAL, "SMEM_EINVAL", name)
            msg = str(e)
            assert "cannot shrink" in msg and name in msg, msg
            assert "max_entries=8" in msg and "max_value=16" in msg, msg
            assert msg.endswith("(SMEM_EINVAL)"), msg
            # nothing changed, not even the figure that would have grown
            assert figures(m) == (8, 16) and m["a"] == b"1"
        m.resize(32)
        with pytest.raises(InvalidArgument, match="max_entries=32 and max_value=16"):
            m.resize(16)


def test_resize_bad_arguments(name):
    with sharedmem.Map(name, 8, 16) as m:
        for args in ((-1,), (8, -1)):
            with pytest.raises(InvalidArgument) as ei:
                m.resize(*args)
            assert ei.value.code == EINVAL
        for args in ((sharedmem.MAP_ENTRIES_MAX + 1,), (8, sharedmem.MAP_VALUE_MAX + 1)):
            with pytest.raises(InvalidArgument) as ei:
                m.resize(*args)
            assert ei.value.code == E2BIG and ei.value.region == name
            assert str(ei.value) == f"resize map {name}: too large (SMEM_E2BIG)"
        for args, kwargs in (((), {}), (("8",), {}), ((8.0,), {}), ((8, "16"), {}),
                             ((8, 16, 32), {}), ((8,), {"max_entries": 8}),
                             ((8,), {"size": 8})):
            with pytest.raises(TypeError):
                m.resize(*args, **kwargs)
        with pytest.raises(OverflowError):
            m.resize(2**80)
        assert figures(m) == (8, 16)
    with pytest.raises(ValueError, match="closed"):
        m.resize(16)


def test_readonly_raises(name):
    with sharedmem.Map(name, 8, 16) as m, sharedmem.Map(name, readonly=True) as ro:
        for args in ((16,), (16, 32), (8, 16)):
            with pytest.raises(PermissionError) as ei:
                ro.resize(*args)
            e = ei.value
            assert type(e) is PermissionDenied
            assert (e.code, e.errname, e.region) == (EBADF, "SMEM_EBADF", name)
            assert str(e) == f"resize map {name}: bad handle (SMEM_EBADF)"
        assert figures(m) == figures(ro) == (8, 16)


def test_resize_in_a_thread_while_reading(name):
    """Readers in other threads find every entry while a resize moves them
    (the GIL is released during the move)."""
    with sharedmem.Map(name, 64, 8) as m:
        for i in range(64):
            m[f"k{i}"] = b"%d" % i
        stop = threading.Event()
        errors = []

        def resizer():
            try:
                n = 64
                while n < 1 << 17:
                    n *= 2
                    m.resize(n)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                stop.set()

        t = threading.Thread(target=resizer)
        t.start()
        reads = 0
        try:
            while not stop.is_set():
                for i in range(64):
                    assert m[f"k{i}"] == b"%d" % i
                reads += 1
        finally:
            stop.set()
            t.join()
        assert not errors, errors
        assert figures(m) == (1 << 17, 8) and len(m) == 64
        assert reads > 0


# ---------------------------------------------------------------------------
# grow=True


def test_grow_map_takes_many_more_keys(name):
    with sharedmem.Map(name, 8, 16, grow=True) as m:
        assert figures(m) == (8, 16)
        for i in range(1000):
            m[f"key{i}"] = b"%d" % i  # never Full
        assert len(m) == 1000
        assert m.max_entries == 1024  # doubled from 8, seven times
        assert m.max_value == 16
        assert all(m[f"key{i}"] == b"%d" % i for i in range(1000))
        assert sorted(m.keys()) == sorted(f"key{i}" for i in range(1000))
        # the other ways of adding a key grow it too
        for i in range(1000, 1100):
            assert m.add(f"key{i}", b"a")
            assert m.set(f"n{i}", b"s", nx=True)
            assert m.incr(f"c{i}") == 1
        assert len(m) == 1300 and m.max_entries == 2048
        assert m.stats()["max_entries"] == 2048


def test_grow_map_takes_longer_values(name):
    with sharedmem.Map(name, 8, 16, grow=True) as m:
        m["short"] = b"s" * 16
        m["long"] = b"x" * 100  # over max_value: raised instead of E2BIG
        assert m["long"] == b"x" * 100 and m["short"] == b"s" * 16
        assert m.max_value >= 100 and m.max_entries == 8
        big = bytes(range(256)) * 64  # 16 KiB: past the module's stack buffer
        assert m.set("big", big) is True
        assert m["big"] == big and m.get("big") == big
        assert m.max_value >= len(big)
        # still bounded by the library's limit
        with pytest.raises(InvalidArgument) as ei:
            m["huge"] = b"h" * (sharedmem.MAP_VALUE_MAX + 1)
        assert ei.value.code == E2BIG
    with sharedmem.Map(name, 8, 16) as fixed:  # without grow: too long
        with pytest.raises(InvalidArgument) as ei:
            fixed["long"] = b"x" * 17
        assert ei.value.code == E2BIG


def test_grow_on_a_map_made_without_it_raises(names):
    name = names()
    with sharedmem.Map(name, 8, 16) as m:
        for args in ((8, 16), ()):
            with pytest.raises(Mismatch) as ei:
                sharedmem.Map(name, *args, grow=True)
            e = ei.value
            assert (e.code, e.errname, e.region) == (EMISMATCH, "SMEM_EMISMATCH", name)
            assert str(e) == f"open map {name}: exists with another size or kind (SMEM_EMISMATCH)"
        m["still"] = b"ok"
        assert figures(m) == (8, 16)
    # an open without grow attaches to a grow map, and grows it
    gname = names()
    with sharedmem.Map(gname, 8, 16, grow=True) as g, sharedmem.Map(gname) as other:
        with sharedmem.Map(gname, 8, 16, grow=True) as same:
            assert not same.created
        for i in range(20):
            other[f"k{i}"] = b"v"
        assert len(g) == 20 and figures(g) == (32, 16)


def test_grow_is_keyword_only(name):
    with pytest.raises(TypeError):
        sharedmem.Map(name, 8, 16, True)
    with sharedmem.Map(name, 8, 16, evict=False, grow=1) as m:  # a truth value, like evict
        for i in range(9):
            m[f"k{i}"] = b"v"
        assert m.max_entries == 16


# ---------------------------------------------------------------------------
# Across processes


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_child_grows_the_map_parent_reads_all(name, method):
    ctx = multiprocessing.get_context(method)
    n = 600
    with sharedmem.Map(name, 8, 16, grow=True) as m:
        for i in range(4):
            m[f"k{i}"] = _workers.grow_value(i)
        q = ctx.Queue()
        if method == "fork":
            target, args = _workers.grow_insert_inherited, (m, 4, n, q)
        else:
            target, args = _workers.grow_insert, (name, 4, n, q)
        p = ctx.Process(target=target, args=args)
        p.start()
        try:
            # while the child grows it, the parent's reads never miss a key
            reads = 0
            while p.is_alive() and reads < 100_000:
                for i in range(4):
                    assert m[f"k{i}"] == _workers.grow_value(i)
                reads += 1
            what, count, entries, value = q.get(timeout=JOIN_TIMEOUT)
            p.join(JOIN_TIMEOUT)
            assert p.exitcode == 0
        finally:
            if p.is_alive():
                p.kill()
                p.join()
        assert what == "done" and count == n + 4
        # the parent's handle follows: the child's figures, every key
        assert figures(m) == (entries, value)
        longest = max(len(_workers.grow_value(i)) for i in range(n + 4))
        assert entries == 1024 and value >= longest > 16
        assert len(m) == n + 4
        want = {f"k{i}": _workers.grow_value(i) for i in range(n + 4)}
        assert dict(m.items()) == want
        assert all(m[k] == v for k, v in want.items())
        # and still works
        m["parent after"] = b"ok"
        assert m["parent after"] == b"ok"
