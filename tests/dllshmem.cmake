# dllshmem tests: the seed-compatible library (dllshmem/) and the seed's
# parent and child programs (examples/).
#
# test_dllshmem does not link libdllshmem: the library attaches from its
# constructor to the value named by $DLLSHMEM_NAME, so each case first sets
# a unique name and then loads the library with dlopen (in itself or in
# helper processes), which also tests attach and detach.  One program, one
# CTest test per case:  test_dllshmem PATH/TO/libdllshmem.so CASE
# On Windows the library is given by its bare name, dllshmem.dll, which
# LoadLibrary finds beside the test program (both are in bin/), as a
# Windows program finds its DLLs; wchar_t is UTF-16 there.

add_executable(test_dllshmem test_dllshmem.c)
target_link_libraries(test_dllshmem PRIVATE smem_testkit Threads::Threads ${CMAKE_DL_LIBS})
add_dependencies(test_dllshmem dllshmem)

if(WIN32)
  set(_dll_arg $<TARGET_FILE_NAME:dllshmem>)
else()
  set(_dll_arg $<TARGET_FILE:dllshmem>)
endif()

# case  timeout(s)
set(DLLSHMEM_TESTS
  api       30
  cut       60
  long      30
  unicode   30
  hostile   30
  scribble  60
  attach    60
  share     30
  lifetime  60
  threads   60
)
list(LENGTH DLLSHMEM_TESTS _n)
math(EXPR _last "${_n} - 1")
foreach(_i RANGE 0 ${_last} 2)
  math(EXPR _j "${_i} + 1")
  list(GET DLLSHMEM_TESTS ${_i} _case)
  list(GET DLLSHMEM_TESTS ${_j} _timeout)
  add_test(NAME dllshmem_${_case}
           COMMAND test_dllshmem ${_dll_arg} ${_case})
  set_tests_properties(dllshmem_${_case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT ${_timeout})
endforeach()

# The same library and test program with a 16-bit wchar_t (-fshort-wchar):
# the UTF-16 code paths (surrogate pairs) that the Windows build uses, run
# here.  Test-only; never installed.
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang" AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  get_target_property(_dll_dir dllshmem SOURCE_DIR)
  get_target_property(_dll_src dllshmem SOURCES)
  list(TRANSFORM _dll_src PREPEND "${_dll_dir}/")
  add_library(dllshmem_wchar16 SHARED ${_dll_src})
  target_compile_options(dllshmem_wchar16 PRIVATE -fshort-wchar)
  target_compile_definitions(dllshmem_wchar16 PRIVATE DLLSHMEM_BUILD _GNU_SOURCE)
  target_link_libraries(dllshmem_wchar16 PRIVATE sharedmem::sharedmem Threads::Threads)
  target_link_options(dllshmem_wchar16 PRIVATE -Wl,--version-script=${_dll_dir}/dllshmem.map)

  add_executable(test_dllshmem_wchar16 test_dllshmem.c)
  target_compile_options(test_dllshmem_wchar16 PRIVATE -fshort-wchar)
  target_link_libraries(test_dllshmem_wchar16 PRIVATE smem_testkit Threads::Threads ${CMAKE_DL_LIBS})
  add_dependencies(test_dllshmem_wchar16 dllshmem_wchar16)
  foreach(_case api cut long unicode hostile share threads)
    add_test(NAME dllshmem_wchar16_${_case}
             COMMAND test_dllshmem_wchar16 $<TARGET_FILE:dllshmem_wchar16> ${_case})
    set_tests_properties(dllshmem_wchar16_${_case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
  endforeach()
endif()

# The seed's programs, as built (on Windows the seed's own, examples/seed/;
# see examples/CMakeLists.txt).  On Windows they are passed by their bare
# names, as the seed runs them: CreateProcess finds a program beside the
# one that starts it, and all of them are in bin/.
add_executable(test_dllshmem_example test_dllshmem_example.c)
target_link_libraries(test_dllshmem_example PRIVATE smem_testkit)
add_dependencies(test_dllshmem_example example_parent example_child)
if(WIN32)
  set(_example_args $<TARGET_FILE_NAME:example_parent> $<TARGET_FILE_NAME:example_child>)
else()
  set(_example_args $<TARGET_FILE:example_parent> $<TARGET_FILE:example_child>)
endif()
add_test(NAME dllshmem_example COMMAND test_dllshmem_example ${_example_args})
set_tests_properties(dllshmem_example PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)

# The seed's run, exactly: `parent.exe child.exe` in the programs'
# directory.  DLLSHMEM_NAME keeps it away from a real "dllmemfilemap".
if(WIN32)
  add_test(NAME dllshmem_seed
           COMMAND example_parent $<TARGET_FILE_NAME:example_child>
           WORKING_DIRECTORY $<TARGET_FILE_DIR:example_parent>)
  set_tests_properties(dllshmem_seed PROPERTIES
    ENVIRONMENT DLLSHMEM_NAME=tseed-ctest
    PASS_REGULAR_EXPRESSION "Child process read from shared memory: This is a test string"
    TIMEOUT 60)
endif()
