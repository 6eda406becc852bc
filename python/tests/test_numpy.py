"""numpy arrays over a Region share its memory, within a process and across
processes, without a copy."""

import multiprocessing

import pytest

import sharedmem

import _workers
from conftest import require


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_numpy_across_processes(name, method):
    numpy = require("numpy")
    n = 1000
    with sharedmem.Region(name, n * 8) as r:
        a = numpy.frombuffer(r, dtype=numpy.int64)
        assert a.shape == (n,) and a.flags.writeable
        assert not a.any()  # zero-filled
        a[:] = numpy.arange(n, dtype=numpy.int64) * 7
        ctx = multiprocessing.get_context(method)
        q = ctx.Queue()
        p = ctx.Process(target=_workers.numpy_child, args=(name, "int64", n, q))
        p.start()
        try:
            what, seen = q.get(timeout=120)
            assert what == "read"
            assert seen == list(range(0, 7 * n, 7))  # the child read what we wrote
            assert q.get(timeout=120) == ("wrote", None)
            p.join(300)
            assert p.exitcode == 0
        finally:
            if p.is_alive():
                p.kill()
                p.join()
        # the array made before the child wrote shows the child's values
        assert (a == numpy.arange(n, dtype=numpy.int64) * -3).all()
        del a


def test_numpy_views_share_memory(name):
    numpy = require("numpy")
    with sharedmem.Region(name, 4096) as r, sharedmem.Region(name) as r2:
        a = numpy.frombuffer(r, dtype=numpy.float64)
        b = numpy.frombuffer(r, dtype=numpy.float64)
        c = numpy.frombuffer(r2, dtype=numpy.uint8)  # another handle, same region
        assert a.size == 512 and c.size == 4096
        a[3] = 1.5
        assert b[3] == 1.5  # written through one view, seen through another
        assert c[24:32].tobytes() == numpy.float64(1.5).tobytes()
        c[0:8] = numpy.frombuffer(numpy.float64(-2.25).tobytes(), dtype=numpy.uint8)
        assert a[0] == -2.25 and b[0] == -2.25
        mv = memoryview(r)
        assert bytes(mv[24:32]) == numpy.float64(1.5).tobytes()
        mv.release()
        assert numpy.shares_memory(a, b)
        # close() while arrays hold the buffer: BufferError, and it stays open
        with pytest.raises(BufferError):
            r.close()
        assert not r.closed and a[3] == 1.5
        del a, b, c
    assert r.closed and r2.closed


def test_numpy_readonly_region(name):
    numpy = require("numpy")
    with sharedmem.Region(name, 64) as r:
        numpy.frombuffer(r, dtype=numpy.uint8)[:] = 9
        with sharedmem.Region(name, readonly=True) as ro:
            a = numpy.frombuffer(ro, dtype=numpy.uint8)
            assert not a.flags.writeable
            assert (a == 9).all()
            with pytest.raises(ValueError):
                a[0] = 1
            del a
