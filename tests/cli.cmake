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

# Linux only (sh scripts over /dev/shm):
#   cli-query    exists, type, keys PATTERN, del KEY..., mget, mset, getset,
#                info (test-query.sh)
#   cli-cache    maps as caches: set/incr/mset --ttl, expire, ttl, flush,
#                stats (exact counts), map --evict, dump/keys --stale
#                (test-cache.sh)
#   cli-newuser  what a new user trips over: ls columns, get's newline on a
#                terminal, rm of a region in use, watch of a removed region,
#                raw regions, --help width (test-newuser.sh)
#   cli-readme   the README's tool examples, extracted from README.md and
#                run as written, in a private /dev/shm (test-readme.sh)
#   cli-install  an install to a fresh prefix: the CLI runs without
#                LD_LIBRARY_PATH, pkg-config finds sharedmem and dllshmem,
#                the seed's programs build against them (test-install.sh)
if(NOT WIN32)
  add_test(NAME cli-query COMMAND sh ${_smem_cli}/test-query.sh $<TARGET_FILE:sharedmem_tool>)
  add_test(NAME cli-cache COMMAND sh ${_smem_cli}/test-cache.sh $<TARGET_FILE:sharedmem_tool>)
  add_test(NAME cli-newuser
           COMMAND sh ${_smem_cli}/test-newuser.sh $<TARGET_FILE:sharedmem_tool>
                   $<TARGET_FILE:smem_pty_run>)
  add_test(NAME cli-readme
           COMMAND sh ${_smem_cli}/test-readme.sh ${PROJECT_SOURCE_DIR}/README.md
                   ${PROJECT_BINARY_DIR})
  add_test(NAME cli-install
           COMMAND sh ${_smem_cli}/test-install.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli-query cli-cache cli-newuser cli-readme
                       PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  # cli-newuser counts users exactly: alone, as test_stat (tests/CMakeLists.txt).
  set_tests_properties(cli-newuser PROPERTIES RUN_SERIAL TRUE)
  set_tests_properties(cli-install PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  # A command run with its standard output on a pseudo-terminal.
  add_executable(smem_pty_run cli/pty-run.c)
  target_compile_definitions(smem_pty_run PRIVATE _GNU_SOURCE)
endif()
