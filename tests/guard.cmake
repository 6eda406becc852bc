# The guard of the suite (tests/suite-guard.sh; issue #10): `make check`
# must touch no region that it did not create.  The test
# suite_guard_setup makes a stale and a damaged region of names no test
# uses before every other test; suite_guard_check, after all of them,
# fails if either is gone or changed, then removes both.  They are the
# setup and cleanup of the CTest fixture smem_guard, which every test
# requires (smem_guard_tests), so that `ctest -R NAME` runs them too.
include_guard(GLOBAL)

# The fixture's own two tests (tests/CMakeLists.txt calls it once).  On
# Windows they skip: no region can be left stale there.
function(smem_guard_add_fixture tool)
  set(script ${PROJECT_SOURCE_DIR}/tests/suite-guard.sh)
  set(state ${PROJECT_BINARY_DIR}/suite-guard)
  foreach(step setup check)
    if(WIN32)
      add_test(NAME suite_guard_${step} COMMAND sh ${script} windows)
    else()
      add_test(NAME suite_guard_${step} COMMAND sh ${script} ${step} ${tool} ${state})
    endif()
    set_tests_properties(suite_guard_${step} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
  endforeach()
  set_tests_properties(suite_guard_setup PROPERTIES FIXTURES_SETUP smem_guard)
  set_tests_properties(suite_guard_check PROPERTIES FIXTURES_CLEANUP smem_guard)
endfunction()

function(_smem_guard_tests_now)
  get_property(tests DIRECTORY PROPERTY TESTS)
  list(REMOVE_ITEM tests suite_guard_setup suite_guard_check)
  if(tests)
    set_property(TEST ${tests} APPEND PROPERTY FIXTURES_REQUIRED smem_guard)
  endif()
endfunction()

# smem_guard_tests(): every test of the calling directory requires the
# fixture smem_guard.  Call it at the end of each CMakeLists.txt that adds
# tests: before CMake 3.28 no directory can set the properties of another
# one's tests.  From CMake 3.19 on it takes effect at the end of the
# directory, so tests added after the call (below it, or by an include)
# are guarded too; before, only those added before it.
function(smem_guard_tests)
  if(CMAKE_VERSION VERSION_LESS 3.19)
    _smem_guard_tests_now()
  else()
    cmake_language(DEFER CALL _smem_guard_tests_now)
  endif()
endfunction()
