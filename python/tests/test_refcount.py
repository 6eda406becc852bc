"""Reference counting: a million calls leave memory flat and the arguments'
reference counts unchanged."""

import gc
import os
import resource
import sys
import tracemalloc

import sharedmem

MB = 1 << 20


def rss():
    """Resident memory now (Linux: /proc/self/statm), else the peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def calls(m, key, bkey, value, missing, default, n):
    """n rounds of 8 calls: m[key], m.get (hit, miss), m[key] = v, key in m
    (present, absent), the KeyError path, m[bytes key]."""
    for _ in range(n):
        m[key]
        m.get(key)
        m.get(missing, default)
        m[key] = value
        key in m
        missing in m
        try:
            m[missing]
        except KeyError:
            pass
        m[bkey]


def test_million_calls_memory_flat(name):
    with sharedmem.Map(name, 64, 64) as m:
        # made at run time, not constants: no interned or immortal objects,
        # whose reference counts would not show a leak
        key = "".join(["the-key-", "0123456"])
        bkey = "bytes-key-012345".encode()
        missing = "".join(["absent-key-", "01234"])
        default = object()
        value = b"v" * 64
        m[key] = value
        m[bkey] = value
        refs = [sys.getrefcount(o) for o in (key, bkey, missing, default, value)]

        calls(m, key, bkey, value, missing, default, 20_000)  # warm-up
        gc.collect()
        before = rss()
        calls(m, key, bkey, value, missing, default, 125_000)  # 1,000,000 calls
        gc.collect()
        grown = rss() - before
        assert grown < 5 * MB, f"resident memory grew by {grown / MB:.1f} MB"
        assert [sys.getrefcount(o) for o in (key, bkey, missing, default, value)] == refs

        # Python allocations, traced, over 100,000 calls: a leaked bytes or
        # exception per call would be megabytes
        tracemalloc.start()
        try:
            calls(m, key, bkey, value, missing, default, 1_000)
            gc.collect()
            start, _ = tracemalloc.get_traced_memory()
            calls(m, key, bkey, value, missing, default, 12_500)
            gc.collect()
            end, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert end - start < 1 * MB, f"traced memory grew by {(end - start) / MB:.2f} MB"
        assert m[key] == value


def test_other_calls_do_not_leak(names):
    with sharedmem.Map(names(), 64, 64) as m, sharedmem.Value(names(), 64) as v:
        m["k"] = b"x" * 64
        v.set(b"y" * 64)

        def loop(n):
            for i in range(n):
                m.set("t", b"z" * 32, ttl=100)
                m.get_stale("k")
                m.incr("c")
                m.version("k")
                m.add("k", b"no")
                m.cas("k", 1, b"no")
                m.items()
                m.stats()
                v.get()
                v.set(b"y" * 64)
                v.version
                len(m)
                try:
                    m["k" * 65]
                except ValueError:
                    pass

        loop(2_000)
        gc.collect()
        before = rss()
        loop(40_000)
        gc.collect()
        grown = rss() - before
        assert grown < 5 * MB, f"resident memory grew by {grown / MB:.1f} MB"
