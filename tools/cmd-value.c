/*
 * cmd-value.c — the value commands of `sharedmem`: get and set (`get
 * --raw` writes a region's bytes with cli_region_bytes, value-io.c).
 * Given a KEY they hand over to cmd-map.c; `watch` is in cmd-watch.c.
 *
 * A value is a region that holds one byte string of up to its capacity,
 * replaced whole by each set, with a version that every set makes larger
 * (smem_value_open and friends in sharedmem.h).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                         */

/* Opens the existing value NAME, of any capacity, with FLAGS (SMEM_RDONLY
 * or SMEM_NOCREATE: never creates it); reports a failure (MAP_ARGS: what
 * to add to the command line if NAME is a map). */
static int open_existing(const cli_cmd *cmd, const char *name, unsigned flags,
                         const char *map_args, smem_value **v)
{
    smem_opts opts;
    int rc;

    memset(&opts, 0, sizeof opts);
    opts.flags = flags;
    rc = smem_value_open(name, 0, &opts, v);
    if (rc < 0)
        return cli_value_open_failed(cmd, name, rc, map_args);
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* get                                                                    */

enum { GET_JSON, GET_RAW };
static const cli_opt get_opts[] = {
    {"json", 0, NULL, "print name, (key,) length, version and value as JSON"},
    {"raw", 0, NULL, "the bytes of a region of any kind (hex on a terminal)"},
    {NULL, 0, NULL, NULL},
};

static int run_get(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_value *v = NULL;
    cli_buf b = {NULL, 0};
    size_t len = 0;
    uint64_t version = 0;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (a->seen[GET_RAW]) {
        if (a->npos == 2 || a->seen[GET_JSON])
            return cli_usage(cmd, "--raw takes no KEY and no --json");
        return cli_region_bytes(cmd, name, CLI_BYTES_AUTO);
    }
    if (a->npos == 2) { /* get NAME KEY: a map's entry */
        if ((rc = cli_check_key(cmd, a->pos[1])) != CLI_OK)
            return rc;
        return cli_map_get(cmd, name, a->pos[1], a->seen[GET_JSON] > 0);
    }
    if ((rc = open_existing(cmd, name, SMEM_RDONLY, "KEY", &v)) != CLI_OK)
        return rc;
    rc = cli_value_read(v, &b, &len, &version);
    smem_value_close(v);
    if (rc < 0) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }

    cli_entry e = {name, NULL, b.p, len, version, 0, 0};
    cli_entry_print(&e, a->seen[GET_JSON] ? CLI_ENTRY_JSON : CLI_ENTRY_EXACT);
    free(b.p);
    return CLI_OK;
}

const cli_cmd cli_cmd_get = {
    .name = "get",
    .args = "NAME [KEY] [--json] | NAME --raw",
    .summary = "print a value, or the value of a key of a map",
    .description =
        "Writes the bytes of the value NAME to standard output, exactly.  On a\n"
        "terminal it adds a newline if the value does not end with one, so that the\n"
        "prompt starts on a line of its own; to a pipe or a file it writes only the\n"
        "value's bytes.  A value that was never set is empty: get prints nothing.\n"
        "With KEY, NAME must be a map, and get writes the value of its KEY (keys have\n"
        "1 to 64 bytes; put \"--\" before one that begins with \"-\"); a KEY that is\n"
        "not in the map is an error (\"no key 'KEY'\"), and so is one that expired\n"
        "(\"no key 'KEY' (it expired)\", see `set --ttl`).  Without KEY, NAME must be\n"
        "a value.  get never creates NAME, nor waits for a writer.  It opens a value\n"
        "read-only, and a map for writing if it may (read-only if not), so that the\n"
        "get counts in the map's `stats` (a hit or a miss) and gives the key it read\n"
        "a second chance against eviction (`map --evict`).\n"
        "\n"
        "With --json, prints one line: {\"name\":NAME,\"length\":BYTES,\"version\":V,\n"
        "\"value\":STRING}, with \"key\":KEY after the name for a map's key.  The\n"
        "version is 0 for a value never set, and every set makes it larger.  In\n"
        "STRING, well-formed UTF-8 is copied as it is, except that \" and \\ are\n"
        "escaped and control characters (and DEL) are written as \\b \\f \\n \\r \\t\n"
        "or \\u00XX; every byte that is not part of well-formed UTF-8 is written as\n"
        "\\u00XX, XX being the byte.  Text round-trips exactly; for other bytes \\u00XX\n"
        "cannot be told from the character U+00XX, so use get without --json to\n"
        "read binary values.\n"
        "\n"
        "With --raw, NAME may be a region of any kind, and get writes all its usable\n"
        "bytes as they are (a value's or a map's own structures included): raw to a\n"
        "pipe or a file, as a hex dump on a terminal (like `dump` of a raw region).",
    .opts = get_opts,
    .exit_status = "0  the value was printed\n"
                   "1  no such value or map, NAME is another kind of region (a map without\n"
                   "   KEY, a value with KEY), no such KEY, or it could not be read\n"
                   "2  usage error (including an invalid NAME or KEY)",
    .example = "sharedmem get config > config.txt\n"
               "sharedmem get config --json\n"
               "sharedmem get settings colour\n"
               "sharedmem get jobs --raw | od -c",
    .min_args = 1,
    .max_args = 2,
    .run = run_get,
};

/* ---------------------------------------------------------------------- */
/* set                                                                    */

enum { SET_PERSIST, SET_CAPACITY, SET_MODE, SET_TTL };
static const cli_opt set_opts[] = {
    {"persist", 'p', NULL, "create NAME, persistent, if it does not exist"},
    {"capacity", 0, "SIZE", "with --persist: capacity of a new value (default 4096)"},
    {"mode", 'm', "MODE", "with --persist: permission bits of a new value (default 0600)"},
    {"ttl", 0, "DURATION", "with KEY: the key expires after DURATION (500ms, 30s, 5m, 2h)"},
    {NULL, 0, NULL, NULL},
};

/* set NAME KEY VALUE|-: a map's entry.  The options but --ttl are for
 * values only. */
static int set_key(const cli_cmd *cmd, const cli_args *a)
{
    static const char *const value_only[] = {"persist", "capacity", "mode"};
    uint64_t ttl_ms = 0;
    int k, rc;

    if ((rc = cli_check_key(cmd, a->pos[1])) != CLI_OK)
        return rc;
    for (k = SET_PERSIST; k <= SET_MODE; k++)
        if (a->seen[k])
            return cli_usage(cmd,
                             "option '--%s' is for values only; set never creates a map "
                             "(make one with `sharedmem map`)",
                             value_only[k]);
    if ((rc = cli_parse_ttl(cmd, a, SET_TTL, &ttl_ms)) != CLI_OK)
        return rc;
    return cli_map_set(cmd, a->pos[0], a->pos[1], a->pos[2], ttl_ms);
}

/* The options of a value that set creates with --persist: its capacity
 * (*CAPACITY left as it is without --capacity) and its mode.  CLI_OK or
 * CLI_USAGE (reported). */
static int parse_new_value(const cli_cmd *cmd, const cli_args *a, size_t *capacity,
                           smem_opts *opts)
{
    const char *why = NULL;

    if (a->seen[SET_CAPACITY]) {
        if (!a->seen[SET_PERSIST])
            return cli_usage(cmd, "option '--capacity' needs '--persist'");
        if (cli_parse_capacity(a->value[SET_CAPACITY], capacity, &why) != 0)
            return cli_usage(cmd, "invalid capacity '%s': %s", a->value[SET_CAPACITY], why);
    }
    if (a->seen[SET_MODE]) {
        if (!a->seen[SET_PERSIST])
            return cli_usage(cmd, "option '--mode' needs '--persist'");
        if (cli_parse_mode(a->value[SET_MODE], &opts->mode, &why) != 0)
            return cli_usage(cmd, "invalid mode '%s': %s", a->value[SET_MODE], why);
    }
    return CLI_OK;
}

static int run_set(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    const char *arg = a->pos[1];
    smem_opts opts;
    smem_value *v = NULL;
    cli_buf b = {NULL, 0};
    const void *data;
    size_t len, capacity = CLI_DEFAULT_CAPACITY;
    int rc, create = 0, from_stdin = strcmp(arg, "-") == 0;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (a->npos == 3) /* set NAME KEY VALUE: a map's entry */
        return set_key(cmd, a);
    if (a->seen[SET_TTL])
        return cli_usage(cmd, "option '--ttl' is for keys of a map (set NAME KEY VALUE --ttl "
                              "DURATION); a value never expires");
    memset(&opts, 0, sizeof opts);
    if ((rc = parse_new_value(cmd, a, &capacity, &opts)) != CLI_OK)
        return rc;

    /* An existing value first: its capacity bounds what we read. */
    opts.flags = SMEM_NOCREATE;
    rc = smem_value_open(name, 0, &opts, &v);
    if (rc == SMEM_ENOENT && a->seen[SET_PERSIST]) {
        create = 1; /* after the input is known to fit */
    } else if (rc == SMEM_ENOENT) {
        /* A value made by this short-lived command would vanish with it. */
        return cli_fail_name(cmd, name,
                         "no such region (add --persist to create it, or keep it "
                         "alive with `sharedmem hold %s`)",
                         name);
    } else if (rc < 0) {
        return cli_value_open_failed(cmd, name, rc, "KEY VALUE");
    } else {
        capacity = smem_value_capacity(v);
    }

    rc = cli_value_input(cmd, name, arg, from_stdin, capacity, "the capacity", &b, &data, &len);
    if (rc != CLI_OK) {
        smem_value_close(v);
        return rc;
    }

    if (create) {
        /* Not SMEM_EXCL: if another process made the same value meanwhile,
         * this attaches to it (with another capacity: SMEM_EMISMATCH). */
        opts.flags = SMEM_PERSIST;
        rc = smem_value_open(name, capacity, &opts, &v);
        if (rc < 0) {
            free(b.p);
            return cli_fail(cmd, name, rc);
        }
    }

    rc = smem_value_set(v, data, len);
    smem_value_close(v);
    free(b.p);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    if (create && cli_region_gone(name))
        fprintf(stderr,
                "sharedmem: note: %s was removed, with the value just stored, when this "
                "command exited: here a value lives only while a process has it open, even "
                "with --persist; keep it with `sharedmem hold %s`\n",
                name, name);
    return CLI_OK;
}

const cli_cmd cli_cmd_set = {
    .name = "set",
    .args = "NAME [KEY] VALUE|- [--persist [--capacity SIZE] [--mode MODE]] [--ttl DURATION]",
    .summary = "store a value, or the value of a key of a map",
    .description =
        "Replaces the value NAME with the bytes of the argument VALUE (no newline is\n"
        "added), or with all of standard input if VALUE is \"-\".  Readers see the\n"
        "old value or the new one, whole, and the value's version grows.  A value\n"
        "longer than the capacity of NAME is an error, and nothing is stored.\n"
        "A VALUE such as -1 (a dash and a digit) is a value, not an option; to store\n"
        "another VALUE that begins with \"-\", put \"--\" before it; to store \"-\"\n"
        "itself, give it on standard input (printf - | sharedmem set NAME -).\n"
        "\n"
        "If NAME does not exist, set fails unless --persist is given: a value that\n"
        "set created without it would be removed as soon as set exits, its last\n"
        "user.  With --persist, set creates NAME as a persistent value (kept until\n"
        "`sharedmem rm NAME`) of --capacity bytes, 4096 by default.  Otherwise keep\n"
        "NAME alive with `sharedmem hold NAME`, which creates it if needed.\n"
        "--persist, --capacity and --mode apply only when set creates NAME; an\n"
        "existing value keeps its capacity, mode and lifetime.  NAME must be a\n"
        "value, not a raw region.\n"
        "\n"
        "With KEY, NAME must be a map (see `sharedmem map`): set inserts KEY (1 to 64\n"
        "bytes) or replaces its value with VALUE, or with standard input for \"-\".\n"
        "Readers see the old value or the new one, whole.  A value longer than the\n"
        "map's value size, or a new key in a full map (unless it evicts: `map\n"
        "--evict`), is an error, and nothing is stored.  set never creates a map, so\n"
        "--persist, --capacity and --mode are errors with a KEY.\n"
        "\n"
        "With --ttl DURATION (a KEY only), the key expires DURATION later: from then\n"
        "on it is absent for every command (`ttl NAME KEY` tells how long it has\n"
        "left; `expire` changes it).  DURATION is a whole number and a unit: ms, s, m\n"
        "or h (500ms, 30s, 5m, 2h); a number without a unit, 0 or a negative one is\n"
        "an error.  Without --ttl the key never expires, even if it did before.",
    .opts = set_opts,
    .exit_status = "0  the value was stored\n"
                   "1  it was not: no such value (without --persist) or map, NAME is another\n"
                   "   kind of region (a map without KEY, a value with KEY), the value is\n"
                   "   larger than the capacity or value size, the map is full, ...\n"
                   "2  usage error (invalid NAME, KEY, SIZE, MODE or DURATION; an option for\n"
                   "   values with a KEY, --ttl without one)",
    .example = "sharedmem set greeting 'hello, world' --persist\n"
               "date | sharedmem set status -\n"
               "sharedmem set blob - --persist --capacity 1M < blob.bin\n"
               "sharedmem set settings colour blue\n"
               "sharedmem set sessions alice 'logged in' --ttl 30m",
    .windows = "A value lives only while some process has it open, even with --persist: a\n"
               "value that set creates is gone, with what set stored, when set exits (a\n"
               "note says so).  Start `sharedmem hold NAME` first; it creates the value.",
    .min_args = 2,
    .max_args = 3,
    .run = run_set,
    .numbers_are_args = 1,
};
