/*
 * sharedmem.c — the `sharedmem` command: inspect and manage named shared
 * memory regions, and read, write and watch values and maps.  This file
 * holds main(), the table of commands and the
 * `help` and `version` commands; each other command lives in its own file.
 *
 * To add a command: write its cli_cmd (see cli.h) next to its code, declare
 * it in cli.h and add it to `commands` below, in the order --help lists it.
 */
#include "cli.h"

#include <string.h>

static const cli_cmd *const commands[] = {
    &cli_cmd_ls,   &cli_cmd_stat, &cli_cmd_create, &cli_cmd_rm,   &cli_cmd_gc,
    &cli_cmd_get,  &cli_cmd_set,  &cli_cmd_watch,  &cli_cmd_map,  &cli_cmd_del,
    &cli_cmd_incr, &cli_cmd_keys, &cli_cmd_dump,   &cli_cmd_exists, &cli_cmd_type,
    &cli_cmd_mget, &cli_cmd_mset, &cli_cmd_getset, &cli_cmd_info,   &cli_cmd_expire,
    &cli_cmd_ttl,  &cli_cmd_flush, &cli_cmd_stats, &cli_cmd_hold,   &cli_cmd_version,
    &cli_cmd_help,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const cli_cmd *cli_find_command(const char *name)
{
    size_t i;
    for (i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static void print_tool_help(FILE *f)
{
    size_t i;
    fputs("Usage: sharedmem COMMAND [ARGS...]\n"
          "       sharedmem COMMAND --help\n"
          "\n"
          "Inspects and manages the named shared memory regions of the sharedmem library,\n"
          "and reads, writes and watches the values and maps kept in them.  A value holds\n"
          "one string of bytes; a map holds many keys, each with its value.  get, set\n"
          "and watch work on both: `get NAME` for a value, `get NAME KEY` for a map.\n"
          "\n"
          "Commands:\n",
          f);
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\n"
          "Options:\n"
          "  -h, --help     show this help and exit\n"
          "  --version      show the version and exit\n"
          "\n"
          "Options of a command may come before or after its arguments; \"--\" ends\n"
          "the options.  Sizes take the suffixes K, M, G, T (or KiB, MiB, GiB, TiB;\n"
          "powers of 1024).  Names are 1 to 64 characters from A-Z a-z 0-9 . _ -,\n"
          "starting with a letter or digit.  Keys of a map are 1 to 64 bytes, any but\n"
          "NUL; put \"--\" before one that begins with \"-\".  Durations (--ttl, expire)\n"
          "are a whole number and a unit: ms, s, m or h (500ms, 30s, 5m, 2h).\n"
          "\n"
          "On Windows, a region lives only while some process has it open, even if\n"
          "it was made persistent: keep one with `sharedmem hold`.  The help of each\n"
          "command says what else differs there.\n"
          "\n"
          "Exit status:\n"
          "  0  success\n"
          "  1  failure (one line on stderr: \"sharedmem: COMMAND NAME: reason\")\n"
          "  2  usage error (unknown command or option, bad or missing argument)\n"
          "\n"
          "Examples:\n"
          "  sharedmem create jobs 1M --persist\n"
          "  sharedmem ls\n"
          "  sharedmem rm jobs\n"
          "  sharedmem set status ready --persist\n"
          "  sharedmem watch status\n"
          "  sharedmem map counters --entries 100 --value-size 32 --persist\n"
          "  sharedmem incr counters requests\n"
          "  sharedmem dump counters\n"
          "  sharedmem map cache --entries 1000 --value-size 1K --persist --evict\n"
          "  sharedmem set cache page:1 '<html>' --ttl 30s\n"
          "  sharedmem stats cache\n"
          "\n"
          "See sharedmem(1) and sharedmem(3).\n",
          f);
}

/* ---------------------------------------------------------------------- */
/* help [COMMAND]                                                         */

static int run_help(const cli_cmd *cmd, cli_args *a)
{
    const cli_cmd *target;
    if (a->npos == 0) {
        print_tool_help(stdout);
        return CLI_OK;
    }
    target = cli_find_command(a->pos[0]);
    if (!target)
        return cli_usage(cmd, "unknown command '%s'", a->pos[0]);
    cli_print_help(target, stdout);
    return CLI_OK;
}

const cli_cmd cli_cmd_help = {
    .name = "help",
    .args = "[COMMAND]",
    .summary = "show the help of the tool or of one command",
    .description = "Shows the overview of the tool, or the help of COMMAND (the same as\n"
                   "`sharedmem COMMAND --help`).",
    .exit_status = "0  the help was shown\n"
                   "2  COMMAND is not a command",
    .example = "sharedmem help create",
    .min_args = 0,
    .max_args = 1,
    .run = run_help,
};

/* ---------------------------------------------------------------------- */
/* version                                                                */

static void print_version(void)
{
    const char *lib = smem_version();
    if (strcmp(lib, SMEM_VERSION_STRING) == 0)
        printf("sharedmem %s\n", SMEM_VERSION_STRING);
    else
        printf("sharedmem %s (library %s)\n", SMEM_VERSION_STRING, lib);
}

static int run_version(const cli_cmd *cmd, cli_args *a)
{
    (void)cmd;
    (void)a;
    print_version();
    return CLI_OK;
}

const cli_cmd cli_cmd_version = {
    .name = "version",
    .args = "",
    .summary = "show the version of the tool and of the library",
    .description = "Prints \"sharedmem VERSION\".  If the library loaded at run time has\n"
                   "another version than the one the tool was built with, prints both:\n"
                   "\"sharedmem VERSION (library VERSION)\".  Same as `sharedmem --version`.",
    .exit_status = "0  always",
    .example = "sharedmem version",
    .min_args = 0,
    .max_args = 0,
    .run = run_version,
};

/* ---------------------------------------------------------------------- */

/* Flushes stdout and reports a write error (a full disk, a closed pipe
 * without SIGPIPE) as a failure rather than exiting 0 with lost output.
 * A command that failed has already said why (`watch` reports its own
 * write errors): one message is enough. */
static int finish(const char *what, int status)
{
    if ((fflush(stdout) != 0 || ferror(stdout)) && status == CLI_OK) {
        fprintf(stderr, "sharedmem: %s: error writing the output\n", what);
        return CLI_FAIL;
    }
    return status;
}

int main(int argc, char **argv)
{
    const cli_cmd *cmd;
    cli_args a;
    int rc;

    if (argc < 2)
        return cli_usage(NULL, "missing command");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        print_tool_help(stdout);
        return finish("--help", CLI_OK);
    }
    if (strcmp(argv[1], "--version") == 0) {
        print_version();
        return finish("--version", CLI_OK);
    }
    if (argv[1][0] == '-')
        return cli_usage(NULL, "unknown option '%s'", argv[1]);

    cmd = cli_find_command(argv[1]);
    if (!cmd)
        return cli_usage(NULL, "unknown command '%s'", argv[1]);

    rc = cli_parse(cmd, argc - 2, argv + 2, &a);
    if (rc < 0)
        return finish(cmd->name, CLI_OK); /* --help was shown */
    if (rc != CLI_OK)
        return rc;
    return finish(cmd->name, cmd->run(cmd, &a));
}
