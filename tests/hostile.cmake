# Hostile peers (issue #10): a region's file truncated under its users
# (SIGBUS guard, and a program's own SIGBUS handler still gets its faults),
# a new region is a new file, read access grants reading only (root: uid
# nobody), scribbled map bookkeeping repaired, smem_region_gc(NULL) only in
# a private /dev/shm (root: a mount namespace of its own).  Linux only.
if(NOT WIN32)
  smem_add_tests("" hostile 180)
  # The test's own SIGBUS handler and the library's must see the faults,
  # not the sanitizers.
  set_property(TEST hostile APPEND PROPERTY
    ENVIRONMENT "ASAN_OPTIONS=handle_sigbus=0:allow_user_segv_handler=1;TSAN_OPTIONS=handle_sigbus=0")
endif()
