# The tests of the `sharedmem` tool (tests/cli/).  Shell scripts, run with
# the tool's path; each names its regions after itself and its PID and
# exits 77 to skip.
#
#   cli / cli-win  every command, its output, errors and exit statuses
#                  (test-cli.sh on Linux, test-cli-win.sh under Wine; the
#                  checks that mean the same on both are in test-cli-lib.sh)
#   man-pages      the manual pages render and cover the API (check-man.sh)
set(_smem_cli ${CMAKE_CURRENT_SOURCE_DIR}/cli)
if(WIN32)
  # CTest puts the emulator (wine) only before a target's own program,
  # not before `sh`: the script gets it and runs the tool through it
  # (with none, on Windows itself, it runs the tool directly).
  add_test(NAME cli-win
           COMMAND sh ${_smem_cli}/test-cli-win.sh
                   $<TARGET_FILE:sharedmem_tool> ${CMAKE_CROSSCOMPILING_EMULATOR})
  # Its gc runs only with --prefix of its own names.
  set_tests_properties(cli-win PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
else()
  add_test(NAME cli COMMAND sh ${_smem_cli}/test-cli.sh $<TARGET_FILE:sharedmem_tool>)
  # No RUN_SERIAL: its gc runs only with --prefix of its own names (or
  # on names it made), so it cannot remove a region that a test running
  # beside it has made stale on purpose.
  set_tests_properties(cli PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
add_test(NAME man-pages
         COMMAND sh ${_smem_cli}/check-man.sh ${PROJECT_SOURCE_DIR}/man ${PROJECT_SOURCE_DIR}/include)
set_tests_properties(man-pages PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
