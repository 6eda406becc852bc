# Value-layer tests (smem_value_*): standalone programs like the others,
# exit 0 = pass, 1 = fail, 77 = skip.  test_value_kit.c is not a test: it
# holds helpers that each test_value_*.c includes, and the few things that
# differ between Linux and Windows.  All of them run on both (under Wine
# when cross-built); where Windows differs, they say so in their output.
#
#   value_api      every call and error path, one at a time; kinds; lifetime
#                  (Windows: no fork() case; a persistent value needs a holder)
#   value_wait     wake-ups across processes and threads, timeouts
#   value_stress   writer and reader processes, >1e6 checked reads
#   value_kill     writers SIGKILLed (1,000 times; TerminateProcess, 400 times
#                  on Windows) or stopped (SIGSTOP; NtSuspendProcess) in mid-set
#   value_progress readers make progress against a writer that never pauses
#   value_threads  writer and reader threads of one process (run under TSan)
#   value_garbage  garbage in the region's bytes: errors, never a crash/hang

smem_add_tests(value_
  api       60
  wait      120
  stress    180
  kill      300
  progress  120
  threads   180
  garbage   300
)

# Measures the CPU time of each get against a writer that never pauses:
# other tests competing for the two cores would blur that.
set_tests_properties(value_progress PROPERTIES RUN_SERIAL TRUE)
