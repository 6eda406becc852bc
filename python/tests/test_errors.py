"""The exception classes, their builtin bases and attributes, and every error
of Map, Value, Region and the module functions."""

import os

import pytest

import sharedmem
from sharedmem import (
    Damaged,
    Error,
    ExistsError,
    Full,
    InvalidArgument,
    Mismatch,
    NotFoundError,
    PermissionDenied,
    Timeout,
)

ENOENT, EEXIST, EBADF, E2BIG, EINVAL, ERANGE = -2, -17, -9, -7, -22, -34
ENAMETOOLONG, ETIMEDOUT = -36, -110
EBADREGION, EMISMATCH, EFULL = -1001, -1003, -1004

ERRNAMES = {
    ENOENT: "SMEM_ENOENT",
    EEXIST: "SMEM_EEXIST",
    EBADF: "SMEM_EBADF",
    E2BIG: "SMEM_E2BIG",
    EINVAL: "SMEM_EINVAL",
    ERANGE: "SMEM_ERANGE",
    ENAMETOOLONG: "SMEM_ENAMETOOLONG",
    ETIMEDOUT: "SMEM_ETIMEDOUT",
    EBADREGION: "SMEM_EBADREGION",
    EMISMATCH: "SMEM_EMISMATCH",
    EFULL: "SMEM_EFULL",
    -1: "SMEM_EPERM",
    -13: "SMEM_EACCES",
    -1002: "SMEM_EVERSION",
}

# smem_strerror's reasons: a message is "what failed NAME: reason (SMEM_E...)".
REASONS = {
    ENOENT: "no such region",
    EEXIST: "region already exists",
    EBADF: "bad handle",
    E2BIG: "too large",
    EINVAL: "invalid argument",
    ERANGE: "result out of range",
    ENAMETOOLONG: "name too long",
    ETIMEDOUT: "timed out",
    EBADREGION: "not a sharedmem region, or its header is damaged",
    EMISMATCH: "exists with another size or kind",
    EFULL: "the map is full",
}


def check_error(e, cls, code, region, codes=None):
    """e is a cls with .code, .errname, .region and its message as the contract says."""
    assert type(e) is cls, f"{type(e).__name__} is not {cls.__name__}: {e!r}"
    assert isinstance(e, Error)
    if codes is None:
        assert e.code == code, (e.code, code, str(e))
    else:
        assert e.code in codes, (e.code, codes, str(e))
    assert e.errname == ERRNAMES[e.code]
    assert e.region == region
    assert str(e).endswith(": %s (%s)" % (REASONS[e.code], e.errname)), str(e)
    if region is not None:
        assert region in str(e), str(e)


def check_message(e):
    """The message: "what failed NAME: reason (SMEM_E...)", the reason being
    smem_strerror's and NAME the region's, named before the reason."""
    msg = str(e)
    head, sep, reason = msg.rpartition(": ")
    assert sep, msg
    assert reason == "%s (%s)" % (REASONS[e.code], e.errname), msg
    assert e.region in head, msg


# ---------------------------------------------------------------------------
# The classes


def test_class_hierarchy():
    assert issubclass(Error, Exception)
    for cls, builtin in [
        (NotFoundError, FileNotFoundError),
        (ExistsError, FileExistsError),
        (PermissionDenied, PermissionError),
        (Timeout, TimeoutError),
        (InvalidArgument, ValueError),
    ]:
        assert issubclass(cls, Error), cls
        assert issubclass(cls, builtin), cls
    for cls in (Mismatch, Full, Damaged):
        assert issubclass(cls, Error), cls
        # only the classes above also inherit a builtin
        for builtin in (OSError, ValueError, TimeoutError):
            assert not issubclass(cls, builtin), (cls, builtin)
    assert not issubclass(Error, (OSError, ValueError))
    # the classes are distinct
    classes = {Error, NotFoundError, ExistsError, PermissionDenied, Timeout,
               InvalidArgument, Mismatch, Full, Damaged}
    assert len(classes) == 9


def test_error_messages(names):
    name = names()
    errors = []
    for call in (
        lambda: sharedmem.Map(name, 10, 10, create=False),
        lambda: sharedmem.stat(name),
        lambda: sharedmem.Value(name, 10, create=False),
    ):
        with pytest.raises(sharedmem.NotFoundError) as ei:
            call()
        errors.append(ei.value)
    with sharedmem.Map(name, 2, 4) as m:
        m["a"] = m["b"] = b"1"
        for call in (lambda: m.__setitem__("c", b"1"),
                     lambda: m.__setitem__("a", b"12345"),
                     lambda: sharedmem.Map(name, exclusive=True),
                     lambda: sharedmem.Map(name, 3, 4)):
            with pytest.raises(Error) as ei:
                call()
            errors.append(ei.value)
    for e in errors:
        check_message(e)
    # the message says what failed: not the same text for an open and a stat
    assert str(errors[0]) != str(errors[1])


# ---------------------------------------------------------------------------
# NotFoundError


@pytest.mark.parametrize("kind", ["map", "value", "region"])
def test_missing_region_create_false(name, kind):
    opener = {
        "map": lambda: sharedmem.Map(name, 10, 10, create=False),
        "value": lambda: sharedmem.Value(name, 10, create=False),
        "region": lambda: sharedmem.Region(name, 4096, create=False),
    }[kind]
    try:
        opener()
    except FileNotFoundError as e:  # the builtin catches it
        check_error(e, NotFoundError, ENOENT, name)
    else:
        pytest.fail("opened a missing region with create=False")
    # figures of 0 (accept the existing ones) too
    with pytest.raises(NotFoundError):
        {"map": sharedmem.Map, "value": sharedmem.Value, "region": sharedmem.Region}[
            kind](name, create=False)
    # readonly never creates
    with pytest.raises(NotFoundError):
        {"map": sharedmem.Map, "value": sharedmem.Value, "region": sharedmem.Region}[
            kind](name, readonly=True)
    assert name not in [r["name"] for r in sharedmem.list_regions()]


def test_missing_region_module_functions(name):
    with pytest.raises(FileNotFoundError) as ei:
        sharedmem.stat(name)
    check_error(ei.value, NotFoundError, ENOENT, name)
    with pytest.raises(FileNotFoundError) as ei:
        sharedmem.remove(name)
    check_error(ei.value, NotFoundError, ENOENT, name)


# ---------------------------------------------------------------------------
# ExistsError


@pytest.mark.parametrize("kind", ["map", "value", "region"])
def test_exclusive_exists(name, kind):
    cls, args = {
        "map": (sharedmem.Map, (10, 10)),
        "value": (sharedmem.Value, (10,)),
        "region": (sharedmem.Region, (4096,)),
    }[kind]
    with cls(name, *args, exclusive=True) as first:
        assert first.created
        try:
            cls(name, *args, exclusive=True)
        except FileExistsError as e:
            check_error(e, ExistsError, EEXIST, name)
        else:
            pytest.fail("exclusive open of an existing region succeeded")
        with cls(name, *args) as second:  # non-exclusive attaches
            assert not second.created


# ---------------------------------------------------------------------------
# PermissionDenied: writing through a read-only handle


def test_readonly_map_writes(name):
    with sharedmem.Map(name, 10, 16) as m:
        m["k"] = b"v"
        m["n"] = b"1"
        with sharedmem.Map(name, readonly=True) as ro:
            assert ro["k"] == b"v"
            assert ro.get("k") == b"v"
            assert "k" in ro
            assert len(ro) == 2
            writes = [
                lambda: ro.__setitem__("k", b"w"),
                lambda: ro.__delitem__("k"),
                lambda: ro.add("new", b"x"),
                lambda: ro.cas("k", ro.version("k"), b"w"),
                lambda: ro.incr("n"),
                lambda: ro.set("k", b"w", ttl=10),
                lambda: ro.expire("k", 10),
                lambda: ro.flush(),
            ]
            for write in writes:
                try:
                    write()
                except PermissionError as e:
                    check_error(e, PermissionDenied, EBADF, name,
                                codes=(EBADF, -1, -13))
                else:
                    pytest.fail("a write through a read-only map handle succeeded")
            assert m["k"] == b"v" and m["n"] == b"1" and len(m) == 2


def test_readonly_value_set(name):
    with sharedmem.Value(name, 16) as v:
        v.set(b"abc")
        with sharedmem.Value(name, readonly=True) as ro:
            assert ro.get() == b"abc"
            with pytest.raises(PermissionError) as ei:
                ro.set(b"x")
            check_error(ei.value, PermissionDenied, EBADF, name, codes=(EBADF, -1, -13))
        assert v.get() == b"abc"


def test_readonly_region_buffer(name):
    with sharedmem.Region(name, 4096) as r:
        memoryview(r)[0] = 7
        with sharedmem.Region(name, readonly=True) as ro:
            mv = memoryview(ro)
            assert mv.readonly
            assert mv[0] == 7
            with pytest.raises(TypeError):
                mv[0] = 1
            mv.release()


# ---------------------------------------------------------------------------
# InvalidArgument


BAD_NAMES = ["", "-lead", ".lead", "has space", "a/b", "semi;colon", "é", "x" * 65]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_bad_names(bad):
    for opener in (
        lambda: sharedmem.Map(bad, 10, 10),
        lambda: sharedmem.Value(bad, 10),
        lambda: sharedmem.Region(bad, 4096),
        lambda: sharedmem.stat(bad),
        lambda: sharedmem.remove(bad),
        lambda: sharedmem.gc(bad),
    ):
        with pytest.raises(ValueError) as ei:
            opener()
        e = ei.value
        assert type(e) is InvalidArgument, repr(e)
        assert e.code in (EINVAL, ENAMETOOLONG)
        if len(bad) > 64:
            assert e.code == ENAMETOOLONG
        assert e.errname == ERRNAMES[e.code]


def test_name_64_is_fine(names):
    long = names()
    long = long + "x" * (64 - len(long))
    try:
        with sharedmem.Value(long, 8) as v:
            assert v.name == long
    finally:
        try:
            sharedmem.remove(long)
        except FileNotFoundError:
            pass


def test_bad_keys(name):
    with sharedmem.Map(name, 10, 16) as m:
        for key in ["", b"", "k" * 65, b"k" * 65, "é" * 32 + "a", "a\0b", b"a\x00b"]:
            for call in (
                lambda: m.__setitem__(key, b"v"),
                lambda: m.__getitem__(key),
                lambda: m.get(key),
                lambda: m.set(key, b"v"),
                lambda: m.add(key, b"v"),
                lambda: m.incr(key),
            ):
                with pytest.raises(ValueError) as ei:
                    call()
                assert type(ei.value) is InvalidArgument, (key, repr(ei.value))
            with pytest.raises(ValueError):
                key in m
        # too long is SMEM_ENAMETOOLONG, empty SMEM_EINVAL, as the C library says
        with pytest.raises(InvalidArgument) as ei:
            m["k" * 65] = b"v"
        assert ei.value.code == ENAMETOOLONG
        with pytest.raises(InvalidArgument) as ei:
            m[""] = b"v"
        assert ei.value.code == EINVAL
        assert len(m) == 0


def test_wrong_types(name):
    with sharedmem.Map(name, 10, 16) as m:
        with pytest.raises(TypeError):
            m[1] = b"v"
        with pytest.raises(TypeError):
            m["k"] = 5
        with pytest.raises(TypeError):
            m["k"] = None
        with pytest.raises(TypeError):
            m[None]
        assert len(m) == 0


def test_value_over_max_value(name):
    with sharedmem.Map(name, 10, 8) as m:
        m["k"] = b"12345678"
        for call in (
            lambda: m.__setitem__("k", b"123456789"),
            lambda: m.set("k", b"123456789"),
            lambda: m.add("new", b"123456789"),
            lambda: m.cas("k", m.version("k"), b"123456789"),
        ):
            with pytest.raises(ValueError) as ei:
                call()
            check_error(ei.value, InvalidArgument, E2BIG, name)
        assert m["k"] == b"12345678"
        assert "new" not in m
    with sharedmem.Value(name, 4) as v:
        with pytest.raises(ValueError) as ei:
            v.set(b"12345")
        check_error(ei.value, InvalidArgument, E2BIG, name)
        assert v.get() == b"" and v.version == 0


@pytest.mark.parametrize("ttl", [0, -1, -0.5, 1e13, 1e30, float("inf"), float("nan")])
def test_bad_ttl(name, ttl):
    with sharedmem.Map(name, 10, 8) as m:
        m["k"] = b"v"
        with pytest.raises(ValueError) as ei:
            m.set("k2", b"v", ttl=ttl)
        assert isinstance(ei.value, InvalidArgument), repr(ei.value)
        with pytest.raises(InvalidArgument):
            m.incr("n", ttl=ttl)
        if ttl != 0:  # expire(key, 0) means "never expires"
            with pytest.raises(InvalidArgument):
                m.expire("k", ttl)
        assert "k2" not in m and "n" not in m
        assert m.ttl("k") is None


def test_incr_errors(names):
    name = names()
    with sharedmem.Map(name, 10, 32) as m:
        m["text"] = b"twelve"
        with pytest.raises(ValueError) as ei:
            m.incr("text")
        check_error(ei.value, InvalidArgument, EINVAL, name)
        m["big"] = str(2**63 - 1)
        with pytest.raises(ValueError) as ei:
            m.incr("big")
        check_error(ei.value, InvalidArgument, ERANGE, name)
        assert m["big"] == str(2**63 - 1).encode()
        assert m["text"] == b"twelve"
    with sharedmem.Map(names(), 10, 2) as small:  # "100" does not fit in 2 bytes
        small["c"] = b"99"
        with pytest.raises(InvalidArgument) as ei:
            small.incr("c")
        assert ei.value.code == E2BIG
        assert small["c"] == b"99"


def test_open_figures_invalid(name):
    # creating with 0 entries / capacity / size is SMEM_EINVAL
    with pytest.raises(InvalidArgument) as ei:
        sharedmem.Map(name, 0, 8)
    assert ei.value.code == EINVAL
    with pytest.raises(InvalidArgument) as ei:
        sharedmem.Value(name, 0)
    assert ei.value.code == EINVAL
    with pytest.raises(InvalidArgument) as ei:
        sharedmem.Region(name, 0)
    assert ei.value.code == EINVAL
    # over the limits: SMEM_E2BIG
    with pytest.raises(InvalidArgument) as ei:
        sharedmem.Map(name, 10, (1 << 20) + 1)
    assert ei.value.code == E2BIG
    with pytest.raises(InvalidArgument) as ei:
        sharedmem.Value(name, (1 << 30) + 1)
    assert ei.value.code == E2BIG
    with pytest.raises(InvalidArgument) as ei:
        sharedmem.Region(name, (1 << 40) + 1)
    assert ei.value.code == E2BIG
    assert name not in [r["name"] for r in sharedmem.list_regions()]


def test_contradictory_open_flags(name):
    # "create only" and "never create" at once is SMEM_EINVAL
    for cls, args in ((sharedmem.Map, (10, 8)), (sharedmem.Value, (8,)),
                      (sharedmem.Region, (4096,))):
        with pytest.raises(InvalidArgument) as ei:
            cls(name, *args, create=False, exclusive=True)
        assert ei.value.code == EINVAL


def test_put_nx_and_xx_together(name):
    with sharedmem.Map(name, 10, 8) as m:
        with pytest.raises(InvalidArgument) as ei:
            m.set("k", b"v", nx=True, xx=True)
        assert ei.value.code == EINVAL
        assert "k" not in m


# ---------------------------------------------------------------------------
# KeyError


def test_missing_key_is_keyerror(name):
    with sharedmem.Map(name, 10, 8) as m:
        for call in (
            lambda: m["nope"],
            lambda: m.__delitem__("nope"),
            lambda: m.expire("nope", 10),
            lambda: m.ttl("nope"),
        ):
            with pytest.raises(KeyError) as ei:
                call()
            assert type(ei.value) is KeyError
            assert not isinstance(ei.value, Error)
            assert ei.value.args == ("nope",)
        with pytest.raises(KeyError) as ei:
            m[b"raw"]
        assert ei.value.args == (b"raw",)
        assert m.get("nope") is None
        assert m.get("nope", b"dflt") == b"dflt"
        assert m.get_stale("nope") is None
        assert m.get_stale("nope", 5) == 5
        assert "nope" not in m


# ---------------------------------------------------------------------------
# Mismatch


def test_mismatch(name):
    with sharedmem.Map(name, 10, 8) as m:
        for opener in (
            lambda: sharedmem.Map(name, 20, 8),
            lambda: sharedmem.Map(name, 10, 16),
            lambda: sharedmem.Map(name, 10, 8, evict=True),  # made without SMEM_EVICT
            lambda: sharedmem.Value(name, 8),
            lambda: sharedmem.Value(name),
            lambda: sharedmem.Region(name),
        ):
            with pytest.raises(Mismatch) as ei:
                opener()
            check_error(ei.value, Mismatch, EMISMATCH, name)
        with sharedmem.Map(name) as same:  # 0, 0: the existing figures
            assert same.max_entries == 10 and same.max_value == 8
        m["still"] = b"ok"
    with sharedmem.Value(name, 16) as v:
        with pytest.raises(Mismatch):
            sharedmem.Value(name, 32)
        with pytest.raises(Mismatch):
            sharedmem.Map(name)
    with sharedmem.Region(name, 4096) as r:
        with pytest.raises(Mismatch):
            sharedmem.Region(name, 8192)
        with pytest.raises(Mismatch):
            sharedmem.Map(name)


# ---------------------------------------------------------------------------
# Full


def test_full(name):
    with sharedmem.Map(name, 2, 8) as m:
        assert not m.evicting
        m["a"] = b"1"
        m["b"] = b"2"
        for call in (
            lambda: m.__setitem__("c", b"3"),
            lambda: m.set("c", b"3"),
            lambda: m.add("c", b"3"),
            lambda: m.incr("c"),
            lambda: m.cas("c", 0, b"3"),
        ):
            with pytest.raises(Full) as ei:
                call()
            check_error(ei.value, Full, EFULL, name)
        m["a"] = b"replaced"  # replacing needs no room
        assert dict(m.items()) == {"a": b"replaced", "b": b"2"}


# ---------------------------------------------------------------------------
# Damaged


def test_damaged(names):
    name = names()
    path = f"/dev/shm/smem.{name}"
    with sharedmem.Region(name, 4096, persist=True):
        pass
    if not os.path.exists(path):
        pytest.skip("regions are not files under /dev/shm on this system")
    with open(path, "r+b") as f:
        f.write(b"this is not a sharedmem header" * 2)
    with pytest.raises(Damaged) as ei:
        sharedmem.Region(name, create=False)
    check_error(ei.value, Damaged, EBADREGION, name)
    with pytest.raises(Damaged):
        sharedmem.Map(name)
    st = sharedmem.stat(name)  # stat reports it rather than failing
    assert st["state"].startswith("bad")
    assert st["kind"] == "unknown"
    listed = [i for i in sharedmem.list_regions() if i["name"] == name]
    assert len(listed) == 1 and listed[0]["kind"] == "unknown"
    assert listed[0]["state"].startswith("bad")


# ---------------------------------------------------------------------------
# Timeout


def test_wait_timeouts(names):
    name, vname = names(), names()
    with sharedmem.Map(name, 10, 8) as m, sharedmem.Value(vname, 8) as v:
        for call in (
            lambda: m.wait("k", timeout=0.05),
            lambda: m.wait(timeout=0.05),
            lambda: m.wait("k", seen=0, timeout=0.05),
            lambda: v.wait(timeout=0.05),
            lambda: v.wait(seen=0, timeout=0),
        ):
            try:
                call()
            except TimeoutError as e:
                assert type(e) is Timeout
                assert e.code == ETIMEDOUT
                assert e.errname == "SMEM_ETIMEDOUT"
                assert e.region in (name, vname)
                assert str(e).endswith(": timed out (SMEM_ETIMEDOUT)")
            else:
                pytest.fail("wait on an unchanged version did not time out")


# ---------------------------------------------------------------------------
# Closed objects


def test_closed_objects_raise_valueerror(names):
    name, vname, rname = names(), names(), names()
    m = sharedmem.Map(name, 10, 8)
    m["k"] = b"v"
    v = sharedmem.Value(vname, 8)
    r = sharedmem.Region(rname, 4096)
    # the figures fixed at open may stay readable after close (like name);
    # if they are, they must not change
    fixed = {(m, "max_entries"): 10, (m, "max_value"): 8, (m, "created"): True,
             (m, "evicting"): False, (v, "capacity"): 8, (v, "created"): True,
             (r, "size"): 4096, (r, "created"): True}
    for (obj, attr), want in fixed.items():
        assert getattr(obj, attr) == want
    for obj in (m, v, r):
        assert not obj.closed
        obj.close()
        assert obj.closed
        obj.close()  # idempotent
        assert obj.closed
    map_calls = [
        lambda: m["k"], lambda: m.__setitem__("k", b"v"), lambda: m.__delitem__("k"),
        lambda: "k" in m, lambda: len(m), lambda: m.get("k"), lambda: list(m),
        lambda: m.keys(), lambda: m.items(), lambda: m.values(), lambda: m.add("k", b""),
        lambda: m.cas("k", 1, b""), lambda: m.incr("k"), lambda: m.version(),
        lambda: m.version("k"), lambda: m.wait("k", timeout=0), lambda: m.set("k", b""),
        lambda: m.expire("k", 1), lambda: m.ttl("k"), lambda: m.get_stale("k"),
        lambda: m.flush(), lambda: m.stats(), lambda: m.resize(16),
    ]
    value_calls = [
        lambda: v.get(), lambda: v.set(b"x"), lambda: v.version,
        lambda: v.wait(timeout=0),
    ]
    region_calls = [lambda: memoryview(r), lambda: len(r)]
    import inspect
    for call in map_calls + value_calls + region_calls:
        what = inspect.getsource(call).strip()
        with pytest.raises(ValueError) as ei:
            call()
            pytest.fail(f"no ValueError from {what}")
        assert not isinstance(ei.value, Error), (what, repr(ei.value))
        assert "closed" in str(ei.value), (what, str(ei.value))
    for (obj, attr), want in fixed.items():
        try:
            got = getattr(obj, attr)
        except ValueError as e:
            assert "closed" in str(e)
        else:
            assert got == want, (attr, got)
    # name and closed stay readable, repr works
    assert m.name == name and v.name == vname and r.name == rname
    for obj in (m, v, r):
        assert obj.name in repr(obj)
