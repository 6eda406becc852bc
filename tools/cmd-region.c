/*
 * cmd-region.c — the region commands of `sharedmem`: ls, stat, create, rm,
 * gc.  What ls and stat print of a region, in a table, in lines or as
 * JSON, is described once in region-fields.c.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                         */

typedef struct info_list {
    smem_info *v;
    size_t n, cap;
    int nomem;
} info_list;

static int collect(const smem_info *info, void *arg)
{
    info_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        smem_info *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->nomem = 1;
            return 1; /* stop */
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *info;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const smem_info *)a)->name, ((const smem_info *)b)->name);
}

/* Reads every region into *l, sorted by name.  0 or a negative code. */
static int list_regions(info_list *l)
{
    int rc;
    memset(l, 0, sizeof *l);
    rc = smem_region_list(collect, l);
    if (l->nomem)
        rc = SMEM_ENOMEM;
    if (rc < 0) {
        free(l->v);
        memset(l, 0, sizeof *l);
        return rc;
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, by_name);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* ls                                                                     */

enum { LS_JSON, LS_ALL };
static const cli_opt ls_opts[] = {
    {"json", 0, NULL, "print a JSON array of objects instead of a table"},
    {"all", 'a', NULL, "also list the regions of other users"},
    {NULL, 0, NULL, NULL},
};

static int run_ls(const cli_cmd *cmd, cli_args *a)
{
    info_list l;
    size_t i, n = 0;
    int rc;

    rc = list_regions(&l);
    if (rc < 0)
        return cli_fail(cmd, NULL, rc);

    /* Keep our own regions unless --all. */
    for (i = 0; i < l.n; i++)
        if (a->seen[LS_ALL] || cli_os_is_mine(l.v[i].uid))
            l.v[n++] = l.v[i];
    l.n = n;

    if (a->seen[LS_JSON]) {
        fputs("[", stdout);
        for (i = 0; i < l.n; i++) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            cli_region_json(stdout, &l.v[i]);
        }
        fputs(l.n ? "\n]\n" : "]\n", stdout);
    } else if (l.n > 0) { /* nothing to show: no output at all */
        rc = cli_region_table(stdout, l.v, l.n);
    }
    free(l.v);
    return rc < 0 ? cli_fail(cmd, NULL, rc) : CLI_OK;
}

const cli_cmd cli_cmd_ls = {
    .name = "ls",
    .args = "[--json] [--all]",
    .summary = "list the regions",
    .description =
        "Lists the regions of the current user, sorted by name, as a table with one\n"
        "meaning per column, the same as in --json and stat: NAME; KIND (region,\n"
        "value, map or unknown); BYTES (usable bytes, the size it was made with);\n"
        "MEMORY (the memory it takes, its header and tail included, as 4.1K or\n"
        "3.4M: powers of 1024); MAXVALUE (the largest value it holds: a map's value\n"
        "size, a value's capacity; \"-\" for a raw region); ENTRIES (a map's keys in\n"
        "use and the most it holds, such as 3/100; \"-\" for other kinds); PERSIST\n"
        "(kept without users: yes/no); USERS (how many opens have it, in all\n"
        "processes); STATE (ready, initialising, stale, or \"bad: reason\"); OWNER\n"
        "(user name, or uid if it has none); MODE (octal permission bits).\n"
        "\n"
        "A stale region has no user left and is not persistent, or its creator died\n"
        "while initialising it: the next open re-creates it, and `sharedmem gc`\n"
        "removes it.  A name that is not a usable region shows what it is: \"bad:\n"
        "damaged: remove it with `sharedmem rm NAME`\", \"bad: another user's file\n"
        "(owner USER, uid N)\", \"bad: a symbolic link\", or \"bad:\" and the error.\n"
        "If there is no region, ls prints nothing.\n"
        "\n"
        "With --json, prints a JSON array (\"[]\" if empty) of objects with the keys\n"
        "name, size (usable bytes), memory (bytes it takes), capacity (a value's\n"
        "capacity, a map's most entries, else 0), entries (a map's keys in use, else\n"
        "0), max_value (a map's value size, else 0), kind, persistent, in_use, users\n"
        "(opens, or null if unknown), state, error (null, or the code's name such as\n"
        "\"SMEM_EACCES\" for a bad region), problem (null, or for a bad region\n"
        "\"damaged\", \"another_user\", \"symlink\" or \"unusable\"), uid, owner (user\n"
        "name or null), mode (a string such as \"0600\"), created (seconds since 1970,\n"
        "0 if unknown) and layout (the header's layout version).",
    .opts = ls_opts,
    .exit_status = "0  the list was printed (possibly empty)\n"
                   "1  the list could not be read\n"
                   "2  usage error",
    .example = "sharedmem ls\n"
               "sharedmem ls --all --json",
    .windows = "Lists the regions that Windows lets it find in the session's Local\\\n"
               "namespace.  OWNER is \"-\" (in JSON, uid 0 and owner null), and --all\n"
               "changes nothing: only your own regions can be opened.  MODE is the mode\n"
               "that was asked for, recorded but not applied.  A region exists only while\n"
               "some process has it open, so PERSIST=yes does not keep it, and none is\n"
               "stale.",
    .min_args = 0,
    .max_args = 0,
    .run = run_ls,
};

/* ---------------------------------------------------------------------- */
/* stat                                                                   */

enum { STAT_JSON };
static const cli_opt stat_opts[] = {
    {"json", 0, NULL, "print one JSON object (the keys of `ls --json`)"},
    {NULL, 0, NULL, NULL},
};

static int run_stat(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_info info;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    memset(&info, 0, sizeof info);
    rc = smem_region_stat(name, &info);
    if (rc < 0)
        return cli_fail(cmd, name, rc);

    if (a->seen[STAT_JSON]) {
        cli_region_json(stdout, &info);
        fputc('\n', stdout);
    } else {
        cli_region_lines(stdout, &info);
    }
    return CLI_OK;
}

const cli_cmd cli_cmd_stat = {
    .name = "stat",
    .args = "NAME [--json]",
    .summary = "show the details of one region",
    .description =
        "Shows the details of the region NAME without attaching to it, as\n"
        "\"key: value\" lines: name, kind, size, capacity (values only), entries\n"
        "(maps only: \"3 of 100\", the keys in use and the most it holds), max value\n"
        "(maps only: the largest value of a key), state, error (only for a bad\n"
        "region), persistent, in use, owner, mode, created and layout.\n"
        "\n"
        "An object that exists but is not a usable region is shown with the state\n"
        "\"bad: reason\", which says what it is: \"bad: damaged: remove it with\n"
        "`sharedmem rm NAME`\" (also for a region of another layout version),\n"
        "\"bad: another user's file (owner USER, uid N)\", \"bad: a symbolic link\",\n"
        "or \"bad:\" and the error.  That is not a failure.",
    .opts = stat_opts,
    .exit_status = "0  the details were printed\n"
                   "1  there is no such region, or it could not be inspected\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem stat jobs\n"
               "sharedmem stat jobs --json",
    .windows = "The owner is \"-\" (in JSON, uid 0 and owner null).  The mode is recorded\n"
               "as given but not applied: only you can open the region.",
    .min_args = 1,
    .max_args = 1,
    .run = run_stat,
};

/* ---------------------------------------------------------------------- */
/* create                                                                 */

enum { CREATE_PERSIST, CREATE_MODE };
static const cli_opt create_opts[] = {
    {"persist", 'p', NULL, "keep it after its last user is gone, until `rm`"},
    {"mode", 'm', "MODE", "permission bits in octal, e.g. 0640 (default 0600)"},
    {NULL, 0, NULL, NULL},
};

static int run_create(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    const char *why = NULL;
    smem_opts opts;
    smem_region *r = NULL;
    size_t size;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    memset(&opts, 0, sizeof opts);
    if (cli_parse_size(a->pos[1], &size, &why) != 0)
        return cli_usage(cmd, "invalid size '%s': %s", a->pos[1], why);
    if (a->seen[CREATE_MODE] && cli_parse_mode(a->value[CREATE_MODE], &opts.mode, &why) != 0)
        return cli_usage(cmd, "invalid mode '%s': %s", a->value[CREATE_MODE], why);

    opts.flags = SMEM_EXCL;
    if (a->seen[CREATE_PERSIST])
        opts.flags |= SMEM_PERSIST;
    rc = smem_region_open(name, size, &opts, &r);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    smem_region_close(r);

    if (!a->seen[CREATE_PERSIST])
        fprintf(stderr,
                "sharedmem: note: %s is not persistent and was removed when this command "
                "exited; use --persist or `sharedmem hold`\n",
                name);
    else if (cli_region_gone(name))
        fprintf(stderr,
                "sharedmem: note: %s was removed when this command exited: here a region "
                "lives only while a process has it open, even with --persist; keep it with "
                "`sharedmem hold %s --create %s`\n",
                name, name, a->pos[1]);
    return CLI_OK;
}

const cli_cmd cli_cmd_create = {
    .name = "create",
    .args = "NAME SIZE [--persist] [--mode MODE]",
    .summary = "create a new region",
    .description =
        "Creates the region NAME with SIZE usable bytes, zero-filled.  It is an error\n"
        "if NAME already exists.  SIZE is a number of bytes with an optional suffix\n"
        "K, M, G or T (or KiB, MiB, GiB, TiB; powers of 1024), from 1 byte to 1T.\n"
        "\n"
        "A region lives while some process has it open.  Without --persist, the region\n"
        "is removed as soon as this command exits (a note on stderr says so), which\n"
        "is only useful to check that it can be created; use --persist, or keep it\n"
        "open with `sharedmem hold NAME --create SIZE`.",
    .opts = create_opts,
    .exit_status = "0  the region was created\n"
                   "1  it could not be created (e.g. it already exists, no space left)\n"
                   "2  usage error (invalid NAME, SIZE or MODE)",
    .example = "sharedmem create jobs 64K --persist --mode 0640",
    .windows = "A region lives only while some process has it open, even with --persist:\n"
               "the region that create makes is gone when it exits, and a note says so.\n"
               "Keep it with `sharedmem hold NAME --create SIZE` instead.  The mode is\n"
               "recorded, not applied: only you can open the region.",
    .min_args = 2,
    .max_args = 2,
    .run = run_create,
};

/* ---------------------------------------------------------------------- */
/* rm                                                                     */

/* How long rm waits, on Windows, for the holds it asked to let go of a
 * region, and how often it looks meanwhile. */
#define RM_RELEASE_MS 2000
#define RM_POLL_MS 10

/* Removes NAME.  On Windows a region that a process has open cannot be
 * removed (SMEM_EBUSY) and goes away with its last handle: then rm asks
 * the `sharedmem hold`s of NAME to let go, and tries again until the
 * region is gone or RM_RELEASE_MS have passed.  *AT_ONCE is 1 if the
 * first try removed it (on Linux, with any users; on Windows, with none). */
static int remove_region(const char *name, int *at_once)
{
    int rc = smem_region_remove(name), waited;
    void *request;

    *at_once = rc == 0;
    if (rc != SMEM_EBUSY || !(request = cli_os_release_ask(name)))
        return rc;
    for (waited = 0; rc == SMEM_EBUSY && waited < RM_RELEASE_MS; waited += RM_POLL_MS) {
        cli_os_sleep_ms(RM_POLL_MS);
        rc = smem_region_remove(name);
    }
    cli_os_release_end(request);
    return rc == SMEM_ENOENT ? 0 : rc; /* gone with its last holder */
}

/* After NAME was removed while USERS opens had it (-1: some, unknown). */
static void say_still_open(const char *name, int users)
{
    char who[48];
    if (users > 0)
        snprintf(who, sizeof who, "%d %s", users, users == 1 ? "open still has" : "opens still have");
    else
        snprintf(who, sizeof who, "some processes still have");
    fprintf(stderr,
            "sharedmem: note: %s is removed, but %s it: its memory stays until the last one "
            "closes it, and the next open of %s makes a new region\n",
            name, who, name);
}

static int run_rm(const cli_cmd *cmd, cli_args *a)
{
    int i, rc, status = CLI_OK;

    for (i = 0; i < a->npos; i++)
        if ((rc = cli_check_name(cmd, a->pos[i])) != CLI_OK)
            return rc;
    for (i = 0; i < a->npos; i++) {
        smem_info before;
        int looked = smem_region_stat(a->pos[i], &before) == 0, at_once;
        rc = remove_region(a->pos[i], &at_once);
        if (rc < 0)
            status = cli_fail(cmd, a->pos[i], rc);
        else if (looked && before.in_use && at_once) /* its users kept it */
            say_still_open(a->pos[i], before.users);
    }
    return status;
}

const cli_cmd cli_cmd_rm = {
    .name = "rm",
    .args = "NAME...",
    .summary = "remove regions",
    .description =
        "Removes the name of each region NAME.  Processes that have the region open\n"
        "keep their memory until they close it; the next open of NAME creates a new\n"
        "region; rm says so, with how many opens still have it.  Only your own\n"
        "regions can be removed.  An error on one NAME is\n"
        "reported and the others are still removed.  All names are checked before\n"
        "anything is removed.",
    .exit_status = "0  every region was removed\n"
                   "1  at least one could not be removed (e.g. no such region)\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem rm jobs cache",
    .windows = "A region cannot be removed while a process has it open, and goes away\n"
               "when the last one closes it.  So rm asks every `sharedmem hold` of NAME\n"
               "to let go and waits up to 2 seconds for the region to go; if other\n"
               "processes (a watch, a program) still keep it, rm fails with \"in use\"\n"
               "(and the holds have let go all the same).",
    .min_args = 1,
    .max_args = -1,
    .run = run_rm,
};

/* ---------------------------------------------------------------------- */
/* gc                                                                     */

enum { GC_DRY_RUN, GC_PREFIX };
static const cli_opt gc_opts[] = {
    {"dry-run", 'n', NULL, "only print \"would remove NAME\" for each stale region"},
    {"prefix", 0, "PREFIX", "only the regions whose names start with PREFIX"},
    {NULL, 0, NULL, NULL},
};

/* Collects one NAME of the command line for gc. */
static int stat_one(const cli_cmd *cmd, const char *name, info_list *l)
{
    int rc;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        smem_info *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return cli_fail(cmd, name, SMEM_ENOMEM);
        l->v = v;
        l->cap = cap;
    }
    rc = smem_region_stat(name, &l->v[l->n]);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    l->n++;
    return CLI_OK;
}

/* Collects the NAMEs of the command line into *l; CLI_FAIL if one could
 * not be inspected (reported; the others are collected). */
static int stat_names(const cli_cmd *cmd, const cli_args *a, info_list *l)
{
    int k, status = CLI_OK;

    memset(l, 0, sizeof *l);
    for (k = 0; k < a->npos; k++)
        if (stat_one(cmd, a->pos[k], l) != CLI_OK)
            status = CLI_FAIL;
    return status;
}

/* Keeps in *l only the regions whose names start with PREFIX. */
static void keep_prefix(info_list *l, const char *prefix)
{
    size_t i, n = 0, len = strlen(prefix);

    for (i = 0; i < l->n; i++)
        if (strncmp(l->v[i].name, prefix, len) == 0)
            l->v[n++] = l->v[i];
    l->n = n;
}

typedef struct gc_run {
    const cli_cmd *cmd;
    int dry_run;
    int listed;    /* the regions were listed, not named: one may vanish meanwhile */
    int mine_only; /* neither NAMEs nor --prefix: other users' names are theirs */
} gc_run;

/* Reports a name that gc leaves because it cannot remove it; CLI_FAIL. */
static int gc_left(const gc_run *g, const smem_info *info)
{
    char what[CLI_BAD_WHAT_MAX], how[CLI_BAD_HOW_MAX];

    cli_bad_words(info, what, sizeof what, how, sizeof how);
    return cli_fail_name(g->cmd, info->name, "%s, not removed%s%s", what, how[0] ? ": " : "",
                         how);
}

/* gc of one region: removes it if it is stale and ours, reports it if it
 * is garbage that gc cannot remove.  CLI_OK or CLI_FAIL. */
static int gc_one(const gc_run *g, const smem_info *info)
{
    int rc;

    if (cli_bad_kind(info) != CLI_BAD_NONE)
        return g->mine_only && !cli_os_is_mine(info->uid) ? CLI_OK : gc_left(g, info);
    /* Only stale regions that we may remove; smem_region_gc decides again
     * under the lock, so a region that became busy is kept. */
    if (info->state != SMEM_STATE_STALE || !cli_os_is_mine(info->uid))
        return CLI_OK;
    if (g->dry_run) {
        printf("would remove %s\n", info->name);
        return CLI_OK;
    }
    rc = smem_region_gc(info->name);
    if (rc == 1)
        printf("removed %s\n", info->name);
    else if (rc < 0 && !(rc == SMEM_ENOENT && g->listed)) /* gone meanwhile */
        return cli_fail(g->cmd, info->name, rc);
    return CLI_OK;
}

static int run_gc(const cli_cmd *cmd, cli_args *a)
{
    gc_run g = {.cmd = cmd,
                .dry_run = a->seen[GC_DRY_RUN] > 0,
                .listed = a->npos == 0,
                .mine_only = a->npos == 0 && !a->seen[GC_PREFIX]};
    info_list l;
    size_t i;
    int k, rc, status = CLI_OK;

    if (a->npos > 0 && a->seen[GC_PREFIX])
        return cli_usage(cmd, "give NAMEs or --prefix, not both");
    for (k = 0; k < a->npos; k++)
        if ((rc = cli_check_name(cmd, a->pos[k])) != CLI_OK)
            return rc;
    if (a->npos > 0) {
        status = stat_names(cmd, a, &l);
    } else if ((rc = list_regions(&l)) < 0) {
        return cli_fail(cmd, NULL, rc);
    } else if (a->seen[GC_PREFIX]) {
        keep_prefix(&l, a->value[GC_PREFIX]);
    }
    for (i = 0; i < l.n; i++)
        if (gc_one(&g, &l.v[i]) != CLI_OK)
            status = CLI_FAIL;
    free(l.v);
    return status;
}

const cli_cmd cli_cmd_gc = {
    .name = "gc",
    .args = "[--dry-run] [--prefix PREFIX | NAME...]",
    .summary = "remove stale regions",
    .description =
        "Removes your stale regions: those that are not persistent and whose users all\n"
        "exited or were killed, and those whose creator died while initialising them.\n"
        "Prints \"removed NAME\" for each.  The decision is taken again under the lock\n"
        "that openers take, so a region that someone is attaching to is kept.\n"
        "Without NAME, looks at all your regions; with --prefix, only at those whose\n"
        "names start with PREFIX; with NAMEs, only at those (a NAME that is not stale,\n"
        "such as a live, held, persistent or initialising region, is left alone\n"
        "without an error).\n"
        "\n"
        "A name that is not a usable region is garbage that gc cannot remove: gc\n"
        "leaves it, says why on stderr (\"sharedmem: gc NAME: damaged, not removed:\n"
        "remove it with `sharedmem rm NAME`\", \"another user's file (owner USER, uid\n"
        "N), not removed\", \"a symbolic link, not removed\") and exits 1.  Without\n"
        "NAME or --prefix, other users' names are not looked at: they are theirs.",
    .opts = gc_opts,
    .exit_status = "0  success (also when nothing was stale)\n"
                   "1  a region could not be inspected or removed, or a name was left\n"
                   "   because it is damaged, another user's or a symbolic link\n"
                   "2  usage error (including NAMEs together with --prefix)",
    .example = "sharedmem gc --dry-run\n"
               "sharedmem gc\n"
               "sharedmem gc --prefix myapp-",
    .windows = "A region goes away with the last process that has it open, so none is\n"
               "ever stale and gc finds nothing to remove; it is there for scripts\n"
               "written for both systems.",
    .min_args = 0,
    .max_args = -1,
    .run = run_gc,
};
