# Convenience front end to CMake: `make demo` and `make check` are the
# README's quick start.  Everything real is in CMakeLists.txt.
BUILD ?= build
JOBS ?= 2
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?=
CTEST_FLAGS ?=

.PHONY: all demo check bench install clean

all: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

demo: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target demo

check: all
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) $(CTEST_FLAGS)

bench: all
	$(BUILD)/bench/bench-region
	$(BUILD)/bench/bench-value

install: all
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
