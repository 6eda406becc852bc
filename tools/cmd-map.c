/*
 * cmd-map.c — the map commands of `sharedmem`: map, incr, dump, and the
 * map forms of get and set (`get NAME KEY`, `set NAME KEY VALUE`), which
 * cmd-value.c hands over to this file; also opening a map and the messages
 * of a failure on one, for the other files.  The commands on several keys
 * (keys, del, mget, ...) are in cmd-keys.c, the map forms of watch in
 * cmd-watch.c; how an entry is read and shown is in value-io.c.
 *
 * A map is a region that holds up to max_entries keys (1 to 64 bytes, any
 * but NUL), each with a value of up to max_value bytes and a version;
 * every change takes the next number of the map-wide version
 * (smem_map_open and friends in sharedmem.h).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                         */

int cli_value_open_failed(const cli_cmd *cmd, const char *name, int err, const char *map_args)
{
    if (err == SMEM_EMISMATCH) {
        switch (cli_region_kind(name)) {
        case SMEM_KIND_MAP:
            return cli_fail_name(cmd, name,
                                 "is a map, not a value: name a key (sharedmem %s %s %s)",
                                 cmd->name, name, map_args);
        case SMEM_KIND_REGION:
            return cli_raw_region(cmd, name);
        default:
            break;
        }
    }
    return cli_fail(cmd, name, err);
}

int cli_raw_region(const cli_cmd *cmd, const char *name)
{
    return cli_fail_name(cmd, name,
                         "is a raw region (bytes with no value or map in them): `sharedmem "
                         "get %s --raw` or `sharedmem dump %s` show its bytes; get, set and "
                         "watch work on values and maps",
                         name, name);
}

/* Reports the failure ERR of opening NAME as a map.  VALUE_ARGS: what the
 * command line of CMD is for a value ("" for `watch NAME`), or NULL if
 * CMD has no form for values. */
static int map_open_failed(const cli_cmd *cmd, const char *name, int err,
                           const char *value_args)
{
    if (err == SMEM_ENOENT)
        return cli_fail_name(cmd, name,
                             "no such map (create it with `sharedmem map %s --entries N "
                             "--value-size SIZE --persist`, or keep it alive with `sharedmem "
                             "hold %s --entries N --value-size SIZE`)",
                             name, name);
    if (err == SMEM_EMISMATCH) {
        switch (cli_region_kind(name)) {
        case SMEM_KIND_VALUE:
            if (value_args)
                return cli_fail_name(cmd, name, "is a value, not a map: it has no keys "
                                                "(sharedmem %s %s%s%s)",
                                     cmd->name, name, value_args[0] ? " " : "", value_args);
            return cli_fail_name(cmd, name, "is a value, not a map");
        case SMEM_KIND_REGION:
            return cli_raw_region(cmd, name);
        default:
            break;
        }
    }
    return cli_fail(cmd, name, err);
}

/* Opens the existing map NAME with FLAGS (SMEM_RDONLY or SMEM_NOCREATE:
 * never creates it); reports a failure (VALUE_ARGS as for
 * map_open_failed). */
int cli_map_open_existing(const cli_cmd *cmd, const char *name, unsigned flags,
                          const char *value_args, smem_map **m)
{
    smem_opts opts;
    int rc;

    memset(&opts, 0, sizeof opts);
    opts.flags = flags;
    rc = smem_map_open(name, 0, 0, &opts, m);
    if (rc < 0)
        return map_open_failed(cmd, name, rc, value_args);
    return CLI_OK;
}

int cli_map_open_reader(const cli_cmd *cmd, const char *name, const char *value_args,
                        smem_map **m)
{
    smem_opts opts;
    int rc;

    memset(&opts, 0, sizeof opts);
    opts.flags = SMEM_NOCREATE;
    rc = smem_map_open(name, 0, 0, &opts, m);
    if (rc == SMEM_EACCES || rc == SMEM_EPERM || rc == SMEM_EROFS)
        return cli_map_open_existing(cmd, name, SMEM_RDONLY, value_args, m);
    if (rc < 0)
        return map_open_failed(cmd, name, rc, value_args);
    return CLI_OK;
}

/* "no key 'KEY'" */
int cli_map_no_key(const cli_cmd *cmd, const char *name, const char *key)
{
    char shown[CLI_KEY_SHOWN];
    return cli_fail_name(cmd, name, "no key '%s'", cli_text_quote(shown, sizeof shown, key));
}

/* ---------------------------------------------------------------------- */
/* map                                                                    */

enum { MAP_ENTRIES, MAP_VALUE_SIZE, MAP_PERSIST, MAP_MODE, MAP_EVICT };
static const cli_opt map_opts[] = {
    {"entries", 'n', "N", "the most keys it holds: 1 to 1073741824 (required)"},
    {"value-size", 's', "SIZE", "the largest value of a key: 0 to 1M (required)"},
    {"persist", 'p', NULL, "keep it after its last user is gone, until `rm`"},
    {"mode", 'm', "MODE", "permission bits in octal, e.g. 0640 (default 0600)"},
    {"evict", 0, NULL, "a cache: when it is full, a new key evicts an old one"},
    {NULL, 0, NULL, NULL},
};

/* Parses the number of entries of a map: decimal, 1 to
 * SMEM_MAP_ENTRIES_MAX.  0, or -1 with *why set. */
static int parse_entries(const char *s, size_t *out, const char **why)
{
    uint64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9') {
        *why = *p == '-' ? "negative" : "not a number";
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > (uint64_t)SMEM_MAP_ENTRIES_MAX) {
            *why = "more than the most entries a map can have (1073741824)";
            return -1;
        }
    }
    if (*p != '\0') {
        *why = "not a whole number of entries";
        return -1;
    }
    if (v == 0) {
        *why = "a map holds at least 1 entry";
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* Parses the value size of a map: 0, or a size (see cli_parse_size) of at
 * most SMEM_MAP_VALUE_MAX.  0, or -1 with *why set. */
static int parse_value_size(const char *s, size_t *out, const char **why)
{
    size_t v;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (cli_parse_size(s, &v, why) != 0)
        return -1;
    if (v > SMEM_MAP_VALUE_MAX) {
        *why = "larger than the largest value of a map entry (1M)";
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_map_figures(const cli_cmd *cmd, const cli_args *a, int ie, int iv, size_t *entries,
                          size_t *value_size, int *given)
{
    const char *why = NULL;
    *given = 0;
    if (a->seen[ie] && !a->seen[iv])
        return cli_usage(cmd, "option '--entries' needs '--value-size'");
    if (a->seen[iv] && !a->seen[ie])
        return cli_usage(cmd, "option '--value-size' needs '--entries'");
    if (!a->seen[ie])
        return CLI_OK;
    if (parse_entries(a->value[ie], entries, &why) != 0)
        return cli_usage(cmd, "invalid number of entries '%s': %s", a->value[ie], why);
    if (parse_value_size(a->value[iv], value_size, &why) != 0)
        return cli_usage(cmd, "invalid value size '%s': %s", a->value[iv], why);
    *given = 1;
    return CLI_OK;
}

int cli_map_create_failed(const cli_cmd *cmd, const char *name, int err, size_t entries,
                          size_t value_size)
{
    smem_info info;

    if (err == SMEM_E2BIG)
        return cli_fail_name(cmd, name,
                             "a map of %llu entries of %llu bytes would be larger than the "
                             "largest region (1T)",
                             (unsigned long long)entries, (unsigned long long)value_size);
    if (err != SMEM_EMISMATCH)
        return cli_fail(cmd, name, err);
    memset(&info, 0, sizeof info);
    if (smem_region_stat(name, &info) == 0 && info.kind == SMEM_KIND_MAP &&
        info.state == SMEM_STATE_READY)
        return cli_fail_name(cmd, name,
                             "exists with other figures: %llu entries of %llu bytes (use "
                             "those, or remove it first with `sharedmem rm %s`)",
                             (unsigned long long)info.capacity,
                             (unsigned long long)info.max_value, name);
    if (info.kind == SMEM_KIND_VALUE)
        return cli_fail_name(cmd, name, "exists, and is a value, not a map");
    if (info.kind == SMEM_KIND_REGION)
        return cli_fail_name(cmd, name, "exists, and is a raw region, not a map");
    return cli_fail(cmd, name, err);
}

static int run_map(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    const char *why = NULL;
    smem_opts opts;
    smem_map *m = NULL;
    size_t entries = 0, value_size = 0;
    int rc, given, created;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = cli_parse_map_figures(cmd, a, MAP_ENTRIES, MAP_VALUE_SIZE, &entries, &value_size,
                                    &given)) != CLI_OK)
        return rc;
    if (!given)
        return cli_usage(cmd, "options '--entries' and '--value-size' are required");
    memset(&opts, 0, sizeof opts);
    if (a->seen[MAP_MODE] && cli_parse_mode(a->value[MAP_MODE], &opts.mode, &why) != 0)
        return cli_usage(cmd, "invalid mode '%s': %s", a->value[MAP_MODE], why);
    if (a->seen[MAP_PERSIST])
        opts.flags |= SMEM_PERSIST;
    if (a->seen[MAP_EVICT])
        opts.flags |= SMEM_EVICT;

    /* Not SMEM_EXCL: a map that exists with the same figures is fine. */
    rc = smem_map_open(name, entries, value_size, &opts, &m);
    if (rc == SMEM_EMISMATCH && a->seen[MAP_EVICT]) { /* the figures, or eviction? */
        smem_opts plain;
        memset(&plain, 0, sizeof plain);
        plain.flags = SMEM_RDONLY;
        if (smem_map_open(name, entries, value_size, &plain, &m) == 0) {
            smem_map_close(m);
            return cli_fail_name(cmd, name,
                                 "exists with these figures, but does not evict (it was made "
                                 "without --evict; remove it first with `sharedmem rm %s`)",
                                 name);
        }
    }
    if (rc < 0)
        return cli_map_create_failed(cmd, name, rc, entries, value_size);
    created = smem_map_created(m);
    smem_map_close(m);

    if (!created)
        fprintf(stderr,
                "sharedmem: note: %s already exists, a map of these figures; it was left as "
                "it is (its mode and lifetime too)\n",
                name);
    else if (!a->seen[MAP_PERSIST])
        fprintf(stderr,
                "sharedmem: note: %s is not persistent and was removed when this command "
                "exited; use --persist or `sharedmem hold`\n",
                name);
    else if (cli_region_gone(name))
        fprintf(stderr,
                "sharedmem: note: %s was removed when this command exited: here a map lives "
                "only while a process has it open, even with --persist; keep it with "
                "`sharedmem hold %s --entries %s --value-size %s`\n",
                name, name, a->value[MAP_ENTRIES], a->value[MAP_VALUE_SIZE]);
    return CLI_OK;
}

const cli_cmd cli_cmd_map = {
    .name = "map",
    .args = "NAME --entries N --value-size SIZE [--persist] [--mode MODE] [--evict]",
    .summary = "create a map: many keys with their values",
    .description =
        "Creates the map NAME: a region that holds up to N keys, each with a value of\n"
        "up to SIZE bytes, set, read, deleted and watched one key at a time with\n"
        "`sharedmem set NAME KEY VALUE`, `get NAME KEY`, `del`, `incr`, `keys`,\n"
        "`dump` and `watch`.  Keys have 1 to 64 bytes.  N is a whole number from 1\n"
        "to 1073741824; SIZE is a size (suffixes K, M, ...) from 0 (keys without\n"
        "values) to 1M.  Both are fixed for the life of the map.\n"
        "\n"
        "If NAME already exists as a map of the same figures, map leaves it as it is\n"
        "and says so in a note (its mode and lifetime do not change); if it exists\n"
        "with other figures, or as another kind of region, map fails and says what\n"
        "it is.\n"
        "\n"
        "A map lives while some process has it open.  Without --persist, the new map\n"
        "is removed as soon as this command exits (a note says so), which only checks\n"
        "that it can be created; use --persist, or keep it open with `sharedmem hold\n"
        "NAME --entries N --value-size SIZE`, which creates it if needed.\n"
        "\n"
        "With --evict the map is a cache: a new key in a full map first takes the\n"
        "room of an expired entry (see `set --ttl`), and if there is none, evicts a\n"
        "live one, not read since eviction last looked at it (CLOCK, a second chance\n"
        "for each entry that `get` read), instead of failing with \"the map is full\".\n"
        "`stats NAME` counts the evictions.  Whether a map evicts is fixed when it is\n"
        "made: --evict for an existing map that does not evict is an error.",
    .opts = map_opts,
    .exit_status = "0  the map was created, or exists with the same figures\n"
                   "1  it could not be created (other figures, another kind, no space left,\n"
                   "   larger than a region can be, it exists and --evict was given but it\n"
                   "   does not evict)\n"
                   "2  usage error (invalid NAME, N, SIZE or MODE; a missing option)",
    .example = "sharedmem map counters --entries 1000 --value-size 32 --persist\n"
               "sharedmem map config --entries 64 --value-size 4K --persist --mode 0640\n"
               "sharedmem map pages --entries 10000 --value-size 64K --persist --evict",
    .windows = "A map lives only while some process has it open, even with --persist: the\n"
               "map that this command makes is gone when it exits, and a note says so.\n"
               "Keep it with `sharedmem hold NAME --entries N --value-size SIZE` instead.\n"
               "The mode is recorded, not applied: only you can open the map.",
    .min_args = 1,
    .max_args = 1,
    .run = run_map,
};

/* ---------------------------------------------------------------------- */
/* get NAME KEY                                                           */

int cli_map_get(const cli_cmd *cmd, const char *name, const char *key, int json)
{
    smem_map *m = NULL;
    cli_buf b = {NULL, 0};
    size_t len = 0;
    uint64_t version = 0;
    char shown[CLI_KEY_SHOWN];
    int rc, expired = 0;

    if ((rc = cli_map_open_reader(cmd, name, "", &m)) != CLI_OK)
        return rc;
    rc = cli_map_read_live(m, key, &b, &len, &version, &expired);
    smem_map_close(m);
    if (rc == SMEM_ENOENT) {
        free(b.p);
        if (!expired)
            return cli_map_no_key(cmd, name, key);
        return cli_fail_name(cmd, name, "no key '%s' (it expired)",
                             cli_text_quote(shown, sizeof shown, key));
    }
    if (rc < 0) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }
    cli_entry e = {name, key, b.p, len, version, 0, 0};
    cli_entry_print(&e, json ? CLI_ENTRY_JSON : CLI_ENTRY_EXACT);
    free(b.p);
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* set NAME KEY VALUE|-                                                   */

/* Reports the failure ERR of changing KEY of the map M (NAME). */
int cli_map_change_failed(const cli_cmd *cmd, const char *name, smem_map *m, const char *key,
                          int err)
{
    char shown[CLI_KEY_SHOWN];
    cli_text_quote(shown, sizeof shown, key);
    switch (err) {
    case SMEM_EFULL:
        return cli_fail_name(cmd, name,
                             "the map is full (%llu entries): no room for the new key '%s'; "
                             "nothing was stored",
                             (unsigned long long)smem_map_max_entries(m), shown);
    case SMEM_EBADF:
        return cli_fail_name(cmd, name, "cannot write to this map (read-only)");
    default:
        return cli_fail(cmd, name, err);
    }
}

int cli_map_set(const cli_cmd *cmd, const char *name, const char *key, const char *arg,
                uint64_t ttl_ms)
{
    smem_map *m = NULL;
    cli_buf b = {NULL, 0};
    const void *data;
    size_t len;
    smem_put how = {ttl_ms, 0};
    int rc;

    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, "VALUE", &m)) != CLI_OK)
        return rc;
    rc = cli_value_input(cmd, name, arg, strcmp(arg, "-") == 0, smem_map_max_value(m),
                         "the map's value size", &b, &data, &len);
    if (rc != CLI_OK) {
        smem_map_close(m);
        return rc;
    }
    rc = smem_map_put(m, key, data, len, &how, NULL); /* with ttl_ms 0, smem_map_set */
    if (rc < 0)
        rc = cli_map_change_failed(cmd, name, m, key, rc);
    else
        rc = CLI_OK;
    smem_map_close(m);
    free(b.p);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* incr                                                                   */

/* Parses a signed 64-bit decimal integer with an optional sign.  0, or -1
 * with *why set. */
static int parse_delta(const char *s, int64_t *out, const char **why)
{
    const char *p = s;
    int neg = 0;
    uint64_t v = 0, limit;

    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (*p < '0' || *p > '9') {
        *why = "not a whole number";
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10) {
            *why = "out of the range of a signed 64-bit integer";
            return -1;
        }
        v = v * 10 + d;
    }
    if (*p != '\0') {
        *why = "not a whole number";
        return -1;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}

enum { INCR_TTL };
static const cli_opt incr_opts[] = {
    {"ttl", 0, "DURATION", "a new counter expires after DURATION (30s, 5m...); an existing one "
                           "keeps its expiry"},
    {NULL, 0, NULL, NULL},
};

static int run_incr(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0], *key = a->pos[1];
    const char *why = NULL;
    char shown[CLI_KEY_SHOWN];
    smem_map *m = NULL;
    int64_t delta = 1, result = 0;
    uint64_t ttl_ms = 0;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = cli_check_key(cmd, key)) != CLI_OK)
        return rc;
    if (a->npos == 3 && parse_delta(a->pos[2], &delta, &why) != 0)
        return cli_usage(cmd, "invalid delta '%s': %s", a->pos[2], why);
    if ((rc = cli_parse_ttl(cmd, a, INCR_TTL, &ttl_ms)) != CLI_OK)
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, NULL, &m)) != CLI_OK)
        return rc;
    rc = smem_map_incr_ex(m, key, delta, 0, ttl_ms, &result);
    cli_text_quote(shown, sizeof shown, key);
    switch (rc) {
    case 0:
        printf("%lld\n", (long long)result);
        rc = CLI_OK;
        break;
    case SMEM_EINVAL:
        rc = cli_fail_name(cmd, name,
                           "the value of '%s' is not a whole number (the decimal text of a "
                           "signed 64-bit integer, such as -12); nothing was changed",
                           shown);
        break;
    case SMEM_ERANGE:
        rc = cli_fail_name(cmd, name,
                           "'%s' plus %lld is out of the range of a signed 64-bit integer; "
                           "nothing was changed",
                           shown, (long long)delta);
        break;
    case SMEM_E2BIG:
        rc = cli_fail_name(cmd, name,
                           "the new value of '%s' is longer than the map's value size (%llu "
                           "bytes); nothing was changed",
                           shown, (unsigned long long)smem_map_max_value(m));
        break;
    default:
        rc = cli_map_change_failed(cmd, name, m, key, rc);
    }
    smem_map_close(m);
    return rc;
}

const cli_cmd cli_cmd_incr = {
    .name = "incr",
    .args = "NAME KEY [DELTA] [--ttl DURATION]",
    .summary = "add to a counter in a map and print the result",
    .description =
        "Adds DELTA (default 1; a whole number, possibly negative: incr NAME KEY -5)\n"
        "to the counter KEY of the map NAME, and prints the new value and a newline.\n"
        "A counter is a value that is the decimal text of a signed 64-bit integer,\n"
        "such as \"42\" or \"-12\"; a missing KEY counts as 0 and is added.  The\n"
        "addition is atomic: any number of processes may incr the same KEY at once,\n"
        "and none of their additions is lost.\n"
        "\n"
        "If the value of KEY is not such a number, or the sum is out of range (beyond\n"
        "-9223372036854775808 ... 9223372036854775807), or longer than the map's\n"
        "value size, incr fails and changes nothing.\n"
        "\n"
        "With --ttl, a KEY that incr adds (a missing or expired one, counted from 0)\n"
        "expires DURATION later (units ms, s, m, h: 500ms, 30s, 5m, 2h); a KEY that\n"
        "is there keeps its expiry, or its lack of one: a counter for a window of\n"
        "time (`incr NAME hits-10h05 --ttl 1h`).  Without it, a new KEY never\n"
        "expires.",
    .opts = incr_opts,
    .exit_status = "0  the counter was changed and its new value printed\n"
                   "1  no such map, NAME is not a map, the value is not a number, the sum is\n"
                   "   out of range or too long, or the map is full\n"
                   "2  usage error (invalid NAME, KEY, DELTA or DURATION)",
    .example = "sharedmem incr counters requests\n"
               "sharedmem incr counters free-slots -1\n"
               "sharedmem incr limits login:alice --ttl 1m",
    .min_args = 2,
    .max_args = 3,
    .run = run_incr,
    .numbers_are_args = 1,
};

/* ---------------------------------------------------------------------- */
/* dump                                                                   */

enum { DUMP_JSON, DUMP_STALE };
static const cli_opt dump_opts[] = {
    {"json", 0, NULL, "print one JSON object with every entry"},
    {"stale", 0, NULL, "also the expired entries not reclaimed yet, marked"},
    {NULL, 0, NULL, NULL},
};

/* The JSON of dump: the map's figures, then every entry, each on a line
 * of its own. */
static void print_dump_json(const char *name, uint64_t version, size_t max_entries,
                            size_t max_value, const cli_snapshot *s)
{
    size_t i;

    fputs("{\"name\":", stdout);
    cli_json_string(stdout, name);
    fprintf(stdout,
            ",\"version\":%llu,\"max_entries\":%llu,\"max_value\":%llu,\"count\":%llu,"
            "\"entries\":[",
            (unsigned long long)version, (unsigned long long)max_entries,
            (unsigned long long)max_value, (unsigned long long)s->n);
    for (i = 0; i < s->n; i++) {
        fputs(i ? ",\n{" : "\n{", stdout);
        cli_entry_members(&s->v[i]);
        fputc('}', stdout);
    }
    fputs(s->n ? "\n]}\n" : "]}\n", stdout);
}

static int run_dump(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_map *m = NULL;
    cli_snapshot s;
    uint64_t version;
    size_t i, max_entries, max_value;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (cli_region_kind(name) == SMEM_KIND_REGION) /* no entries: its bytes */
        return cli_region_bytes(cmd, name, a->seen[DUMP_JSON] ? CLI_BYTES_JSON : CLI_BYTES_HEX);
    if ((rc = cli_map_open_existing(cmd, name, SMEM_RDONLY, NULL, &m)) != CLI_OK)
        return rc;
    version = smem_map_version(m); /* before the walk: it sees this or later */
    max_entries = smem_map_max_entries(m);
    max_value = smem_map_max_value(m);
    rc = cli_map_snapshot(m, CLI_SNAP_TTL | (a->seen[DUMP_STALE] ? CLI_SNAP_STALE : 0), &s);
    smem_map_close(m);
    if (rc < 0)
        return cli_fail(cmd, name, rc);

    if (a->seen[DUMP_JSON]) {
        print_dump_json(name, version, max_entries, max_value, &s);
    } else {
        for (i = 0; i < s.n; i++)
            cli_entry_print(&s.v[i], CLI_ENTRY_TEXT);
    }
    cli_snapshot_free(&s);
    return CLI_OK;
}

const cli_cmd cli_cmd_dump = {
    .name = "dump",
    .args = "NAME [--json] [--stale]",
    .summary = "print every key of a map with its value (a raw region: its bytes)",
    .description =
        "Prints the entries of the map NAME, sorted by key in byte order, one line\n"
        "each: the key, a tab, the value.  So that any bytes can be shown and every\n"
        "line is one entry, keys and values are written as text by this rule:\n"
        "well-formed UTF-8 and printable ASCII are copied as they are, except that a\n"
        "backslash is written \\\\; tab, newline and carriage return are \\t \\n \\r;\n"
        "every other byte (control characters, DEL, bytes that are not part of\n"
        "well-formed UTF-8) is \\xXX, XX being the byte in lowercase hexadecimal.\n"
        "The original bytes can always be recovered.  Use `get NAME KEY` for a\n"
        "value's exact bytes.  An empty map prints nothing.  A raw region has no\n"
        "entries: dump prints its bytes as a hex dump (16 a line: offset, hex,\n"
        "ASCII), or with --json {\"name\",\"kind\",\"size\",\"hex\"}.\n"
        "\n"
        "With --json, prints one JSON object: {\"name\":NAME,\"version\":V,\n"
        "\"max_entries\":N,\"max_value\":S,\"count\":C,\"entries\":[...]}, each entry\n"
        "on a line of its own: {\"key\":KEY,\"length\":BYTES,\"version\":V,\"value\":\n"
        "STRING}, keys and values escaped as by `get --json`.  The first version is\n"
        "the map's (every change takes the next number), read before the entries;\n"
        "the others are each key's.  An entry with a time to live (`set --ttl`) also\n"
        "has \"ttl_ms\":MS, the milliseconds it has left.\n"
        "\n"
        "An expired entry is not shown: it is gone for every command, though its\n"
        "record stays until a writer needs the room or writes its key.  With\n"
        "--stale, dump shows those records too: the line of one ends with a tab and\n"
        "\"(expired)\", and with --json its object has \"ttl_ms\":0,\"stale\":true\n"
        "(\"count\" counts them too).\n"
        "\n"
        "NAME is opened read-only and never created.  Each entry is read whole, but\n"
        "one by one while others may change the map: an entry present all along is\n"
        "shown, one added or deleted meanwhile may or may not be.",
    .opts = dump_opts,
    .exit_status = "0  the entries were printed\n"
                   "1  no such map, NAME is not a map, or it could not be read\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem dump config\n"
               "sharedmem dump config --json",
    .min_args = 1,
    .max_args = 1,
    .run = run_dump,
};
