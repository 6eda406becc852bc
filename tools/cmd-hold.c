/*
 * cmd-hold.c — `sharedmem hold`: keep a region open until told to stop.
 *
 * This is also the seed's "detached process": `sharedmem hold dllmemfilemap`
 * creates the value that libdllshmem attaches to (4096 bytes) if it does
 * not exist yet, and keeps it alive between the programs that use it.
 */
#include "cli.h"

#include <string.h>

enum { HOLD_CREATE, HOLD_CAPACITY, HOLD_ENTRIES, HOLD_VALUE_SIZE, HOLD_MODE, HOLD_EVICT };
static const cli_opt hold_opts[] = {
    {"create", 'c', "SIZE", "if NAME is missing, create a raw region of SIZE bytes"},
    {"capacity", 0, "SIZE", "if NAME is missing, create a value of this capacity"},
    {"entries", 'n', "N", "with --value-size: if NAME is missing, create a map"},
    {"value-size", 's', "SIZE", "with --entries: the value size of that map (0 to 1M)"},
    {"mode", 'm', "MODE", "permission bits of a new region, value or map (default 0600)"},
    {"evict", 0, NULL, "with --entries: that map evicts when full (see `map --evict`)"},
    {NULL, 0, NULL, NULL},
};

/* How often hold tries again when NAME appears or changes kind while it
 * opens it (another process creating it at the same moment). */
#define HOLD_TRIES 3

/* What hold makes of a missing NAME, from its options. */
typedef struct hold_new {
    smem_opts opts;            /* the mode */
    int raw;                   /* --create: a raw region of SIZE bytes */
    int is_map;                /* --entries: a map of ENTRIES of VALUE_SIZE bytes */
    size_t size, capacity;     /* else a value of CAPACITY bytes */
    size_t entries, value_size;
} hold_new;

/* Parses the options of A into *H.  CLI_OK or CLI_USAGE (reported). */
static int parse_hold(const cli_cmd *cmd, const cli_args *a, hold_new *h)
{
    const char *why = NULL;
    int rc;

    memset(h, 0, sizeof *h);
    h->raw = a->seen[HOLD_CREATE] > 0;
    h->capacity = CLI_DEFAULT_CAPACITY;
    if (a->seen[HOLD_CREATE] && a->seen[HOLD_CAPACITY])
        return cli_usage(cmd, "options '--create' and '--capacity' exclude each other");
    if ((rc = cli_parse_map_figures(cmd, a, HOLD_ENTRIES, HOLD_VALUE_SIZE, &h->entries,
                                    &h->value_size, &h->is_map)) != CLI_OK)
        return rc;
    if (h->is_map && (a->seen[HOLD_CREATE] || a->seen[HOLD_CAPACITY]))
        return cli_usage(cmd, "option '--entries' excludes '--%s'",
                         a->seen[HOLD_CREATE] ? "create" : "capacity");
    if (a->seen[HOLD_EVICT] && !h->is_map)
        return cli_usage(cmd, "option '--evict' needs '--entries' and '--value-size'");
    if (a->seen[HOLD_EVICT])
        h->opts.flags |= SMEM_EVICT; /* for the map only: see open_held */
    if (a->seen[HOLD_CREATE] && cli_parse_size(a->value[HOLD_CREATE], &h->size, &why) != 0)
        return cli_usage(cmd, "invalid size '%s': %s", a->value[HOLD_CREATE], why);
    if (a->seen[HOLD_CAPACITY] &&
        cli_parse_capacity(a->value[HOLD_CAPACITY], &h->capacity, &why) != 0)
        return cli_usage(cmd, "invalid capacity '%s': %s", a->value[HOLD_CAPACITY], why);
    if (a->seen[HOLD_MODE] && cli_parse_mode(a->value[HOLD_MODE], &h->opts.mode, &why) != 0)
        return cli_usage(cmd, "invalid mode '%s': %s", a->value[HOLD_MODE], why);
    return CLI_OK;
}

/* Opens NAME into *R, or creates it as H says into *V or *M (noting it on
 * stderr).  0 or a negative code. */
static int open_held(const char *name, const hold_new *h, smem_region **r, smem_value **v,
                     smem_map **m)
{
    int rc, tries;

    if (h->raw) {
        /* Open-or-create a raw region of that size. */
        return smem_region_open(name, h->size, &h->opts, r);
    }
    /* Attach to an existing region of any kind and size; if there is
     * none, create a value (or a map).  If another process creates
     * NAME between the two opens (the second open then fails with
     * SMEM_EMISMATCH if it made something else), attach to what it
     * made. */
    for (tries = 0; tries < HOLD_TRIES; tries++) {
        smem_opts any = h->opts;
        any.flags = SMEM_ANYKIND;
        rc = smem_region_open(name, 0, &any, r);
        if (rc != SMEM_ENOENT)
            break;
        if (h->is_map)
            rc = smem_map_open(name, h->entries, h->value_size, &h->opts, m);
        else
            rc = smem_value_open(name, h->capacity, &h->opts, v);
        if (rc != SMEM_EMISMATCH)
            break;
    }
    if (rc >= 0 && *v && smem_value_created(*v))
        fprintf(stderr, "sharedmem: note: created %s, a value of %llu bytes\n", name,
                (unsigned long long)smem_value_capacity(*v));
    if (rc >= 0 && *m && smem_map_created(*m))
        fprintf(stderr, "sharedmem: note: created %s, a map of %llu entries of %llu bytes%s\n",
                name, (unsigned long long)smem_map_max_entries(*m),
                (unsigned long long)smem_map_max_value(*m),
                h->opts.flags & SMEM_EVICT ? ", evicting" : "");
    return rc;
}

static int run_hold(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    hold_new h;
    smem_region *r = NULL;
    smem_value *v = NULL;
    smem_map *m = NULL;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = parse_hold(cmd, a, &h)) != CLI_OK)
        return rc;

    /* Catch the stop signals (and, on Windows, listen for `rm NAME`)
     * before opening: one that arrives while the open runs is held and
     * ends the wait at once. */
    if (cli_os_stop_begin(name) != 0)
        return cli_failf(cmd, "cannot catch the stop signals");

    rc = open_held(name, &h, &r, &v, &m);
    if (rc < 0) {
        cli_os_stop_end();
        if (h.is_map)
            return cli_map_create_failed(cmd, name, rc, h.entries, h.value_size);
        return cli_fail(cmd, name, rc);
    }
    fprintf(stderr, "holding %s (pid %ld); Ctrl-C to release\n", name, cli_os_pid());

    cli_os_stop_wait();

    smem_region_close(r);
    smem_value_close(v);
    smem_map_close(m);
    cli_os_stop_end();
    fprintf(stderr, "released %s\n", name);
    return CLI_OK;
}

const cli_cmd cli_cmd_hold = {
    .name = "hold",
    .args = "NAME [--capacity SIZE | --create SIZE | --entries N --value-size SIZE [--evict]] "
            "[--mode MODE]",
    .summary = "keep a region open until interrupted (creating it if asked)",
    .description =
        "Attaches to the region NAME and keeps it open, so that a region that is not\n"
        "persistent stays alive, until SIGINT (Ctrl-C), SIGTERM or SIGHUP; then\n"
        "closes it cleanly and exits 0.  If this was the last user of a region that\n"
        "is not persistent, closing removes it.  Prints \"holding NAME (pid N); Ctrl-C\n"
        "to release\" on stderr once the region is open, and \"released NAME\" at the\n"
        "end.\n"
        "\n"
        "An existing NAME of any kind (raw region, value, map) and any size is\n"
        "accepted.  If NAME does not exist, hold creates it as an empty value of\n"
        "--capacity bytes (4096 by default, the block of the seed's DLL), not\n"
        "persistent, and notes it on stderr; `sharedmem set` and `get`, and programs\n"
        "using libdllshmem (for dllmemfilemap), can then use it while hold runs.\n"
        "With --create SIZE instead, hold opens NAME or creates it as a raw region\n"
        "of SIZE bytes (an existing region must then be a raw region of that size).\n"
        "With --entries N --value-size SIZE, hold creates a missing NAME as an empty\n"
        "map of N keys of up to SIZE bytes each (see `sharedmem map`), not\n"
        "persistent, and notes it (\"created NAME, a map of N entries of SIZE bytes\");\n"
        "an existing NAME of any kind is held as it is.  With --evict too, that map\n"
        "evicts an entry to make room for a new key when it is full (see `sharedmem\n"
        "map`), and the note ends with \", evicting\".\n"
        "--mode gives the permission bits of what hold creates.\n"
        "If hold is killed (SIGKILL), a region that is not persistent becomes stale.",
    .opts = hold_opts,
    .exit_status = "0  the region was held and then released on a signal\n"
                   "1  it could not be opened or created (e.g. another size or kind)\n"
                   "2  usage error",
    .example = "sharedmem hold jobs\n"
               "sharedmem hold dllmemfilemap &\n"
               "sharedmem hold scratch --create 1M &\n"
               "sharedmem hold counters --entries 100 --value-size 32 &",
    .windows = "hold is the only way to keep a region alive: a region lives only while\n"
               "some process has it open, and --persist cannot keep one.  hold stops on\n"
               "Ctrl-C, Ctrl-Break or when its console closes, and also when\n"
               "`sharedmem rm NAME` asks it to let go; then it releases NAME as above.\n"
               "If hold is killed, its region goes away with it, unless other processes\n"
               "have it open.",
    .min_args = 1,
    .max_args = 1,
    .run = run_hold,
};
