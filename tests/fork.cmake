# Handles inherited across fork() (issue #10): pre-fork workers that write
# through what the master opened, a master SIGKILLed half-way, a writer
# killed mid-change while an idle forked child lives, a creator killed in
# init while another thread forks.  Like map_crash it links the library
# built with crash points, so that the writer dies at every step of a set.
# Linux only (Windows has no fork).
if(NOT WIN32)
  add_executable(test_fork test_fork.c common.c kit-posix.c)
  target_link_libraries(test_fork PRIVATE sharedmem_crashpoints Threads::Threads)
  target_compile_definitions(test_fork PRIVATE _GNU_SOURCE)
  target_include_directories(test_fork PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  add_test(NAME fork COMMAND test_fork)
  set_tests_properties(fork PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 240)
endif()
