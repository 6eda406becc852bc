# Map-layer tests (smem_map_*): standalone programs like the others, exit
# 0 = pass, 1 = fail, 77 = skip.  test_map_kit.c is not a test: it holds
# helpers each test_map_*.c includes (keys, self-checking values), on top
# of test_value_kit.c.  All of them run on Linux and on Windows (under
# Wine when cross-built); where Windows differs, they say so in their
# output.  Under a sanitizer or Wine the long loops run fewer times (and
# say so).
#
#   map_api      every call and error path, one at a time; kinds; lifetime
#   map_wait     waits across processes: per key, map-wide, timeouts
#   map_stress   writer and reader processes over overlapping keys (>1e6
#                checked reads), incr from 4 processes, cas races, foreach
#                while others write
#   map_kill     writers SIGKILLed (TerminateProcess) at random instants
#                while others work; a stopped writer
#   map_wear     ten million set/del at 90% full: nothing leaks, lookups
#                no slower than on a fresh map
#   map_garbage  garbage in the map's bytes: errors, never a crash/hang
#   map_progress readers of 1 MiB values are not starved by writers that
#                never pause
#   map_cache    the cache calls one at a time: put's flags, expiry, flush,
#                walk, stats, full maps, CLOCK's order, waits that expire
#   map_resize   maps that grow: the calls, reclaim of old tables, 100
#                resizes under readers and a writer, SMEM_GROW from 16 to a
#                million entries with two inserters
#   map_evict    caches between processes: expiry as another process sees
#                it, hot keys kept while two processes insert, incr_ex from
#                4 processes, statistics counted exactly

smem_add_tests(map_
  api       60
  wait      120
  stress    240
  kill      300
  wear      300
  garbage   300
  progress  120
  cache     60
  evict     240
  resize    300
)

# Times lookups on a fresh and a worn map and compares them: other tests
# competing for the two cores would blur that.
set_tests_properties(map_wear PROPERTIES RUN_SERIAL TRUE)

# map_crash: a writer dies at every step of a change; map_resize_crash:
# at every step of a resize.  It links the library
# built with crash points (src/CMakeLists.txt) instead of the normal one,
# with its own copy of the kit.
if(WIN32)
  set(_smem_kit_os kit-win.c)
else()
  set(_smem_kit_os kit-posix.c)
endif()
foreach(_smem_crash map_crash map_resize_crash)
  add_executable(test_${_smem_crash} test_${_smem_crash}.c common.c ${_smem_kit_os})
  target_link_libraries(test_${_smem_crash} PRIVATE sharedmem_crashpoints Threads::Threads)
  target_compile_definitions(test_${_smem_crash} PRIVATE _GNU_SOURCE)
  target_include_directories(test_${_smem_crash} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  if(WIN32)
    target_compile_definitions(test_${_smem_crash} PRIVATE __USE_MINGW_ANSI_STDIO=1)
  endif()
  add_test(NAME ${_smem_crash} COMMAND test_${_smem_crash})
  set(_smem_crash_timeout 120)
  if(CMAKE_CROSSCOMPILING_EMULATOR)
    set(_smem_crash_timeout 240)
    set_tests_properties(${_smem_crash} PROPERTIES ENVIRONMENT "WINEDEBUG=-all")
  endif()
  set_tests_properties(${_smem_crash} PROPERTIES SKIP_RETURN_CODE 77
                       TIMEOUT ${_smem_crash_timeout})
endforeach()

# Counts the gets a reader completes against writers that never pause:
# other tests competing for the two cores would blur that.
set_tests_properties(map_progress PROPERTIES RUN_SERIAL TRUE)
