/*
 * cmd-value.c — the value commands of `sharedmem`: get, set, watch.  Given
 * a KEY (or, for watch, a map's NAME) they hand over to cmd-map.c.
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

/* Reads the value of V into B: its length into *len and its version into
 * *version.  Starts with a small buffer and grows it to the length the
 * library asks for, so that a short value in a large value costs little.
 * 0 or a negative code. */
static int read_value(smem_value *v, cli_buf *b, size_t *len, uint64_t *version)
{
    size_t capacity = smem_value_capacity(v);
    int rc;

    if ((rc = cli_buf_reserve(b, capacity < 4096 ? capacity : 4096)) < 0)
        return rc;
    for (;;) {
        size_t need = 0;
        rc = smem_value_get(v, b->p, b->cap, &need, version);
        if (rc != SMEM_E2BIG) {
            *len = need;
            return rc < 0 ? rc : 0;
        }
        /* Too small: *len says how much is needed now (a writer may make
         * it larger again before the next try; the capacity bounds it). */
        if (need <= b->cap) {
            if (b->cap >= capacity)
                return rc; /* the library contradicts itself */
            need = capacity;
        }
        if (need < b->cap * 2)
            need = b->cap * 2 < capacity ? b->cap * 2 : capacity;
        if ((rc = cli_buf_reserve(b, need)) < 0)
            return rc;
    }
}

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

/* {"name":...,"length":N,"version":V,"value":"..."} and a newline. */
static void print_json(const char *name, const unsigned char *p, size_t len, uint64_t version)
{
    fputs("{\"name\":", stdout);
    cli_json_string(stdout, name);
    fprintf(stdout, ",\"length\":%llu,\"version\":%llu,\"value\":", (unsigned long long)len,
            (unsigned long long)version);
    cli_json_bytes(stdout, p, len);
    fputs("}\n", stdout);
}

/* ---------------------------------------------------------------------- */
/* get                                                                    */

enum { GET_JSON, GET_RAW };
static const cli_opt get_opts[] = {
    {"json", 0, NULL, "print name, (key,) length, version and value as JSON"},
    {"raw", 0, NULL, "the bytes of a region of any kind (hex on a terminal)"},
    {NULL, 0, NULL, NULL},
};

int cli_region_bytes(const cli_cmd *cmd, const char *name, enum cli_bytes_how how)
{
    smem_opts opts;
    smem_region *r = NULL;
    memset(&opts, 0, sizeof opts);
    opts.flags = SMEM_RDONLY | SMEM_ANYKIND;
    int rc = smem_region_open(name, 0, &opts, &r);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    const unsigned char *p = smem_region_data(r);
    size_t n = smem_region_size(r);
    if (how == CLI_BYTES_AUTO)
        how = cli_os_is_terminal(stdout) ? CLI_BYTES_HEX : CLI_BYTES_RAW;
    if (how == CLI_BYTES_JSON) {
        fputs("{\"name\":", stdout);
        cli_json_string(stdout, name);
        fprintf(stdout, ",\"kind\":\"%s\",\"size\":%llu,\"hex\":\"",
                cli_kind_name(cli_region_kind(name)), (unsigned long long)n);
        for (size_t i = 0; i < n; i++)
            fprintf(stdout, "%02x", p[i]);
        fputs("\"}\n", stdout);
    } else if (how == CLI_BYTES_HEX) {
        cli_hex_dump(stdout, p, n);
    } else {
        cli_os_binary(stdout);
        fwrite(p, 1, n, stdout);
    }
    fflush(stdout);
    rc = smem_region_check(r); /* shrunk meanwhile: what we wrote was zeros */
    smem_region_close(r);
    return rc < 0 ? cli_fail(cmd, name, rc) : CLI_OK;
}

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
    rc = read_value(v, &b, &len, &version);
    smem_value_close(v);
    if (rc < 0) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }

    if (a->seen[GET_JSON])
        print_json(name, b.p, len, version);
    else
        cli_write_value(b.p, len);
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
        "not in the map is an error (\"no key 'KEY'\").  Without KEY, NAME must be a\n"
        "value.  get opens NAME read-only and never creates it, nor waits for a\n"
        "writer.\n"
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

enum { SET_PERSIST, SET_CAPACITY, SET_MODE };
static const cli_opt set_opts[] = {
    {"persist", 'p', NULL, "create NAME, persistent, if it does not exist"},
    {"capacity", 0, "SIZE", "with --persist: capacity of a new value (default 4096)"},
    {"mode", 'm', "MODE", "with --persist: permission bits of a new value (default 0600)"},
    {NULL, 0, NULL, NULL},
};

static int run_set(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    const char *arg = a->pos[1];
    const char *why = NULL;
    smem_opts opts;
    smem_value *v = NULL;
    cli_buf b = {NULL, 0};
    const void *data;
    size_t len, capacity = CLI_DEFAULT_CAPACITY;
    int rc, create = 0, from_stdin = strcmp(arg, "-") == 0;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (a->npos == 3) { /* set NAME KEY VALUE: a map's entry */
        static const char *const value_only[] = {"persist", "capacity", "mode"};
        int k;
        if ((rc = cli_check_key(cmd, a->pos[1])) != CLI_OK)
            return rc;
        for (k = SET_PERSIST; k <= SET_MODE; k++)
            if (a->seen[k])
                return cli_usage(cmd,
                                 "option '--%s' is for values only; set never creates a map "
                                 "(make one with `sharedmem map`)",
                                 value_only[k]);
        return cli_map_set(cmd, name, a->pos[1], a->pos[2]);
    }
    memset(&opts, 0, sizeof opts);
    if (a->seen[SET_CAPACITY]) {
        if (!a->seen[SET_PERSIST])
            return cli_usage(cmd, "option '--capacity' needs '--persist'");
        if (cli_parse_capacity(a->value[SET_CAPACITY], &capacity, &why) != 0)
            return cli_usage(cmd, "invalid capacity '%s': %s", a->value[SET_CAPACITY], why);
    }
    if (a->seen[SET_MODE]) {
        if (!a->seen[SET_PERSIST])
            return cli_usage(cmd, "option '--mode' needs '--persist'");
        if (cli_parse_mode(a->value[SET_MODE], &opts.mode, &why) != 0)
            return cli_usage(cmd, "invalid mode '%s': %s", a->value[SET_MODE], why);
    }

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
    .args = "NAME [KEY] VALUE|- [--persist [--capacity SIZE] [--mode MODE]]",
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
        "map's value size, or a new key in a full map, is an error, and nothing is\n"
        "stored.  set never creates a map, so --persist, --capacity and --mode are\n"
        "errors with a KEY.",
    .opts = set_opts,
    .exit_status = "0  the value was stored\n"
                   "1  it was not: no such value (without --persist) or map, NAME is another\n"
                   "   kind of region (a map without KEY, a value with KEY), the value is\n"
                   "   larger than the capacity or value size, the map is full, ...\n"
                   "2  usage error (invalid NAME, KEY, SIZE or MODE; an option for values\n"
                   "   with a KEY)",
    .example = "sharedmem set greeting 'hello, world' --persist\n"
               "date | sharedmem set status -\n"
               "sharedmem set blob - --persist --capacity 1M < blob.bin\n"
               "sharedmem set settings colour blue",
    .windows = "A value lives only while some process has it open, even with --persist: a\n"
               "value that set creates is gone, with what set stored, when set exits (a\n"
               "note says so).  Start `sharedmem hold NAME` first; it creates the value.",
    .min_args = 2,
    .max_args = 3,
    .run = run_set,
    .numbers_are_args = 1,
};

/* ---------------------------------------------------------------------- */
/* watch                                                                  */

enum { WATCH_JSON, WATCH_FOLLOW };
static const cli_opt watch_opts[] = {
    {"json", 0, NULL, "print each value or change as a JSON object on one line"},
    {"follow", 'F', NULL, "when NAME is removed or made again, wait for it and go on"},
    {NULL, 0, NULL, NULL},
};

static void print_line(int json, const char *name, const unsigned char *p, size_t len,
                       uint64_t version)
{
    if (json) {
        print_json(name, p, len, version);
    } else {
        fwrite(p, 1, len, stdout);
        fputc('\n', stdout);
    }
}

/* Prints the value V (NAME) and each new one until a stop signal
 * (CLI_OK), an error (CLI_FAIL, reported) or until NAME no longer leads to
 * V (CLI_WATCH_GONE). */
static int watch_value(const cli_cmd *cmd, const char *name, int json, smem_value *v)
{
    cli_buf b = {NULL, 0};
    size_t len = 0;
    uint64_t seen = 0;
    int rc, status = CLI_OK;

    if (!json)
        cli_os_binary(stdout);
    rc = read_value(v, &b, &len, &seen);
    if (rc < 0) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }
    print_line(json, name, b.p, len, seen);
    for (;;) {
        uint64_t version = 0;
        if (fflush(stdout) != 0 || ferror(stdout)) {
            status = cli_fail_name(cmd, name, "error writing the output");
            break;
        }
        if (cli_os_stop_requested())
            break;
        rc = smem_value_wait(v, seen, CLI_WATCH_TICK_MS);
        if (rc == SMEM_ETIMEDOUT && smem_value_named(v) == 0) {
            status = CLI_WATCH_GONE;
            break;
        }
        if (rc == SMEM_ETIMEDOUT || rc == SMEM_EINTR)
            continue;
        if (rc < 0 || (rc = read_value(v, &b, &len, &version)) < 0) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        if (version == seen)
            continue;
        print_line(json, name, b.p, len, version);
        seen = version;
    }
    free(b.p);
    return status;
}

/* Opens NAME (a value, a map, or KEY of a map) and watches it: CLI_OK,
 * CLI_FAIL or CLI_WATCH_GONE, as watch_value. */
static int watch_once(const cli_cmd *cmd, const char *name, const char *key, int json)
{
    smem_value *v = NULL;
    smem_opts opts;
    int rc;

    if (key) /* watch NAME KEY: a map's entry */
        return cli_map_watch(cmd, name, key, json);
    /* Not read-only, although watch never writes: a read-only handle
     * cannot ask writers to wake it, so its waits poll every millisecond;
     * a writable one sleeps in the kernel until a set wakes it. */
    memset(&opts, 0, sizeof opts);
    opts.flags = SMEM_NOCREATE;
    rc = smem_value_open(name, 0, &opts, &v);
    if (rc == SMEM_EMISMATCH && cli_region_kind(name) == SMEM_KIND_MAP)
        return cli_map_watch(cmd, name, NULL, json); /* every change of the map */
    if (rc < 0)
        return cli_value_open_failed(cmd, name, rc, "KEY");
    rc = watch_value(cmd, name, json, v);
    smem_value_close(v);
    return rc;
}

/* --follow: waits until NAME exists and is ready; 0, or 1 if a stop
 * signal came first. */
static int wait_for_name(const char *name)
{
    smem_info info;
    while (!cli_os_stop_requested()) {
        if (smem_region_stat(name, &info) == 0 && info.state == SMEM_STATE_READY)
            return 0;
        cli_os_sleep_ms(CLI_WATCH_TICK_MS);
    }
    return 1;
}

static int run_watch(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    const char *key = a->npos == 2 ? a->pos[1] : NULL;
    int json = a->seen[WATCH_JSON] > 0, follow = a->seen[WATCH_FOLLOW] > 0;
    int rc, status = CLI_OK;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (key && (rc = cli_check_key(cmd, key)) != CLI_OK)
        return rc;
    /* Catch the stop signals first: one that arrives while the value is
     * being opened is held and ends the loop at once. */
    if (cli_os_stop_begin(NULL) != 0)
        return cli_failf(cmd, "cannot catch the stop signals");
    for (;;) {
        if (follow && wait_for_name(name) != 0)
            break; /* stopped while waiting */
        status = watch_once(cmd, name, key, json);
        if (status != CLI_WATCH_GONE)
            break;
        if (!follow) {
            status = cli_fail_name(cmd, name, "was removed, or now names a new region: "
                                              "stopped watching (--follow goes on with it)");
            break;
        }
        fprintf(stderr, "sharedmem: watch %s: removed, or made again: following the name\n",
                name);
    }
    cli_os_stop_end();
    return status;
}

const cli_cmd cli_cmd_watch = {
    .name = "watch",
    .args = "NAME [KEY] [--json] [--follow]",
    .summary = "print a value, a key or a map, and each change of it",
    .description =
        "Prints the current value of NAME, then each new value as soon as a set (in\n"
        "any process) changes it, each followed by a newline, until SIGINT (Ctrl-C),\n"
        "SIGTERM or SIGHUP; then exits 0.  The output is flushed after every value,\n"
        "so watch works in a pipe.  The first line is always the current value (an\n"
        "empty line for a value never set).  If the value changes several times\n"
        "between two wake-ups, only the latest is printed: every line is a value\n"
        "that NAME held, but not every value is a line.\n"
        "\n"
        "A value containing a newline spans several lines; with --json, each value\n"
        "is one JSON object on one line, as printed by `get --json`, with its\n"
        "version.  NAME must exist; watch keeps it open (as `hold` does), so it\n"
        "stays alive while watched.  If NAME is removed (`sharedmem rm`), or removed\n"
        "and made again, watch notices within 0.2 s, says so on stderr and exits 1.\n"
        "With --follow it says so and goes on: it waits for NAME to exist again and\n"
        "prints its current value (or keys) as the first lines of the new one; with\n"
        "--follow, a NAME that does not exist yet is waited for too.\n"
        "\n"
        "watch NAME KEY, of a map NAME: prints the value of KEY, then each new value\n"
        "of it, in the same way.  A KEY that is not in the map (yet, or any more)\n"
        "shows as an empty line; with --json, as {\"name\":NAME,\"key\":KEY,\n"
        "\"length\":0,\"version\":0,\"value\":null}, and otherwise as `get NAME KEY\n"
        "--json` prints it.\n"
        "\n"
        "watch NAME, of a map NAME: prints one line \"set KEY<TAB>VALUE\" for each\n"
        "key in the map (sorted), then, at each change of the map, one line for each\n"
        "key that changed since the last lines: \"set KEY<TAB>VALUE\" for a key added\n"
        "or set (even to the same bytes), \"del KEY\" for a key deleted.  Keys and\n"
        "values are escaped as by `sharedmem dump`, so every change is one line.\n"
        "Changes close together are merged: a key set twice shows its last value\n"
        "once, and a key added and deleted in between may not show at all.  With\n"
        "--json, each line is {\"name\":NAME,\"map_version\":V,\"event\":\"set\" or\n"
        "\"del\",\"key\":KEY,\"length\":BYTES,\"version\":KV,\"value\":STRING or\n"
        "null}: V is the map's version when the change was seen, KV the key's\n"
        "(0, and the value null, for \"del\").",
    .opts = watch_opts,
    .exit_status = "0  stopped by a signal\n"
                   "1  no such value or map, NAME is another kind of region, it could not\n"
                   "   be read or the output written, or (without --follow) NAME was\n"
                   "   removed or made again\n"
                   "2  usage error (including an invalid NAME or KEY)",
    .example = "sharedmem watch status\n"
               "sharedmem watch status --json | while read -r line; do ...; done\n"
               "sharedmem watch settings colour\n"
               "sharedmem watch settings",
    .windows = "watch stops on Ctrl-C, Ctrl-Break or when its console closes.  While it\n"
               "has NAME open, `sharedmem rm NAME` fails with \"in use\".",
    .min_args = 1,
    .max_args = 2,
    .run = run_watch,
};
