/*
 * cmd-hold.c — `sharedmem hold`: keep a region open until told to stop.
 */
#include "cli.h"

#include <string.h>

enum { HOLD_CREATE, HOLD_MODE };
static const cli_opt hold_opts[] = {
    {"create", 'c', "SIZE", "create a raw region of SIZE bytes if it is missing"},
    {"mode", 'm', "MODE", "with --create: permission bits in octal (default 0600)"},
    {NULL, 0, NULL, NULL},
};

static int run_hold(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    const char *why = NULL;
    smem_opts opts;
    smem_region *r = NULL;
    size_t size = 0;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    memset(&opts, 0, sizeof opts);
    if (a->seen[HOLD_CREATE] && cli_parse_size(a->value[HOLD_CREATE], &size, &why) != 0)
        return cli_usage(cmd, "invalid size '%s': %s", a->value[HOLD_CREATE], why);
    if (a->seen[HOLD_MODE]) {
        if (!a->seen[HOLD_CREATE])
            return cli_usage(cmd, "option '--mode' needs '--create'");
        if (cli_parse_mode(a->value[HOLD_MODE], &opts.mode, &why) != 0)
            return cli_usage(cmd, "invalid mode '%s': %s", a->value[HOLD_MODE], why);
    }
    /* Without --create: attach to an existing region of any kind, whatever
     * its size.  With it: open-or-create a raw region of that size. */
    opts.flags = a->seen[HOLD_CREATE] ? 0u : (unsigned)SMEM_ANYKIND;

    /* Catch the stop signals before opening: one that arrives while the
     * open runs is held and ends the wait at once. */
    if (cli_os_stop_begin() != 0)
        return cli_failf(cmd, "cannot catch the stop signals");

    rc = smem_region_open(name, size, &opts, &r);
    if (rc < 0) {
        cli_os_stop_end();
        return cli_fail(cmd, name, rc);
    }
    fprintf(stderr, "holding %s (pid %ld); Ctrl-C to release\n", name, cli_os_pid());

    cli_os_stop_wait();

    smem_region_close(r);
    cli_os_stop_end();
    fprintf(stderr, "released %s\n", name);
    return CLI_OK;
}

const cli_cmd cli_cmd_hold = {
    .name = "hold",
    .args = "NAME [--create SIZE [--mode MODE]]",
    .summary = "keep a region open until interrupted",
    .description =
        "Attaches to the region NAME and keeps it open, so that a region that is not\n"
        "persistent stays alive, until SIGINT (Ctrl-C), SIGTERM or SIGHUP; then\n"
        "closes it cleanly and exits 0.  If this was the last user of a region that\n"
        "is not persistent, closing removes it.  Prints \"holding NAME (pid N); Ctrl-C\n"
        "to release\" on stderr once the region is open, and \"released NAME\" at the\n"
        "end.\n"
        "\n"
        "Without --create, NAME must exist; any kind of region (raw, value, map) of\n"
        "any size is accepted.  With --create SIZE, opens NAME or creates it as a raw\n"
        "region of SIZE bytes (an existing region must be a raw region of that size).\n"
        "If hold is killed (SIGKILL), a region that is not persistent becomes stale.",
    .opts = hold_opts,
    .exit_status = "0  the region was held and then released on a signal\n"
                   "1  it could not be opened (e.g. no such region, another size)\n"
                   "2  usage error",
    .example = "sharedmem hold jobs\n"
               "sharedmem hold scratch --create 1M &",
    .min_args = 1,
    .max_args = 1,
    .run = run_hold,
};
