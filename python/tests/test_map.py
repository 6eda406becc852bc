"""Map: the dict protocol, iteration, add/cas/incr/version/wait, the cache
calls (ttl, nx/xx/keep_ttl, expire, get_stale, flush), stats and eviction,
in one process."""

import array
import threading
import time

import pytest

import sharedmem


# ---------------------------------------------------------------------------
# The dict protocol


def test_dict_round_trip_values(name):
    with sharedmem.Map(name, 100, 64) as m:
        assert m.max_entries == 100 and m.max_value == 64
        assert m.created and not m.evicting
        assert len(m) == 0
        cases = {
            "str": ("héllo, wörld", "héllo, wörld".encode()),
            "bytes": (b"\x00\x01\xff raw", b"\x00\x01\xff raw"),
            "bytearray": (bytearray(b"mutable"), b"mutable"),
            "memoryview": (memoryview(b"0123456789")[2:7], b"23456"),
            "array": (array.array("i", [1, 2, 3]), array.array("i", [1, 2, 3]).tobytes()),
            "empty": (b"", b""),
            "emptystr": ("", b""),
            "max": (b"M" * 64, b"M" * 64),
            "maxstr": ("é" * 32, ("é" * 32).encode()),
        }
        for key, (value, _) in cases.items():
            m[key] = value
        assert len(m) == len(cases)
        for key, (_, want) in cases.items():
            got = m[key]
            assert type(got) is bytes, (key, type(got))
            assert got == want, key
            assert m.get(key) == want
            assert key in m
        # what was put is copied: changing the source later changes nothing
        src = bytearray(b"before")
        m["copy"] = src
        src[:] = b"after!"
        assert m["copy"] == b"before"
        # max_value + 1 is refused and changes nothing
        with pytest.raises(sharedmem.InvalidArgument):
            m["max"] = b"M" * 65
        with pytest.raises(sharedmem.InvalidArgument):
            m["new"] = "é" * 32 + "a"  # 65 bytes of UTF-8
        assert m["max"] == b"M" * 64
        assert "new" not in m
        # replace, delete
        m["str"] = b"replaced"
        assert m["str"] == b"replaced"
        del m["str"]
        assert "str" not in m
        assert m.get("str") is None
        assert m.get("str", b"default") == b"default"
        with pytest.raises(KeyError):
            m["str"]
        with pytest.raises(KeyError):
            del m["str"]
        assert len(m) == len(cases)  # -1 str, +1 copy


def test_dict_round_trip_keys(name):
    with sharedmem.Map(name, 100, 16) as m:
        keys = {
            "ascii": b"ascii",
            "ключ": "ключ".encode(),
            "日本語のキー": "日本語のキー".encode(),
            "🔑": "🔑".encode(),
            b"\x01\x02\xfe\xff": b"\x01\x02\xfe\xff",  # not UTF-8
            "k" * 64: b"k" * 64,
            b"b" * 64: b"b" * 64,
            "é" * 32: ("é" * 32).encode(),  # 32 characters, 64 bytes
            "-dash": b"-dash",
            "with space\ttab\n": b"with space\ttab\n",
        }
        for i, key in enumerate(keys):
            m[key] = str(i)
        assert len(m) == len(keys)
        for i, key in enumerate(keys):
            assert m[key] == str(i).encode(), key
            # str and bytes of the same UTF-8 name the same entry
            assert m[keys[key]] == str(i).encode(), key
        # 65 bytes refused, counted in bytes of UTF-8, not characters
        for bad in ("k" * 65, b"k" * 65, "é" * 32 + "x", "🔑" * 16 + "x"):
            with pytest.raises(sharedmem.InvalidArgument):
                m[bad] = b"v"
            with pytest.raises(sharedmem.InvalidArgument):
                m[bad]
        assert len(m) == len(keys)
        m[b"same"] = b"1"
        m["same"] = b"2"
        assert m[b"same"] == b"2" and len(m) == len(keys) + 1


def test_iteration_is_one_walk(name):
    with sharedmem.Map(name, 1000, 32) as m:
        want = {}
        for i in range(500):
            key = f"key-{i}-ü" if i % 3 else f"k{i}"
            want[key] = f"value {i}".encode()
        want[b"\xff\xfe-not-utf8"] = b"raw"
        for k, v in want.items():
            m[k] = v
        # keys come back as str when they are valid UTF-8, else as bytes
        keys = list(m)
        assert len(keys) == len(want)
        assert set(keys) == set(want)
        assert sorted(map(repr, m.keys())) == sorted(map(repr, want))
        assert all(type(k) is (bytes if k == b"\xff\xfe-not-utf8" else str) for k in keys)
        items = m.items()
        assert len(items) == len(want)
        assert dict(items) == want
        for k, v in items:
            assert type(v) is bytes
        assert sorted(m.values()) == sorted(want.values())
        # a bytes key that is valid UTF-8 comes back as str
        m[b"plain"] = b"p"
        assert "plain" in list(m.keys())
        del m["plain"]
        # the walk is taken first: changing the map while iterating is fine
        n = 0
        for k in m:
            del m[k]
            n += 1
        assert n == len(want)
        assert len(m) == 0 and list(m) == []
        assert list(m.items()) == [] and list(m.values()) == []


def test_len_and_contains(name):
    with sharedmem.Map(name, 10, 8) as m:
        for i in range(7):
            m[f"k{i}"] = b"v"
            assert len(m) == i + 1
        assert "k3" in m and b"k3" in m and "k9" not in m
        del m["k3"]
        assert "k3" not in m and len(m) == 6


# ---------------------------------------------------------------------------
# add, cas, incr, version, wait


def test_add(name):
    with sharedmem.Map(name, 10, 8) as m:
        assert m.add("k", b"first") is True
        assert m.add("k", b"second") is False
        assert m["k"] == b"first"
        assert m.add(b"raw", "str") is True and m["raw"] == b"str"


def test_cas_and_versions(name):
    with sharedmem.Map(name, 10, 8) as m:
        assert m.version() == 0
        assert m.version("k") == 0
        assert m.cas("k", 0, b"v1") is True  # 0: only if absent
        v1 = m.version("k")
        assert v1 > 0 and m.version() == v1
        assert m.cas("k", 0, b"no") is False
        assert m.cas("k", v1 + 100, b"no") is False
        assert m["k"] == b"v1"
        assert m.cas("k", v1, b"v2") is True
        v2 = m.version("k")
        assert v2 > v1
        assert m.cas("k", v1, b"v3") is False  # stale version
        assert m["k"] == b"v2"
        m["other"] = b"x"
        assert m.version() > v2 and m.version("k") == v2
        del m["k"]
        assert m.version("k") == 0
        m["k"] = b"again"
        assert m.version("k") > m.version("other")  # a re-inserted key never gets an old one


def test_incr(name):
    with sharedmem.Map(name, 10, 24) as m:
        assert m.incr("c") == 1
        assert m.incr("c") == 2
        assert m.incr("c", 10) == 12
        assert m.incr("c", -20) == -8
        assert m.incr(b"c", delta=0) == -8
        assert m["c"] == b"-8"
        assert m.incr("fresh", 5, init=100) == 105  # an absent key starts from init
        assert m.incr("fresh", 5, init=100) == 110  # a present one does not
        m["s"] = "41"
        assert m.incr("s") == 42
        assert m.incr("big", 2**62) == 2**62
        assert m.incr("neg", -(2**63)) == -(2**63)
        assert type(m.incr("c")) is int
        assert m.ttl("c") is None
        assert m.incr("t", ttl=100) == 1  # a new key gets the ttl
        left = m.ttl("t")
        assert left is not None and 90 < left <= 100
        m["noexp"] = b"1"
        m.incr("noexp", ttl=100)  # a present key keeps its (lack of) expiry
        assert m.ttl("noexp") is None


def test_threads_incr(name):
    with sharedmem.Map(name, 10, 24) as m:
        def work():
            for _ in range(5000):
                m.incr("n")
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert m["n"] == b"20000"


def test_wait_returns_new_version(name):
    with sharedmem.Map(name, 10, 8) as m:
        m["k"] = b"0"
        v = m.version("k")
        # an already different version returns at once
        assert m.wait("k", seen=v - 1, timeout=5) == v
        assert m.wait("k", seen=0, timeout=5) == v
        assert m.wait(seen=0, timeout=5) == m.version()

        got = {}

        def waiter():
            got["key"] = m.wait("k", timeout=30)  # seen None: the next change

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.2)
        m["other"] = b"x"  # another key: the waiter sleeps again
        time.sleep(0.1)
        m["k"] = b"1"
        t.join(60)
        assert not t.is_alive()
        assert got["key"] == m.version("k") > v

        def map_waiter():
            got["map"] = m.wait(timeout=30)

        t = threading.Thread(target=map_waiter)
        before = m.version()
        t.start()
        time.sleep(0.2)
        m["any"] = b"y"
        t.join(60)
        assert not t.is_alive()
        assert got["map"] == m.version() > before


# ---------------------------------------------------------------------------
# The cache calls


def test_set_ttl_expire_get_stale(name):
    with sharedmem.Map(name, 10, 8) as m:
        m["plain"] = b"p"
        assert m.ttl("plain") is None
        assert m.set("long", b"v", ttl=100) is True
        left = m.ttl("long")
        assert isinstance(left, float) and 90 < left <= 100
        # the last changes before the sleep: no sweep can reclaim them
        assert m.set("ms", b"x", ttl=0.8) is True
        assert m.set("short", b"gone", ttl=0.8) is True
        assert m.get_stale("plain") == (b"p", False)
        assert m.get_stale("short") == (b"gone", False)
        time.sleep(1.6)
        # expired: absent for every read; no change since, so its record
        # was not reclaimed and get_stale still finds it
        assert "short" not in m
        assert m.get("short") is None
        with pytest.raises(KeyError):
            m["short"]
        with pytest.raises(KeyError):
            m.ttl("short")
        assert set(m) == {"long", "plain"}
        assert len(m) == 2
        assert m.get_stale("short") == (b"gone", True)
        assert m.get_stale("ms", "dflt") == (b"x", True)
        assert m.get_stale("absent", "dflt") == "dflt"
        with pytest.raises(KeyError):
            m.expire("short", 10)  # expired counts as absent
        # expire: a new ttl, None or 0 for never
        m.expire("plain", 50)
        assert 40 < m.ttl("plain") <= 50
        m.expire("plain", None)
        assert m.ttl("plain") is None
        m.expire("long", 0)
        assert m.ttl("long") is None
        m.expire("long", 0.3)
        time.sleep(0.8)
        assert "long" not in m


def test_set_nx_xx_keep_ttl(name):
    with sharedmem.Map(name, 10, 8) as m:
        assert m.set("k", b"1", nx=True) is True
        assert m.set("k", b"2", nx=True) is False
        assert m["k"] == b"1"
        assert m.set("absent", b"x", xx=True) is False
        assert "absent" not in m
        assert m.set("k", b"3", xx=True) is True
        assert m["k"] == b"3"
        # keep_ttl: a replace keeps the expiry
        assert m.set("t", b"a", ttl=100) is True
        assert m.set("t", b"b", keep_ttl=True) is True
        assert m["t"] == b"b"
        assert 90 < m.ttl("t") <= 100
        assert m.set("t", b"c", xx=True, keep_ttl=True) is True
        assert 90 < m.ttl("t") <= 100
        # without it a set gives no expiry (or the new ttl)
        assert m.set("t", b"d") is True
        assert m.ttl("t") is None
        assert m.set("t", b"e", ttl=20) is True
        assert 10 < m.ttl("t") <= 20
        m["t"] = b"f"  # __setitem__ is smem_map_set: no expiry
        assert m.ttl("t") is None
        # keep_ttl on a new key gives it ttl
        assert m.set("n", b"v", ttl=30, keep_ttl=True) is True
        assert 20 < m.ttl("n") <= 30


def test_flush(name):
    with sharedmem.Map(name, 100, 8) as m:
        for i in range(50):
            m[f"k{i}"] = b"v"
        before = m.version()
        assert m.flush() is None
        assert len(m) == 0 and list(m) == []
        assert m.version() == before + 1  # one change
        m["after"] = b"ok"
        assert m["after"] == b"ok"


STATS_KEYS = {"hits", "misses", "sets", "deletes", "evictions", "expirations", "entries",
              "max_entries", "bytes", "stale", "evicting"}


def test_stats_exact(name):
    with sharedmem.Map(name, 50, 16) as m:
        s = m.stats()
        assert set(s) == STATS_KEYS
        assert s == dict(hits=0, misses=0, sets=0, deletes=0, evictions=0, expirations=0,
                         entries=0, max_entries=50, bytes=0, stale=0, evicting=s["evicting"])
        assert not s["evicting"]
        m["a"] = b"1111"           # set 1
        m["bb"] = b"22"            # set 2
        m.set("ccc", b"3")         # set 3
        m.add("dddd", b"")         # set 4
        m.incr("n")                # set 5
        m.cas("e", 0, b"55")       # set 6 (no version(key): it may be a get)
        assert m["a"] == b"1111"   # hit 1
        assert m.get("bb") == b"22"  # hit 2
        assert m.get("zz") is None   # miss 1
        with pytest.raises(KeyError):
            m["yy"]                  # miss 2
        assert m.get_stale("ccc") == (b"3", False)  # hit 3
        del m["bb"]                # delete 1
        s = m.stats()
        # entries: a=1111, ccc=3, dddd=, n=1, e=55
        want_bytes = (1 + 4) + (3 + 1) + (4 + 0) + (1 + 1) + (1 + 2)
        assert s == dict(hits=3, misses=2, sets=6, deletes=1, evictions=0, expirations=0,
                         entries=5, max_entries=50, bytes=want_bytes, stale=0,
                         evicting=s["evicting"]), s
        m.flush()                  # deletes each of the 5 entries
        s = m.stats()
        assert (s["deletes"], s["entries"], s["bytes"], s["sets"]) == (6, 0, 0, 6), s
        # an expired entry: stale until reclaimed
        m.set("t", b"x", ttl=0.2)  # set 7
        time.sleep(0.6)
        s = m.stats()
        assert (s["entries"], s["stale"], s["sets"]) == (0, 1, 7), s
        assert m.get_stale("t") == (b"x", True)  # a stale find is a miss
        assert m.stats()["misses"] == 3
        m["t"] = b"y"  # a write of that key reclaims it
        s = m.stats()
        assert (s["entries"], s["stale"], s["expirations"], s["sets"]) == (1, 0, 1, 8), s


def test_evicting_map(name):
    with sharedmem.Map(name, 8, 16, evict=True) as m:
        assert m.evicting and m.stats()["evicting"]
        for i in range(20):
            assert m.set(f"key{i}", f"v{i}") is True  # never Full
        assert len(m) == 8
        s = m.stats()
        assert s["evictions"] == 12 and s["entries"] == 8 and s["sets"] == 20, s
        for i in range(20, 25):
            m[f"key{i}"] = b"x"
        assert m.stats()["evictions"] == 17
        assert len(m) == 8
        assert "key24" in m  # the newest is present
        # an open without evict attaches to it too
        with sharedmem.Map(name) as other:
            assert other.evicting


def test_properties_and_repr(name):
    with sharedmem.Map(name, 33, 17) as m:
        assert m.name == name
        assert not m.closed
        assert (m.max_entries, m.max_value, m.created, m.evicting) == (33, 17, True, False)
        with sharedmem.Map(name) as m2:
            assert not m2.created
            assert (m2.max_entries, m2.max_value) == (33, 17)
        r = repr(m)
        assert name in r and "33" in r
    assert name in repr(m)


def test_keywords_and_result_types(name):
    with sharedmem.Map(name=name, max_entries=10, max_value=8) as m:
        m["k"] = b"1"
        assert m.get("x", default=b"d") == b"d"
        assert m.get_stale("x", default=3) == 3
        value, stale = m.get_stale("k")
        assert value == b"1" and stale is False
        assert m.incr("n", delta=5, init=1) == 6
        assert m.wait(key="k", seen=0, timeout=1) == m.version(key="k")
        m.expire("k", ttl=None)
        assert m.cas("k", version=m.version("k"), value=b"2") is True
        assert m.set("k", b"3", ttl=None, nx=False, xx=True, keep_ttl=False) is True
        assert type(m.items()) is list
        assert all(type(kv) is tuple and len(kv) == 2 for kv in m.items())
        assert type(m.version()) is int and type(len(m)) is int
        assert type("k" in m) is bool
        s = m.stats()
        assert all(type(s[k]) is int for k in s if k != "evicting")
