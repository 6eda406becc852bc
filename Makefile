# Convenience front end to CMake: `make demo` and `make check` are the
# README's quick start.  Everything real is in CMakeLists.txt.
BUILD ?= build
JOBS ?= 2
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?=
CTEST_FLAGS ?=

.PHONY: all demo check bench install clean windows check-windows

# Windows, cross-compiled with MinGW-w64; check-windows runs the suite
# under Wine (see README.md, "Windows").
WIN_BUILD ?= build-win
WIN_CMAKE_FLAGS ?=

all: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

# Everything (so that the tool of the README's next lines is there too),
# then the seed's demo.
demo: all
	cmake --build $(BUILD) -j$(JOBS) --target demo

check: all
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) $(CTEST_FLAGS)

bench: all
	$(BUILD)/bench/bench-region
	$(BUILD)/bench/bench-value
	$(BUILD)/bench/bench-map

$(WIN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(WIN_BUILD) -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake $(WIN_CMAKE_FLAGS)

windows: $(WIN_BUILD)/CMakeCache.txt
	cmake --build $(WIN_BUILD) -j$(JOBS)

# Wine stops its wineserver as soon as no program runs, and starting it
# again costs seconds per test program: keep one for 30 s past the last
# (-p30), detached from our output so that nothing waits for it to close.
# It fails when a wineserver already runs, which is as good.
# WINEDEBUG=-all keeps Wine's own diagnostics out of the test logs.
# One test at a time: every process start and named-object call of every
# Wine program goes through that one wineserver, and a test that hammers it
# (threads, leaks) stalled the tests that bound time (value_wait,
# value_garbage) for up to 2 s when they ran beside it.
check-windows: windows
	WINEDEBUG=-all wineserver -p30 </dev/null >/dev/null 2>&1 || true
	WINEDEBUG=-all ctest --test-dir $(WIN_BUILD) --output-on-failure $(CTEST_FLAGS)

install: all
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(WIN_BUILD)
