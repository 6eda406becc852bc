/*
 * cmd-map.c — the map commands of `sharedmem`: map, incr, dump, and the
 * map forms of get, set and watch (`get NAME KEY`, `set NAME KEY VALUE`,
 * `watch NAME [KEY]`), which cmd-value.c hands over to this file.  The
 * commands on several keys (keys, del, mget, ...) are in cmd-keys.c.
 *
 * A map is a region that holds up to max_entries keys (1 to 64 bytes, any
 * but NUL), each with a value of up to max_value bytes and a version;
 * every change takes the next number of the map-wide version
 * (smem_map_open and friends in sharedmem.h).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* How many bytes of a key a message shows at most (escaped). */
#define KEY_SHOWN (4 * SMEM_MAP_KEY_MAX + 8)

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                         */

enum smem_kind cli_region_kind(const char *name)
{
    smem_info info;
    memset(&info, 0, sizeof info);
    if (smem_region_stat(name, &info) < 0)
        return SMEM_KIND_UNKNOWN;
    return info.kind;
}

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
static int open_map(const cli_cmd *cmd, const char *name, unsigned flags,
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

/* "no key 'KEY'" */
static int no_key(const cli_cmd *cmd, const char *name, const char *key)
{
    char shown[KEY_SHOWN];
    return cli_fail_name(cmd, name, "no key '%s'", cli_text_quote(shown, sizeof shown, key));
}

/* {"name":NAME,"key":KEY,"length":N,"version":V,"value":"..."} (the
 * value null and the length 0 if P is NULL: an absent key), and a
 * newline. */
static void print_entry_json(const char *name, const char *key, const unsigned char *p,
                             size_t len, uint64_t version)
{
    fputs("{\"name\":", stdout);
    cli_json_string(stdout, name);
    fputs(",\"key\":", stdout);
    cli_json_string(stdout, key);
    fprintf(stdout, ",\"length\":%llu,\"version\":%llu,\"value\":", (unsigned long long)len,
            (unsigned long long)version);
    if (p)
        cli_json_bytes(stdout, p, len);
    else
        fputs("null", stdout);
    fputs("}\n", stdout);
}

/* Reads KEY into B (which holds max_value bytes): 0 with *len and
 * *version, SMEM_ENOENT if absent, or another negative code. */
static int read_entry(smem_map *m, const char *key, cli_buf *b, size_t *len, uint64_t *version)
{
    int rc = cli_buf_reserve(b, smem_map_max_value(m));
    if (rc < 0)
        return rc;
    *len = 0;
    *version = 0;
    rc = smem_map_get(m, key, b->p, b->cap, len, version);
    return rc < 0 ? rc : 0;
}

/* A copy of the entries of a map, sorted by key (byte order). */
typedef struct entry {
    char key[SMEM_MAP_KEY_MAX + 1];
    uint64_t version;
    size_t len;
    unsigned char *val; /* malloc'd (NULL if len is 0) */
} entry;

typedef struct snapshot {
    entry *v;
    size_t n, cap;
    int nomem;
} snapshot;

static void snapshot_free(snapshot *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        free(s->v[i].val);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int take_entry(const char *key, const void *val, size_t len, uint64_t version, void *arg)
{
    snapshot *s = arg;
    entry *e;
    size_t klen = strlen(key);

    if (klen > SMEM_MAP_KEY_MAX)
        return 0; /* the library promises it never is: skip rather than cut */
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        entry *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->nomem = 1;
            return 1; /* stop */
        }
        s->v = v;
        s->cap = cap;
    }
    e = &s->v[s->n];
    memcpy(e->key, key, klen + 1);
    e->version = version;
    e->len = len;
    e->val = NULL;
    if (len > 0) {
        if (!(e->val = malloc(len))) {
            s->nomem = 1;
            return 1;
        }
        memcpy(e->val, val, len);
    }
    s->n++;
    return 0;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

/* Copies every entry of M into *S, sorted by key.  0 or a negative code. */
static int take_snapshot(smem_map *m, snapshot *s)
{
    int rc;
    memset(s, 0, sizeof *s);
    rc = smem_map_foreach(m, take_entry, s);
    if (s->nomem)
        rc = SMEM_ENOMEM;
    if (rc < 0) {
        snapshot_free(s);
        return rc;
    }
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, by_key);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* map                                                                    */

enum { MAP_ENTRIES, MAP_VALUE_SIZE, MAP_PERSIST, MAP_MODE };
static const cli_opt map_opts[] = {
    {"entries", 'n', "N", "the most keys it holds: 1 to 1073741824 (required)"},
    {"value-size", 's', "SIZE", "the largest value of a key: 0 to 1M (required)"},
    {"persist", 'p', NULL, "keep it after its last user is gone, until `rm`"},
    {"mode", 'm', "MODE", "permission bits in octal, e.g. 0640 (default 0600)"},
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

    /* Not SMEM_EXCL: a map that exists with the same figures is fine. */
    rc = smem_map_open(name, entries, value_size, &opts, &m);
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
    .args = "NAME --entries N --value-size SIZE [--persist] [--mode MODE]",
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
        "NAME --entries N --value-size SIZE`, which creates it if needed.",
    .opts = map_opts,
    .exit_status = "0  the map was created, or exists with the same figures\n"
                   "1  it could not be created (other figures, another kind, no space left,\n"
                   "   larger than a region can be)\n"
                   "2  usage error (invalid NAME, N, SIZE or MODE; a missing option)",
    .example = "sharedmem map counters --entries 1000 --value-size 32 --persist\n"
               "sharedmem map config --entries 64 --value-size 4K --persist --mode 0640",
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
    int rc;

    if ((rc = open_map(cmd, name, SMEM_RDONLY, "", &m)) != CLI_OK)
        return rc;
    rc = read_entry(m, key, &b, &len, &version);
    smem_map_close(m);
    if (rc == SMEM_ENOENT) {
        free(b.p);
        return no_key(cmd, name, key);
    }
    if (rc < 0) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }
    if (json)
        print_entry_json(name, key, b.p, len, version);
    else
        cli_write_value(b.p, len);
    free(b.p);
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* set NAME KEY VALUE|-                                                   */

/* Reports the failure ERR of changing KEY of the map M (NAME). */
static int change_failed(const cli_cmd *cmd, const char *name, smem_map *m, const char *key,
                         int err)
{
    char shown[KEY_SHOWN];
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

int cli_map_set(const cli_cmd *cmd, const char *name, const char *key, const char *arg)
{
    smem_map *m = NULL;
    cli_buf b = {NULL, 0};
    const void *data;
    size_t len;
    int rc;

    if ((rc = open_map(cmd, name, SMEM_NOCREATE, "VALUE", &m)) != CLI_OK)
        return rc;
    rc = cli_value_input(cmd, name, arg, strcmp(arg, "-") == 0, smem_map_max_value(m),
                         "the map's value size", &b, &data, &len);
    if (rc != CLI_OK) {
        smem_map_close(m);
        return rc;
    }
    rc = smem_map_set(m, key, data, len);
    if (rc < 0)
        rc = change_failed(cmd, name, m, key, rc);
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

static int run_incr(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0], *key = a->pos[1];
    const char *why = NULL;
    char shown[KEY_SHOWN];
    smem_map *m = NULL;
    int64_t delta = 1, result = 0;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = cli_check_key(cmd, key)) != CLI_OK)
        return rc;
    if (a->npos == 3 && parse_delta(a->pos[2], &delta, &why) != 0)
        return cli_usage(cmd, "invalid delta '%s': %s", a->pos[2], why);
    if ((rc = open_map(cmd, name, SMEM_NOCREATE, NULL, &m)) != CLI_OK)
        return rc;
    rc = smem_map_incr(m, key, delta, &result);
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
        rc = change_failed(cmd, name, m, key, rc);
    }
    smem_map_close(m);
    return rc;
}

const cli_cmd cli_cmd_incr = {
    .name = "incr",
    .args = "NAME KEY [DELTA]",
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
        "value size, incr fails and changes nothing.",
    .exit_status = "0  the counter was changed and its new value printed\n"
                   "1  no such map, NAME is not a map, the value is not a number, the sum is\n"
                   "   out of range or too long, or the map is full\n"
                   "2  usage error (invalid NAME, KEY or DELTA)",
    .example = "sharedmem incr counters requests\n"
               "sharedmem incr counters free-slots -1",
    .min_args = 2,
    .max_args = 3,
    .run = run_incr,
    .numbers_are_args = 1,
};

/* ---------------------------------------------------------------------- */
/* dump                                                                   */

enum { DUMP_JSON };
static const cli_opt dump_opts[] = {
    {"json", 0, NULL, "print one JSON object with every entry"},
    {NULL, 0, NULL, NULL},
};

static void print_entry_text(const entry *e)
{
    cli_text_bytes(stdout, e->key, strlen(e->key));
    fputc('\t', stdout);
    cli_text_bytes(stdout, e->val, e->len);
    fputc('\n', stdout);
}

static void print_entry_fields(const entry *e)
{
    fputs("\"key\":", stdout);
    cli_json_string(stdout, e->key);
    fprintf(stdout, ",\"length\":%llu,\"version\":%llu,\"value\":", (unsigned long long)e->len,
            (unsigned long long)e->version);
    cli_json_bytes(stdout, e->val, e->len);
}

static int run_dump(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_map *m = NULL;
    snapshot s;
    uint64_t version;
    size_t i, max_entries, max_value;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (cli_region_kind(name) == SMEM_KIND_REGION) /* no entries: its bytes */
        return cli_region_bytes(cmd, name, a->seen[DUMP_JSON] ? CLI_BYTES_JSON : CLI_BYTES_HEX);
    if ((rc = open_map(cmd, name, SMEM_RDONLY, NULL, &m)) != CLI_OK)
        return rc;
    version = smem_map_version(m); /* before the walk: it sees this or later */
    max_entries = smem_map_max_entries(m);
    max_value = smem_map_max_value(m);
    rc = take_snapshot(m, &s);
    smem_map_close(m);
    if (rc < 0)
        return cli_fail(cmd, name, rc);

    if (a->seen[DUMP_JSON]) {
        fputs("{\"name\":", stdout);
        cli_json_string(stdout, name);
        fprintf(stdout,
                ",\"version\":%llu,\"max_entries\":%llu,\"max_value\":%llu,\"count\":%llu,"
                "\"entries\":[",
                (unsigned long long)version, (unsigned long long)max_entries,
                (unsigned long long)max_value, (unsigned long long)s.n);
        for (i = 0; i < s.n; i++) {
            fputs(i ? ",\n{" : "\n{", stdout);
            print_entry_fields(&s.v[i]);
            fputc('}', stdout);
        }
        fputs(s.n ? "\n]}\n" : "]}\n", stdout);
    } else {
        for (i = 0; i < s.n; i++)
            print_entry_text(&s.v[i]);
    }
    snapshot_free(&s);
    return CLI_OK;
}

const cli_cmd cli_cmd_dump = {
    .name = "dump",
    .args = "NAME [--json]",
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
        "the others are each key's.\n"
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

/* ---------------------------------------------------------------------- */
/* watch NAME KEY, watch NAME (of a map)                                  */

/* Flushes the output; reports a write error. */
static int flush_out(const cli_cmd *cmd, const char *name)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail_name(cmd, name, "error writing the output");
    return CLI_OK;
}

/* One value of KEY: the bytes and a newline (an absent key: an empty
 * line), or a JSON object. */
static void print_watched(int json, const char *name, const char *key, const unsigned char *p,
                          size_t len, uint64_t version)
{
    if (json) {
        print_entry_json(name, key, p, len, version);
    } else {
        if (p)
            fwrite(p, 1, len, stdout);
        fputc('\n', stdout);
    }
}

static int watch_key(const cli_cmd *cmd, const char *name, const char *key, int json,
                     smem_map *m)
{
    cli_buf b = {NULL, 0};
    size_t len = 0;
    uint64_t seen = 0, version = 0;
    int rc, status = CLI_OK;

    if (!json)
        cli_os_binary(stdout);
    rc = read_entry(m, key, &b, &len, &seen);
    if (rc < 0 && rc != SMEM_ENOENT) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }
    print_watched(json, name, key, rc == 0 ? b.p : NULL, len, seen);

    for (;;) {
        if ((status = flush_out(cmd, name)) != CLI_OK)
            break;
        if (cli_os_stop_requested())
            break;
        rc = smem_map_wait(m, key, seen, CLI_WATCH_TICK_MS);
        if (rc == SMEM_ETIMEDOUT && smem_map_named(m) == 0) {
            status = CLI_WATCH_GONE;
            break;
        }
        if (rc == SMEM_ETIMEDOUT || rc == SMEM_EINTR)
            continue;
        if (rc < 0) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        rc = read_entry(m, key, &b, &len, &version);
        if (rc < 0 && rc != SMEM_ENOENT) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        if (version == seen)
            continue;
        print_watched(json, name, key, rc == 0 ? b.p : NULL, len, version);
        seen = version;
    }
    free(b.p);
    return status;
}

/* One change of the map: "set KEY<TAB>VALUE" or "del KEY" (E NULL: KEY
 * deleted), or a JSON object. */
static void print_change(int json, const char *name, uint64_t map_version, const char *key,
                         const entry *e)
{
    if (json) {
        fputs("{\"name\":", stdout);
        cli_json_string(stdout, name);
        fprintf(stdout, ",\"map_version\":%llu,\"event\":\"%s\",", (unsigned long long)map_version,
                e ? "set" : "del");
        if (e) {
            print_entry_fields(e);
        } else {
            fputs("\"key\":", stdout);
            cli_json_string(stdout, key);
            fputs(",\"length\":0,\"version\":0,\"value\":null", stdout);
        }
        fputs("}\n", stdout);
    } else if (e) {
        fputs("set ", stdout);
        print_entry_text(e);
    } else {
        fputs("del ", stdout);
        cli_text_bytes(stdout, key, strlen(key));
        fputc('\n', stdout);
    }
}

/* Prints what changed from OLD to NEW (both sorted by key). */
static void print_diff(int json, const char *name, uint64_t map_version, const snapshot *old,
                       const snapshot *new)
{
    size_t i = 0, j = 0;
    while (i < old->n || j < new->n) {
        int c = i == old->n ? 1 : j == new->n ? -1 : strcmp(old->v[i].key, new->v[j].key);
        if (c < 0) { /* gone */
            print_change(json, name, map_version, old->v[i].key, NULL);
            i++;
        } else if (c > 0) { /* new */
            print_change(json, name, map_version, new->v[j].key, &new->v[j]);
            j++;
        } else {
            if (old->v[i].version != new->v[j].version)
                print_change(json, name, map_version, new->v[j].key, &new->v[j]);
            i++;
            j++;
        }
    }
}

static int watch_map(const cli_cmd *cmd, const char *name, int json, smem_map *m)
{
    snapshot old, cur;
    uint64_t seen;
    int rc, status = CLI_OK;

    memset(&old, 0, sizeof old); /* empty: the first snapshot is all new */
    seen = smem_map_version(m);
    if ((rc = take_snapshot(m, &cur)) < 0)
        return cli_fail(cmd, name, rc);
    print_diff(json, name, seen, &old, &cur);
    old = cur;

    for (;;) {
        uint64_t version;
        if ((status = flush_out(cmd, name)) != CLI_OK)
            break;
        if (cli_os_stop_requested())
            break;
        rc = smem_map_wait(m, NULL, seen, CLI_WATCH_TICK_MS);
        if (rc == SMEM_ETIMEDOUT && smem_map_named(m) == 0) {
            status = CLI_WATCH_GONE;
            break;
        }
        if (rc == SMEM_ETIMEDOUT || rc == SMEM_EINTR)
            continue;
        if (rc < 0) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        version = smem_map_version(m); /* before the walk, as in dump */
        if (version == seen)
            continue;
        if ((rc = take_snapshot(m, &cur)) < 0) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        print_diff(json, name, version, &old, &cur);
        snapshot_free(&old);
        old = cur;
        seen = version;
    }
    snapshot_free(&old);
    return status;
}

int cli_map_watch(const cli_cmd *cmd, const char *name, const char *key, int json)
{
    smem_map *m = NULL;
    int rc;

    /* Not read-only, although watch never writes: a read-only handle
     * cannot ask writers to wake it (see cmd-value.c). */
    if ((rc = open_map(cmd, name, SMEM_NOCREATE, "", &m)) != CLI_OK)
        return rc;
    rc = key ? watch_key(cmd, name, key, json, m) : watch_map(cmd, name, json, m);
    smem_map_close(m);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* For the other commands on maps (cmd-keys.c)                            */

int cli_map_open_existing(const cli_cmd *cmd, const char *name, unsigned flags, smem_map **m)
{
    return open_map(cmd, name, flags, NULL, m);
}

int cli_map_read(smem_map *m, const char *key, cli_buf *b, size_t *len, uint64_t *version)
{
    return read_entry(m, key, b, len, version);
}

int cli_map_change_failed(const cli_cmd *cmd, const char *name, smem_map *m, const char *key,
                          int err)
{
    return change_failed(cmd, name, m, key, err);
}

int cli_map_no_key(const cli_cmd *cmd, const char *name, const char *key)
{
    return no_key(cmd, name, key);
}
