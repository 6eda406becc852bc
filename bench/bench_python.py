#!/usr/bin/env python3
"""Benchmark of the sharedmem Python module's map get and set, next to the
alternatives a Python program has.  Run by hand, never as a test:

    PYTHONPATH=build/python python3 bench/bench_python.py [options]

The module is imported from PYTHONPATH (the build's python/ directory,
which holds sharedmem.abi3.so).  See bench/README.md.
"""

import argparse
import atexit
import gc
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ENTRIES = 100_000   # max_entries of the map
FILLED = 75_000     # 75% load
KEY_LEN = 16
VALUE_LEN = 64

USAGE = """\
PYTHONPATH=build/python python3 bench/bench_python.py [--reps N] [--calls N]
       [--manager-calls N] [--redis-calls N] [--no-redis] [--seed N]"""

DESCRIPTION = """\
Times m[key] and m[key] = v of a sharedmem.Map of 100,000 entries filled to
75% (75,000 keys of 16 bytes, values of 64 bytes, keys visited in a random
order precomputed before anything is timed), next to: a dict lookup of the
same keys; a dict lookup plus the creation of a 64-byte bytes (what a get
that copies the value out costs in Python); a multiprocessing.shared_memory
slice copied in (shm.buf[o:o+64] = v) and out (bytes(shm.buf[o:o+64]));
multiprocessing.Manager().dict() get and set (fewer calls: it is slow); and
Redis GET and SET through redis-py, when `import redis` works and a
redis-server binary is on PATH (a private server on a free 127.0.0.1 port,
--save '' --appendonly no, stopped at the end).  Every repetition times
each operation once, in turn; the figures are medians over the repetitions,
in ns per operation, with the loop's own cost included in every one of them
(the "loop alone" line shows it).  The ratios are those of the goals:
get / (dict lookup + 64-byte bytes) <= 3x and Manager().dict() get / get
>= 50x.  The module comes from PYTHONPATH."""


def parse_args():
    p = argparse.ArgumentParser(
        usage=USAGE, description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=7,
                   help="repetitions; medians over them (default 7)")
    p.add_argument("--calls", type=int, default=100_000,
                   help="calls per repetition of the fast operations (default 100000)")
    p.add_argument("--manager-calls", type=int, default=2_000,
                   help="calls per repetition for Manager().dict() (default 2000)")
    p.add_argument("--redis-calls", type=int, default=2_000,
                   help="calls per repetition for Redis (default 2000)")
    p.add_argument("--no-redis", action="store_true", help="skip the Redis comparison")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    a = p.parse_args()
    for n in ("reps", "calls", "manager_calls", "redis_calls"):
        if getattr(a, n) < 1:
            p.error(f"--{n.replace('_', '-')} must be at least 1")
    return a


# ---------------------------------------------------------------------------
# The timed loops: one function each, so that every loop is the same bytecode
# apart from its operation.


def t_loop(keys, _):
    t = time.perf_counter_ns()
    for k in keys:
        pass
    return time.perf_counter_ns() - t


def t_smem_get(keys, m):
    t = time.perf_counter_ns()
    for k in keys:
        m[k]
    return time.perf_counter_ns() - t


def t_smem_set(keys, mv):
    m, v = mv
    t = time.perf_counter_ns()
    for k in keys:
        m[k] = v
    return time.perf_counter_ns() - t


def t_dict_get(keys, d):
    t = time.perf_counter_ns()
    for k in keys:
        d[k]
    return time.perf_counter_ns() - t


def t_dict_get_bytes(keys, d):
    """d holds bytearrays: bytes(d[k]) copies 64 bytes into a new bytes."""
    t = time.perf_counter_ns()
    for k in keys:
        bytes(d[k])
    return time.perf_counter_ns() - t


def t_dict_get_slice(keys, d):
    """d holds 65-byte bytes: d[k][:64] makes a new 64-byte bytes."""
    t = time.perf_counter_ns()
    for k in keys:
        d[k][:64]
    return time.perf_counter_ns() - t


def t_dict_set(keys, dv):
    d, v = dv
    t = time.perf_counter_ns()
    for k in keys:
        d[k] = v
    return time.perf_counter_ns() - t


def t_shm_out(offsets, buf):
    t = time.perf_counter_ns()
    for o in offsets:
        bytes(buf[o:o + 64])
    return time.perf_counter_ns() - t


def t_shm_in(offsets, bv):
    buf, v = bv
    t = time.perf_counter_ns()
    for o in offsets:
        buf[o:o + 64] = v
    return time.perf_counter_ns() - t


def t_redis_get(keys, r):
    get = r.get
    t = time.perf_counter_ns()
    for k in keys:
        get(k)
    return time.perf_counter_ns() - t


def t_redis_set(keys, rv):
    r, v = rv
    set_ = r.set
    t = time.perf_counter_ns()
    for k in keys:
        set_(k, v)
    return time.perf_counter_ns() - t


# ---------------------------------------------------------------------------
# Redis


class RedisServer:
    """A private redis-server on a free loopback port, stopped by its PID."""

    def __init__(self, binary):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_redis(keys, value):
    """(client, server, why-not): a filled private server, or None and the reason."""
    try:
        import redis
    except ImportError:
        return None, None, "redis-py is not installed (import redis failed)"
    binary = shutil.which("redis-server")
    if not binary:
        return None, None, "no redis-server on PATH"
    server = RedisServer(binary)
    atexit.register(server.stop)
    client = redis.Redis(host="127.0.0.1", port=server.port)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                return None, None, "redis-server did not start"
            time.sleep(0.05)
    pipe = client.pipeline(transaction=False)
    for i, k in enumerate(keys):
        pipe.set(k, value)
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    version = client.info("server").get("redis_version", "?")
    return client, server, f"Redis {version} through redis-py {redis.__version__}"


# ---------------------------------------------------------------------------


def main():
    args = parse_args()
    # SIGTERM and SIGHUP exit through atexit, which closes the map, unlinks
    # the shared_memory block and stops the Redis server (SIGINT does too:
    # KeyboardInterrupt)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    try:
        import sharedmem
    except ImportError as e:
        sys.exit(f"bench_python: cannot import sharedmem ({e}); "
                 "run it as PYTHONPATH=build/python python3 bench/bench_python.py")
    from multiprocessing import Manager, shared_memory

    rng = random.Random(args.seed)
    # 75,000 distinct 16-byte keys, and the order of the timed calls: each
    # key once per pass, passes shuffled independently
    names = rng.sample(range(10**15), FILLED)
    keys = [f"k{n:015d}" for n in names]
    assert all(len(k) == KEY_LEN for k in keys)
    order = []
    while len(order) < args.calls:
        idx = list(range(FILLED))
        rng.shuffle(idx)
        order.extend(idx)
    order = order[:args.calls]
    call_keys = [keys[i] for i in order]
    call_offsets = [i * VALUE_LEN for i in order]
    value = bytes(rng.getrandbits(8) for _ in range(VALUE_LEN))
    value2 = bytes(reversed(value))

    region = f"bench-py-{os.getpid()}"
    m = sharedmem.Map(region, ENTRIES, VALUE_LEN, exclusive=True)
    atexit.register(m.close)
    for k in keys:
        m[k] = value

    d_plain = {k: value for k in keys}
    d_bytearray = {k: bytearray(value) for k in keys}
    d_slice = {k: value + b"." for k in keys}
    d_set = dict(d_plain)

    shm = shared_memory.SharedMemory(create=True, size=FILLED * VALUE_LEN)
    atexit.register(shm.unlink)
    buf = shm.buf
    for i in range(FILLED):
        buf[i * VALUE_LEN:(i + 1) * VALUE_LEN] = value

    print("filling Manager().dict() ...", file=sys.stderr, flush=True)
    mgr = Manager()
    md = mgr.dict()
    md.update(d_plain)
    mgr_keys = call_keys[:args.manager_calls]

    rclient = rserver = None
    rwhy = "skipped (--no-redis)"
    if not args.no_redis:
        print("starting and filling a private redis-server ...", file=sys.stderr, flush=True)
        rclient, rserver, rwhy = start_redis(keys, value)
    redis_keys = call_keys[:args.redis_calls]

    runs = [
        ("loop alone (for k in keys: pass)", t_loop, call_keys, None),
        ("sharedmem get: m[key]", t_smem_get, call_keys, m),
        ("sharedmem set: m[key] = v", t_smem_set, call_keys, (m, value2)),
        ("dict lookup: d[key]", t_dict_get, call_keys, d_plain),
        ("dict lookup + 64 B bytes: bytes(d[key])", t_dict_get_bytes, call_keys, d_bytearray),
        ("dict lookup + 64 B slice: d[key][:64]", t_dict_get_slice, call_keys, d_slice),
        ("dict store: d[key] = v", t_dict_set, call_keys, (d_set, value2)),
        ("shared_memory out: bytes(buf[o:o+64])", t_shm_out, call_offsets, buf),
        ("shared_memory in: buf[o:o+64] = v", t_shm_in, call_offsets, (buf, value2)),
        ("Manager().dict() get: md[key]", t_dict_get, mgr_keys, md),
        ("Manager().dict() set: md[key] = v", t_dict_set, mgr_keys, (md, value2)),
    ]
    if rclient is not None:
        runs += [
            ("Redis GET (redis-py)", t_redis_get, redis_keys, rclient),
            ("Redis SET (redis-py)", t_redis_set, redis_keys, (rclient, value2)),
        ]

    # a first untimed pass warms everything up
    for _, fn, ks, arg in runs:
        fn(ks[:1000], arg)

    samples = {label: [] for label, *_ in runs}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for rep in range(args.reps):
            for label, fn, ks, arg in runs:
                samples[label].append(fn(ks, arg) / len(ks))
            print(f"repetition {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)
    finally:
        if gc_was:
            gc.enable()

    # check what was timed did what it should
    assert m[call_keys[0]] == value2 and len(m) == FILLED

    print(f"sharedmem {sharedmem.__version__} ({sharedmem.__file__}), "
          f"Python {sys.version.split()[0]} ({sys.executable})")
    print(f"map of {ENTRIES:,} entries, {FILLED:,} filled ({100 * FILLED // ENTRIES}%), "
          f"{KEY_LEN}-byte str keys, {VALUE_LEN}-byte values, keys in random order")
    print(f"{args.reps} repetitions x {args.calls:,} calls (Manager {len(mgr_keys):,}, "
          f"Redis {len(redis_keys):,}); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"Redis: {rwhy}")
    print()
    width = max(len(label) for label in samples)
    print(f"{'operation':<{width}}  {'median':>10}  {'min':>10}  {'max':>10}  (ns per op)")
    med = {}
    for label, xs in samples.items():
        med[label] = statistics.median(xs)
        print(f"{label:<{width}}  {med[label]:>10.1f}  {min(xs):>10.1f}  {max(xs):>10.1f}")
    print()

    get = med["sharedmem get: m[key]"]
    set_ = med["sharedmem set: m[key] = v"]
    copy = med["dict lookup + 64 B bytes: bytes(d[key])"]
    copy_slice = med["dict lookup + 64 B slice: d[key][:64]"]
    mgr_get = med["Manager().dict() get: md[key]"]
    mgr_set = med["Manager().dict() set: md[key] = v"]

    def verdict(ok):
        return "met" if ok else "NOT met"

    print("ratios (medians):")
    print(f"  get / (dict lookup + 64 B bytes):      {get / copy:6.2f}x  (goal <= 3x: "
          f"{verdict(get / copy <= 3)}); against the slice: {get / copy_slice:.2f}x")
    print(f"  Manager().dict() get / get:            {mgr_get / get:6.1f}x  (goal >= 50x: "
          f"{verdict(mgr_get / get >= 50)})")
    print(f"  Manager().dict() set / set:            {mgr_set / set_:6.1f}x")
    print(f"  get / shared_memory out:               {get / med['shared_memory out: bytes(buf[o:o+64])']:6.2f}x")
    print(f"  set / shared_memory in:                {set_ / med['shared_memory in: buf[o:o+64] = v']:6.2f}x")
    if rclient is not None:
        print(f"  Redis GET / get:                       {med['Redis GET (redis-py)'] / get:6.1f}x")
        print(f"  Redis SET / set:                       {med['Redis SET (redis-py)'] / set_:6.1f}x")

    # clean up now rather than at exit (atexit stays as the safety net)
    mgr.shutdown()
    if rserver is not None:
        rclient.close()
        rserver.stop()
    del runs, buf
    shm.close()
    m.close()


if __name__ == "__main__":
    main()
