"""Functions run in child processes by the tests (importable by name, for the
'spawn' start method).  Not a test module."""

import sharedmem

INCRS = 100_000


def incr_by_name(name, n=INCRS):
    """spawn: the child opens the map by name."""
    with sharedmem.Map(name, create=False) as m:
        for _ in range(n):
            m.incr("counter")


def incr_inherited(m, n=INCRS):
    """fork: the child uses the Map object opened in the parent."""
    incr = m.incr
    for _ in range(n):
        incr("counter")


def wait_value(name, q):
    """Opens the Value NAME, says which version it saw, waits for the next one."""
    with sharedmem.Value(name, create=False) as v:
        seen = v.version
        q.put(("ready", seen))
        try:
            new = v.wait(seen=seen, timeout=60)
        except sharedmem.Timeout:
            q.put(("timeout", None, None))
            return
        q.put(("woke", new, v.get()))
        # then a wait that must time out, raising a TimeoutError
        try:
            v.wait(timeout=0.2)
        except TimeoutError as e:
            q.put(("timed out", type(e).__name__, isinstance(e, sharedmem.Timeout)))
        else:
            q.put(("no timeout", None, None))


def numpy_child(name, dtype, n, q):
    """Reads the parent's array, then writes its own through the same memory."""
    import numpy

    with sharedmem.Region(name, create=False) as r:
        a = numpy.frombuffer(r, dtype=dtype, count=n)
        q.put(("read", a.tolist()))
        a[:] = numpy.arange(n, dtype=dtype) * -3
        q.put(("wrote", None))
        del a


def grow_value(i):
    """The value test_grow's children write under key k{i} (lengths vary)."""
    return (b"%d:" % i) * (1 + i % 7)


def grow_insert(name, start, n, q):
    """Opens the grow map NAME by name and inserts keys k{start}..k{start+n-1},
    far past the size it was created with; reports its figures then."""
    with sharedmem.Map(name, create=False) as m:
        for i in range(start, start + n):
            m[f"k{i}"] = grow_value(i)
        q.put(("done", len(m), m.max_entries, m.max_value))


def grow_insert_inherited(m, start, n, q):
    """fork: the same through the Map object opened in the parent."""
    for i in range(start, start + n):
        m[f"k{i}"] = grow_value(i)
    q.put(("done", len(m), m.max_entries, m.max_value))
