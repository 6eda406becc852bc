"""The GIL is released while a call waits, and while a resize moves a map's
entries: another thread keeps running.

Each wait (about 1 s, ending in Timeout), and a run of resizes, is compared
with a baseline measured in the same run the same way: the main thread in
time.sleep(), which releases the GIL.  A call that held the GIL would let the
counting thread make next to no progress; the bound is a fraction of the
baseline, not a number."""

import threading
import time

import pytest

import sharedmem

WAIT = 1.0


def progress_during(block):
    """How far a counting thread gets while the main thread runs block()."""
    count = [0]
    stop = threading.Event()

    def counter():
        n = 0
        while not stop.is_set():
            for _ in range(1000):
                n += 1
            count[0] = n

    t = threading.Thread(target=counter)
    t.start()
    try:
        time.sleep(0.1)  # let it get going
        before = count[0]
        start = time.monotonic()
        block()
        elapsed = time.monotonic() - start
        after = count[0]
    finally:
        stop.set()
        t.join()
    return (after - before) / elapsed


def test_gil_released_while_waiting(names):
    with sharedmem.Map(names(), 4, 4) as m, sharedmem.Value(names(), 4) as v:
        def expect_timeout(call):
            def block():
                with pytest.raises(sharedmem.Timeout):
                    call()
            return block

        blocks = {
            "Map.wait(key)": expect_timeout(lambda: m.wait("k", timeout=WAIT)),
            "Map.wait()": expect_timeout(lambda: m.wait(timeout=WAIT)),
            "Value.wait()": expect_timeout(lambda: v.wait(timeout=WAIT)),
        }
        baselines = []
        rates = {}
        for label, block in blocks.items():
            baselines.append(progress_during(lambda: time.sleep(WAIT)))
            rates[label] = progress_during(block)
        baselines.append(progress_during(lambda: time.sleep(WAIT)))
        base = sorted(baselines)[len(baselines) // 2]
        assert base > 0
        for label, rate in rates.items():
            assert rate > 0.25 * base, (
                f"{label}: the other thread counted {rate:.0f}/s against "
                f"{base:.0f}/s while the main thread slept: the GIL was held")


def test_gil_released_while_resizing(name):
    """Map.resize() moves every entry to a new table without the GIL.  A map
    of 65,536 entries resized four times (to 1,048,576) takes a few tenths
    of a second; holding the GIL would stop the counting thread for most of
    it (about 0.15 of the baseline, against about 0.55 released)."""
    with sharedmem.Map(name, 1 << 16, 8) as m:
        for i in range(1 << 16):
            m[f"k{i}"] = b"x"

        def block():
            for n in (1 << 17, 1 << 18, 1 << 19, 1 << 20):
                m.resize(n)

        baselines = [progress_during(lambda: time.sleep(0.3))]
        rate = progress_during(block)
        baselines.append(progress_during(lambda: time.sleep(0.3)))
        baselines.append(progress_during(lambda: time.sleep(0.3)))
        base = sorted(baselines)[1]
        assert m.max_entries == 1 << 20 and len(m) == 1 << 16 and m["k65535"] == b"x"
        assert base > 0
        assert rate > 0.25 * base, (
            f"Map.resize(): the other thread counted {rate:.0f}/s against "
            f"{base:.0f}/s while the main thread slept: the GIL was held")
