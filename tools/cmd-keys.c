/*
 * cmd-keys.c — the commands a redis-cli user looks for: keys, del, exists,
 * type, mget, mset, getset and info, over the map helpers of cmd-map.c
 * (cli_map_open_existing, ...) and smem_region_stat.  Those on several
 * keys read or write each key on its own, atomically, never several in one
 * transaction: the library has none (a reader never waits for a writer).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------- */
/* Looking a name up (exists, type, info)                                 */

/* Checks NAME and fills *INFO: CLI_OK, or CLI_FAIL if NAME is absent or
 * stale (the library counts that as absent: the next open re-creates it),
 * said only if REPORT_ABSENT, or if it cannot be used (damaged...). */
static int look_up(const cli_cmd *cmd, const char *name, smem_info *info, int report_absent)
{
    int rc = cli_check_name(cmd, name); /* CLI_USAGE for a bad one */
    if (rc != CLI_OK)
        return rc;
    memset(info, 0, sizeof *info);
    rc = smem_region_stat(name, info);
    if (rc == SMEM_ENOENT || (rc == 0 && info->state == SMEM_STATE_STALE))
        return report_absent ? cli_fail(cmd, name, SMEM_ENOENT) : CLI_FAIL;
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    if (info->state != SMEM_STATE_BAD)
        return CLI_OK;
    rc = info->error ? info->error : SMEM_EBADREGION;
    if (rc == SMEM_EBADREGION || rc == SMEM_EVERSION)
        return cli_fail_name(cmd, name, "%s: remove it with `sharedmem rm %s`",
                             smem_strerror(rc), name);
    return cli_fail(cmd, name, rc);
}

/* Checks NAME (a->pos[0]) and the keys a->pos[1], a->pos[1 + STEP], ...
 * Reports a bad one as a usage error: CLI_OK or CLI_USAGE. */
static int check_args(const cli_cmd *cmd, const cli_args *a, int step)
{
    int i, rc = cli_check_name(cmd, a->pos[0]);
    for (i = 1; i < a->npos && rc == CLI_OK; i += step)
        rc = cli_check_key(cmd, a->pos[i]);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* keys                                                                   */

enum { KEYS_JSON, KEYS_NULL, KEYS_STALE };
static const cli_opt keys_opts[] = {
    {"json", 0, NULL, "print a JSON array of strings"},
    {"null", '0', NULL, "print each key as it is, followed by a NUL byte"},
    {"stale", 0, NULL, "also the expired keys not reclaimed yet (dump --stale marks them)"},
    {NULL, 0, NULL, NULL},
};

/* The keys of a map that match a pattern (values are not copied). */
typedef struct key_list {
    char (*v)[SMEM_MAP_KEY_MAX + 1];
    size_t n, cap;
    const char *pattern; /* NULL: every key */
    int nomem;
} key_list;

static int take_key(const smem_map_entry *e, void *arg)
{
    key_list *l = arg;
    const char *key = e->key;
    size_t klen = strlen(key);

    /* A key too long (the library promises it never is): skip rather than cut. */
    if (klen > SMEM_MAP_KEY_MAX || (l->pattern && !cli_glob_match(l->pattern, key)))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *v = realloc(l->v, cap * sizeof *l->v);
        if (!v) {
            l->nomem = 1;
            return 1; /* stop */
        }
        l->v = v;
        l->cap = cap;
    }
    memcpy(l->v[l->n++], key, klen + 1);
    return 0;
}

/* strcmp compares as unsigned char: byte order. */
static int by_bytes(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void print_keys(const key_list *l, int json, int null)
{
    size_t i;
    if (json)
        fputc('[', stdout);
    else if (null)
        cli_os_binary(stdout);
    for (i = 0; i < l->n; i++) {
        const char *k = l->v[i];
        if (json) {
            fputs(i ? "," : "", stdout);
            cli_json_string(stdout, k);
        } else if (null) {
            fwrite(k, 1, strlen(k) + 1, stdout);
        } else {
            cli_text_bytes(stdout, k, strlen(k));
            fputc('\n', stdout);
        }
    }
    if (json)
        fputs("]\n", stdout);
}

static int run_keys(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    key_list l;
    smem_map *m = NULL;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (a->seen[KEYS_JSON] && a->seen[KEYS_NULL])
        return cli_usage(cmd, "options '--json' and '--null' exclude each other");
    if ((rc = cli_map_open_existing(cmd, name, SMEM_RDONLY, NULL, &m)) != CLI_OK)
        return rc;
    memset(&l, 0, sizeof l);
    l.pattern = a->npos == 2 ? a->pos[1] : NULL;
    rc = smem_map_walk(m, a->seen[KEYS_STALE] ? SMEM_WALK_STALE : 0, take_key, &l);
    smem_map_close(m);
    if (l.nomem)
        rc = SMEM_ENOMEM;
    if (rc >= 0) {
        if (l.n > 1)
            qsort(l.v, l.n, sizeof *l.v, by_bytes);
        print_keys(&l, a->seen[KEYS_JSON] > 0, a->seen[KEYS_NULL] > 0);
    }
    free(l.v);
    return rc < 0 ? cli_fail(cmd, name, rc) : CLI_OK;
}

const cli_cmd cli_cmd_keys = {
    .name = "keys",
    .args = "NAME [PATTERN] [--json | --null] [--stale]",
    .summary = "list the keys of a map (those that match a glob PATTERN)",
    .description =
        "Prints the keys of the map NAME, one per line, sorted in byte order; with\n"
        "PATTERN, only those it matches, as fnmatch(3) with no flags matches: \"*\"\n"
        "any bytes (\"/\" and \".\" too: 'user:*' matches user:1/a.b), \"?\" one byte,\n"
        "\"[abc]\", \"[a-z]\" or \"[!a]\" (or \"[^a]\") one byte of (or not of) a set,\n"
        "and \"\\\" before a byte takes it literally ('a\\*' matches only a*).  Quote\n"
        "PATTERN, so that the shell does not expand it.  No key, or none that\n"
        "matches, prints nothing (\"[]\" with --json) and is not a failure.\n"
        "\n"
        "So that every line is one key, keys are escaped as by `dump`: \\\\, \\t, \\n,\n"
        "\\r, and \\xXX for other control characters and bytes that are not UTF-8.\n"
        "With --null, prints each key exactly as it is, followed by a NUL byte\n"
        "(for `xargs -0`); with --json, a JSON array of strings on one line.\n"
        "Expired keys are not listed; with --stale, those whose record a writer has\n"
        "not reclaimed yet are, unmarked (`dump --stale` tells them apart).\n"
        "\n"
        "NAME is opened read-only and never created.  The keys are read one by one\n"
        "while others may change the map: a key present all along is listed; one\n"
        "added or deleted meanwhile may or may not be.",
    .opts = keys_opts,
    .exit_status = "0  the keys were printed (none, if none matched)\n"
                   "1  no such map, NAME is not a map, or it could not be read\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem keys config\n"
               "sharedmem keys sessions 'user:*'\n"
               "sharedmem keys config --null | xargs -0 -n1 sharedmem get config",
    .min_args = 1,
    .max_args = 2,
    .run = run_keys,
};

/* ---------------------------------------------------------------------- */
/* del                                                                    */

static int run_del(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_map *m = NULL;
    int i, rc, status = CLI_OK;

    if ((rc = check_args(cmd, a, 1)) != CLI_OK)
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, NULL, &m)) != CLI_OK)
        return rc;
    for (i = 1; i < a->npos; i++) { /* an absent key does not stop the others */
        rc = smem_map_del(m, a->pos[i]);
        if (rc == SMEM_ENOENT)
            status = cli_map_no_key(cmd, name, a->pos[i]);
        else if (rc < 0)
            status = cli_map_change_failed(cmd, name, m, a->pos[i], rc);
    }
    smem_map_close(m);
    return status;
}

const cli_cmd cli_cmd_del = {
    .name = "del",
    .args = "NAME KEY...",
    .summary = "delete keys of a map",
    .description =
        "Deletes each KEY of the map NAME, in the order given, each on its own:\n"
        "not one transaction (a reader may see some gone and not the others yet).\n"
        "Prints nothing (no count, unlike redis).  A KEY that is not there is\n"
        "reported on stderr (\"no key 'KEY'\", a line each), the others are still\n"
        "deleted, and the exit status is 1.  All keys are checked (1 to 64 bytes)\n"
        "before anything is deleted.  Put \"--\" before a KEY that begins with \"-\".",
    .exit_status = "0  every KEY was there and was deleted\n"
                   "1  no such map, NAME is not a map, or at least one KEY was not there\n"
                   "   (the others were deleted)\n"
                   "2  usage error (invalid NAME or KEY)",
    .example = "sharedmem del config colour size",
    .min_args = 2,
    .max_args = -1,
    .run = run_del,
};

/* ---------------------------------------------------------------------- */
/* exists                                                                 */

/* exists NAME KEY, NAME found: CLI_OK if the map has KEY, else CLI_FAIL,
 * silent if KEY or the map is absent. */
static int key_exists(const cli_cmd *cmd, const char *name, const char *key)
{
    smem_map *m = NULL;
    smem_opts opts;
    int rc;

    memset(&opts, 0, sizeof opts);
    opts.flags = SMEM_RDONLY;
    rc = smem_map_open(name, 0, 0, &opts, &m);
    if (rc == SMEM_ENOENT) /* removed since it was looked at */
        return CLI_FAIL;
    /* Not a map, or unusable: opening it again says why (cmd-map.c). */
    if (rc < 0 && cli_map_open_existing(cmd, name, SMEM_RDONLY, NULL, &m) != CLI_OK)
        return CLI_FAIL;
    /* No buffer: SMEM_E2BIG says that there is a value, too long for it. */
    rc = smem_map_get(m, key, NULL, 0, NULL, NULL);
    smem_map_close(m);
    if (rc == 0 || rc == SMEM_E2BIG || rc == SMEM_ENOENT)
        return rc == SMEM_ENOENT ? CLI_FAIL : CLI_OK;
    return cli_fail(cmd, name, rc);
}

static int run_exists(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_info info;
    int rc;

    if ((rc = check_args(cmd, a, 1)) != CLI_OK)
        return rc;
    if ((rc = look_up(cmd, name, &info, 0)) != CLI_OK)
        return rc; /* silent if absent */
    return a->npos == 2 ? key_exists(cmd, name, a->pos[1]) : CLI_OK;
}

const cli_cmd cli_cmd_exists = {
    .name = "exists",
    .args = "NAME [KEY]",
    .summary = "tell by the exit status whether a region (or a key of a map) exists",
    .description =
        "Exits 0 if the region NAME exists, of any kind (with KEY: if the map NAME\n"
        "has KEY), and 1 if not, printing nothing.  A stale region (its users all\n"
        "died; the next open re-creates it) counts as absent.\n"
        "\n"
        "An error also exits 1, but says why on stderr, one line naming NAME: it is\n"
        "damaged, another user's file, a symbolic link, or (with KEY) not a map.\n"
        "So absent is the only silent 1: after `err=$(sharedmem exists NAME 2>&1)`,\n"
        "exit status 1 and an empty $err mean absent.",
    .exit_status = "0  it exists\n"
                   "1  it does not (nothing printed), or an error (a message on stderr)\n"
                   "2  usage error (including an invalid NAME or KEY)",
    .example = "sharedmem exists jobs && echo there\n"
               "sharedmem exists sessions alice || sharedmem set sessions alice new",
    .min_args = 1,
    .max_args = 2,
    .run = run_exists,
};

/* ---------------------------------------------------------------------- */
/* type                                                                   */

enum { TYPE_JSON };
static const cli_opt type_opts[] = {
    {"json", 0, NULL, "print {\"name\":NAME,\"type\":KIND}"},
    {NULL, 0, NULL, NULL},
};

static int run_type(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_info info;
    int rc;

    if ((rc = look_up(cmd, name, &info, 1)) != CLI_OK)
        return rc;
    if (a->seen[TYPE_JSON]) {
        fputs("{\"name\":", stdout);
        cli_json_string(stdout, name);
        fprintf(stdout, ",\"type\":\"%s\"}\n", cli_kind_name(info.kind));
    } else {
        printf("%s\n", cli_kind_name(info.kind));
    }
    return CLI_OK;
}

const cli_cmd cli_cmd_type = {
    .name = "type",
    .args = "NAME [--json]",
    .summary = "print the kind of a region: region, value or map",
    .description = "Prints the kind of the region NAME, one word on a line: region (raw\n"
                   "bytes), value or map.  With --json, {\"name\":NAME,\"type\":KIND}.\n"
                   "A stale region counts as absent, as for `exists`.",
    .opts = type_opts,
    .exit_status = "0  the kind was printed\n"
                   "1  no such region, or it is not usable (damaged, another user's)\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem type sessions",
    .min_args = 1,
    .max_args = 1,
    .run = run_type,
};

/* ---------------------------------------------------------------------- */
/* mget                                                                   */

enum { MGET_JSON };
static const cli_opt mget_opts[] = {
    {"json", 0, NULL, "print one JSON object: each KEY and its value, or null"},
    {NULL, 0, NULL, NULL},
};

/* Prints KEY's line, or its member of the object, of mget's output (VAL
 * NULL: KEY is absent). */
static void print_mget(int json, int first, const char *key, const void *val, size_t len)
{
    if (!json) {
        if (val)
            cli_text_bytes(stdout, val, len);
        fputc('\n', stdout);
        return;
    }
    fputs(first ? "{" : ",", stdout);
    cli_json_string(stdout, key);
    fputc(':', stdout);
    if (val)
        cli_json_bytes(stdout, val, len);
    else
        fputs("null", stdout);
}

static int run_mget(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    int json = a->seen[MGET_JSON] > 0;
    smem_map *m = NULL;
    cli_buf b = {NULL, 0};
    char *absent; /* absent[i]: a->pos[i] was not there */
    int i, rc = 0;

    if ((rc = check_args(cmd, a, 1)) != CLI_OK)
        return rc;
    if (!(absent = calloc((size_t)a->npos, 1)))
        return cli_fail(cmd, name, SMEM_ENOMEM);
    if ((rc = cli_map_open_reader(cmd, name, NULL, &m)) != CLI_OK) {
        free(absent);
        return rc;
    }
    for (i = 1; i < a->npos; i++) {
        size_t len = 0;
        uint64_t version = 0;
        rc = cli_map_read(m, a->pos[i], &b, &len, &version);
        if (rc < 0 && rc != SMEM_ENOENT)
            break; /* the rest of the output would lie: stop */
        absent[i] = rc == SMEM_ENOENT;
        print_mget(json, i == 1, a->pos[i], absent[i] ? NULL : b.p, len);
    }
    smem_map_close(m);
    free(b.p);
    if (json && i > 1)
        fputs("}\n", stdout);
    if (i < a->npos) {
        free(absent);
        return cli_fail(cmd, name, rc);
    }
    /* The absent keys are said after the output, which stays whole. */
    for (i = 1, rc = CLI_OK; i < a->npos; i++)
        if (absent[i])
            rc = cli_map_no_key(cmd, name, a->pos[i]);
    free(absent);
    return rc;
}

const cli_cmd cli_cmd_mget = {
    .name = "mget",
    .args = "NAME KEY... [--json]",
    .summary = "print the values of several keys of a map",
    .description =
        "Prints the value of each KEY of the map NAME, one line each, in the order\n"
        "given, escaped as by `dump` so that each value is one line.  A KEY that is\n"
        "not in the map prints an empty line (line N is always the Nth KEY), the\n"
        "others are still printed, and then the exit status is 1 and stderr says\n"
        "\"no key 'KEY'\" for each.  With --json, one object on one line, each KEY\n"
        "with its value (escaped as by `get --json`) or null: {\"K\":\"v\",\"K2\":null}\n"
        "(the same exit status).  Each key is read on its own, whole, as by `get`\n"
        "(an expired one is absent): the values are not one snapshot of the map.",
    .opts = mget_opts,
    .exit_status = "0  every KEY was there and its value was printed\n"
                   "1  at least one KEY was not there (an empty line, or null), no such\n"
                   "   map, NAME is not a map, or it could not be read\n"
                   "2  usage error (including an invalid NAME or KEY)",
    .example = "sharedmem mget sessions alice bob\n"
               "sharedmem mget sessions alice bob --json",
    .min_args = 2,
    .max_args = -1,
    .run = run_mget,
};

/* ---------------------------------------------------------------------- */
/* mset                                                                   */

enum { MSET_TTL };
static const cli_opt mset_opts[] = {
    {"ttl", 0, "DURATION", "every KEY expires after DURATION (500ms, 30s, 5m, 2h)"},
    {NULL, 0, NULL, NULL},
};

static int run_mset(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_map *m = NULL;
    char shown[CLI_KEY_SHOWN];
    size_t len;
    smem_put how = {0, 0};
    int i, rc, status = CLI_OK;

    if (a->npos % 2 == 0)
        return cli_usage(cmd, "KEY '%s' has no VALUE: give KEY VALUE pairs",
                         cli_text_quote(shown, sizeof shown, a->pos[a->npos - 1]));
    if ((rc = check_args(cmd, a, 2)) != CLI_OK)
        return rc;
    if ((rc = cli_parse_ttl(cmd, a, MSET_TTL, &how.ttl_ms)) != CLI_OK)
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, NULL, &m)) != CLI_OK)
        return rc;
    for (i = 2; i < a->npos && status == CLI_OK; i += 2) /* one too long sets nothing */
        if ((len = strlen(a->pos[i])) > smem_map_max_value(m))
            status = cli_fail_name(cmd, name,
                                   "the value of '%s' (%llu bytes) is larger than the map's "
                                   "value size (%llu bytes); nothing was stored",
                                   cli_text_quote(shown, sizeof shown, a->pos[i - 1]),
                                   (unsigned long long)len,
                                   (unsigned long long)smem_map_max_value(m));
    for (i = 1; i < a->npos && status == CLI_OK; i += 2) {
        rc = smem_map_put(m, a->pos[i], a->pos[i + 1], strlen(a->pos[i + 1]), &how, NULL);
        if (rc < 0) /* the map is full: those before stay set */
            status = cli_map_change_failed(cmd, name, m, a->pos[i], rc);
    }
    smem_map_close(m);
    return status;
}

const cli_cmd cli_cmd_mset = {
    .name = "mset",
    .args = "NAME KEY VALUE [KEY VALUE]... [--ttl DURATION]",
    .summary = "set several keys of a map",
    .description =
        "Sets each KEY of the map NAME to its VALUE, in the order given, and prints\n"
        "nothing.  Each key is set atomically on its own, but the pairs are not one\n"
        "transaction: a reader may see some set and not the others yet.  Every KEY\n"
        "and VALUE is checked first (a VALUE longer than the map's value size sets\n"
        "nothing); if a set fails then (the map is full), the pairs before it stay\n"
        "set and those after it are not tried.  A KEY given twice takes its last\n"
        "VALUE.  An odd number of words after NAME is a usage error.  With --ttl,\n"
        "every KEY expires DURATION after its set, as with `set --ttl`.",
    .opts = mset_opts,
    .exit_status = "0  every pair was set\n"
                   "1  no such map, NAME is not a map, a VALUE is too long (nothing set),\n"
                   "   or a set failed (it says which; those before it stay set)\n"
                   "2  usage error (including an odd number of words after NAME, or an\n"
                   "   invalid DURATION)",
    .example = "sharedmem mset config colour blue size 12\n"
               "sharedmem mset sessions alice on bob on --ttl 30m",
    .min_args = 3,
    .max_args = -1,
    .run = run_mset,
};

/* ---------------------------------------------------------------------- */
/* getset                                                                 */

/* Stores VAL (LEN bytes) as KEY of M, the value it replaced into B (*had 0
 * if none): a compare-and-set on the version just read, retried whenever
 * another writer got in between.  0 or a negative code. */
static int swap_value(smem_map *m, const char *key, const void *val, size_t len, cli_buf *b,
                      size_t *old_len, int *had)
{
    for (;;) {
        uint64_t version = 0;
        int rc = cli_map_read(m, key, b, old_len, &version);
        if (rc < 0 && rc != SMEM_ENOENT)
            return rc;
        *had = rc == 0;
        /* add fails with EEXIST if KEY was added since we looked, cas with
         * ECHANGED (or ENOENT) if it was changed or deleted: look again. */
        rc = *had ? smem_map_cas(m, key, version, val, len) : smem_map_add(m, key, val, len);
        if (rc != SMEM_EEXIST && rc != SMEM_ECHANGED && rc != SMEM_ENOENT)
            return rc;
    }
}

static int run_getset(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0], *key = a->pos[1];
    smem_map *m = NULL;
    cli_buf in = {NULL, 0}, old = {NULL, 0};
    const void *data;
    size_t len = 0, old_len = 0;
    int rc, had = 0;

    if ((rc = check_args(cmd, a, 2)) != CLI_OK) /* NAME and KEY, not VALUE */
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, NULL, &m)) != CLI_OK)
        return rc;
    rc = cli_value_input(cmd, name, a->pos[2], strcmp(a->pos[2], "-") == 0,
                         smem_map_max_value(m), "the map's value size", &in, &data, &len);
    if (rc == CLI_OK) {
        rc = swap_value(m, key, data, len, &old, &old_len, &had);
        if (rc < 0)
            rc = cli_map_change_failed(cmd, name, m, key, rc);
        else if (had)
            cli_write_value(old.p, old_len);
    }
    smem_map_close(m);
    free(in.p);
    free(old.p);
    return rc < 0 ? CLI_FAIL : rc;
}

const cli_cmd cli_cmd_getset = {
    .name = "getset",
    .args = "NAME KEY VALUE|-",
    .summary = "store a key's new value and print the one it replaced",
    .description =
        "Stores VALUE (\"-\": standard input) as KEY of the map NAME and prints the\n"
        "value it replaced, as `get` prints one (a newline added on a terminal\n"
        "only), in one atomic step: no other change of KEY falls between the value\n"
        "printed and the one stored (a compare-and-set, retried while others\n"
        "change KEY).  A KEY that was not there is added, nothing is printed and\n"
        "the exit status is 0, as redis does; `exists NAME KEY` tells beforehand.",
    .exit_status = "0  VALUE was stored (and the old value printed, if KEY was there)\n"
                   "1  no such map, NAME is not a map, VALUE is too long, or the map is\n"
                   "   full (nothing was stored)\n"
                   "2  usage error (including an invalid NAME or KEY)",
    .example = "old=$(sharedmem getset config colour red)",
    .min_args = 3,
    .max_args = 3,
    .run = run_getset,
};

/* ---------------------------------------------------------------------- */
/* info                                                                   */

enum { INFO_JSON };
static const cli_opt info_opts[] = {
    {"json", 0, NULL, "print the figures as one JSON object"},
    {NULL, 0, NULL, NULL},
};

/* VERSION: -1 if it has none; EVICTING: -1 if unknown, or not a map;
 * CREATED: "" if unknown. */
static void print_info_text(const smem_info *i, int64_t version, int evicting,
                            const char *created)
{
    char human[32];
    printf("kind:       %s\n", cli_kind_name(i->kind));
    if (i->kind == SMEM_KIND_MAP)
        printf("entries:    %llu of %llu\nvalue size: %llu\n", (unsigned long long)i->entries,
               (unsigned long long)i->capacity, (unsigned long long)i->max_value);
    else if (i->kind == SMEM_KIND_VALUE)
        printf("value size: %llu\n", (unsigned long long)i->capacity);
    else
        printf("size:       %llu\n", (unsigned long long)i->size);
    cli_format_size_short(i->memory, human, sizeof human);
    printf("memory:     %s (%llu bytes)\n", human, (unsigned long long)i->memory);
    if (i->users >= 0)
        printf("users:      %d\n", i->users);
    else /* the system does not count them: only whether there are any */
        printf("users:      %s\n", i->in_use ? "some" : "0");
    printf("persistent: %s\n", i->persistent ? "yes" : "no");
    if (evicting >= 0)
        printf("evicting:   %s\n", evicting ? "yes" : "no");
    if (version >= 0)
        printf("version:    %lld\n", (long long)version);
    if (created[0])
        printf("created:    %s\n", created);
}

/* ,"KEY":N or ,"KEY":null if !HAS. */
static void json_num(const char *key, int has, unsigned long long n)
{
    if (has)
        printf(",\"%s\":%llu", key, n);
    else
        printf(",\"%s\":null", key);
}

static void print_info_json(const smem_info *i, int64_t version, int evicting,
                            const char *created)
{
    int map = i->kind == SMEM_KIND_MAP;
    fputs("{\"name\":", stdout);
    cli_json_string(stdout, i->name);
    printf(",\"kind\":\"%s\"", cli_kind_name(i->kind));
    json_num("entries", map, i->entries);
    json_num("max_entries", map, i->capacity);
    json_num("value_size", map || i->kind == SMEM_KIND_VALUE, map ? i->max_value : i->capacity);
    json_num("size", 1, i->size);
    json_num("memory", 1, i->memory);
    json_num("users", i->users >= 0, (unsigned long long)i->users);
    printf(",\"persistent\":%s", i->persistent ? "true" : "false");
    printf(",\"evicting\":%s", evicting < 0 ? "null" : evicting ? "true" : "false");
    json_num("version", version >= 0, (unsigned long long)version);
    fputs(",\"created\":", stdout);
    if (created[0])
        cli_json_string(stdout, created);
    else
        fputs("null", stdout);
    fputs("}\n", stdout);
}

static int run_info(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_info info;
    char created[32]; /* ISO 8601 in UTC */
    const struct tm *tm;
    time_t t;
    int64_t version;
    int rc, evicting;

    if ((rc = look_up(cmd, name, &info, 1)) != CLI_OK)
        return rc;
    t = (time_t)info.created; /* gmtime's static result: the tool has one thread */
    if (!(tm = info.created > 0 ? gmtime(&t) : NULL) ||
        !strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", tm))
        created[0] = '\0'; /* unknown */
    cli_live_figures(name, info.kind, &version, &evicting);
    if (a->seen[INFO_JSON])
        print_info_json(&info, version, evicting, created);
    else
        print_info_text(&info, version, evicting, created);
    return CLI_OK;
}

const cli_cmd cli_cmd_info = {
    .name = "info",
    .args = "NAME [--json]",
    .summary = "the figures of a region: kind, entries, value size, memory, users...",
    .description =
        "Prints the figures a user asks first about the region NAME, one per line:\n"
        "  kind:       region, value or map\n"
        "  entries:    (maps) the keys in use \"of\" the most it holds: \"3 of 100\"\n"
        "  value size: (maps) the largest value of a key; (values) the capacity\n"
        "  size:       (raw regions) its usable bytes\n"
        "  memory:     what it takes, header and tail included: \"4.1K (4224 bytes)\"\n"
        "  users:      how many opens (in all processes) have it\n"
        "  persistent: yes (kept without users) or no\n"
        "  evicting:   (maps) yes if it evicts when full (`map --evict`), or no\n"
        "  version:    (values, maps) the number of its last change\n"
        "  created:    when it was made, in UTC (ISO 8601), if recorded\n"
        "`stat` shows the rest (state, owner, mode, layout).\n"
        "\n"
        "With --json, one object on one line: name, kind, entries, max_entries,\n"
        "value_size, size, memory (numbers: bytes), users, persistent, evicting,\n"
        "version and created (a string); a figure that a kind does not have is null,\n"
        "as are users if the system does not count them and created if not recorded.",
    .opts = info_opts,
    .exit_status = "0  the figures were printed\n"
                   "1  no such region (a stale one counts as absent), or it is not\n"
                   "   usable (damaged, another user's)\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem info sessions\n"
               "sharedmem info sessions --json",
    .min_args = 1,
    .max_args = 1,
    .run = run_info,
};
