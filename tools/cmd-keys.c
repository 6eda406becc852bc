/*
 * cmd-keys.c — the commands a redis-cli user looks for: exists, type,
 * mget, mset, getset and info.  They are built on the map commands of
 * cmd-map.c (cli_map_open_existing, cli_map_read, cli_map_change_failed)
 * and on smem_region_stat; each key is read or written on its own, never
 * several in one transaction.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------- */
/* exists                                                                 */

static int run_exists(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_info info;
    smem_map *m = NULL;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (a->npos == 2 && (rc = cli_check_key(cmd, a->pos[1])) != CLI_OK)
        return rc;
    rc = smem_region_stat(name, &info);
    if (rc == SMEM_ENOENT)
        return CLI_FAIL; /* absent: no words */
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    if (a->npos == 1)
        return CLI_OK;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_RDONLY, &m)) != CLI_OK)
        return rc;
    size_t len;
    uint64_t version;
    rc = smem_map_get(m, a->pos[1], NULL, 0, &len, &version);
    smem_map_close(m);
    if (rc == 0 || rc == SMEM_E2BIG)
        return CLI_OK;
    if (rc == SMEM_ENOENT)
        return CLI_FAIL;
    return cli_fail(cmd, name, rc);
}

const cli_cmd cli_cmd_exists = {
    .name = "exists",
    .args = "NAME [KEY]",
    .summary = "tell by the exit status whether a region (or a key of a map) exists",
    .description =
        "Exits 0 if the region NAME exists, of any kind (with KEY: if the map NAME\n"
        "has KEY), and 1 if not, printing nothing either way.  A NAME that cannot\n"
        "be looked at (another user's, damaged) or, with KEY, that is not a map,\n"
        "also exits 1, but says why on stderr: absent is the only silent 1.",
    .exit_status = "0  it exists\n"
                   "1  it does not (nothing printed), or it could not be told (a message)\n"
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

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = smem_region_stat(name, &info)) < 0)
        return cli_fail(cmd, name, rc);
    if (info.state == SMEM_STATE_BAD)
        return cli_fail(cmd, name, info.error ? info.error : SMEM_EBADREGION);
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
                   "bytes), value or map.",
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

static int run_mget(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    int json = a->seen[MGET_JSON] > 0;
    smem_map *m = NULL;
    cli_buf b = {NULL, 0};
    int i, rc, status = CLI_OK;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    for (i = 1; i < a->npos; i++)
        if ((rc = cli_check_key(cmd, a->pos[i])) != CLI_OK)
            return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_RDONLY, &m)) != CLI_OK)
        return rc;
    if (json)
        fputc('{', stdout);
    for (i = 1; i < a->npos && status == CLI_OK; i++) {
        size_t len = 0;
        uint64_t version = 0;
        rc = cli_map_read(m, a->pos[i], &b, &len, &version);
        if (rc < 0 && rc != SMEM_ENOENT) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        if (json) {
            if (i > 1)
                fputc(',', stdout);
            cli_json_string(stdout, a->pos[i]);
            fputc(':', stdout);
            if (rc == 0)
                cli_json_bytes(stdout, b.p, len);
            else
                fputs("null", stdout);
        } else {
            if (rc == 0)
                cli_text_bytes(stdout, b.p, len);
            fputc('\n', stdout);
        }
    }
    if (json && status == CLI_OK)
        fputs("}\n", stdout);
    smem_map_close(m);
    free(b.p);
    return status;
}

const cli_cmd cli_cmd_mget = {
    .name = "mget",
    .args = "NAME KEY... [--json]",
    .summary = "print the values of several keys of a map",
    .description =
        "Prints the value of each KEY of the map NAME, one line each, in the order\n"
        "given, escaped as by `dump` so that each value is one line.  A KEY that is\n"
        "not in the map prints an empty line, as an empty value does: use --json to\n"
        "tell them apart ({\"KEY\":\"value\",\"OTHER\":null}, values escaped as by\n"
        "`get --json`).  Each key is read on its own, whole: the values are not one\n"
        "snapshot of the map.",
    .opts = mget_opts,
    .exit_status = "0  the values were printed (absent keys included)\n"
                   "1  no such map, NAME is not a map, or it could not be read\n"
                   "2  usage error (including an invalid NAME or KEY)",
    .example = "sharedmem mget sessions alice bob\n"
               "sharedmem mget sessions alice bob --json",
    .min_args = 2,
    .max_args = -1,
    .run = run_mget,
};

/* ---------------------------------------------------------------------- */
/* mset                                                                   */

static int run_mset(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_map *m = NULL;
    int i, rc, status = CLI_OK;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if (a->npos % 2 == 0)
        return cli_usage(cmd, "KEY %s has no VALUE: give KEY VALUE pairs", a->pos[a->npos - 1]);
    for (i = 1; i < a->npos; i += 2)
        if ((rc = cli_check_key(cmd, a->pos[i])) != CLI_OK)
            return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, &m)) != CLI_OK)
        return rc;
    for (i = 1; i < a->npos && status == CLI_OK; i += 2) {
        rc = smem_map_set(m, a->pos[i], a->pos[i + 1], strlen(a->pos[i + 1]));
        if (rc < 0)
            status = cli_map_change_failed(cmd, name, m, a->pos[i], rc);
    }
    smem_map_close(m);
    return status;
}

const cli_cmd cli_cmd_mset = {
    .name = "mset",
    .args = "NAME KEY VALUE [KEY VALUE]...",
    .summary = "set several keys of a map",
    .description =
        "Sets each KEY of the map NAME to its VALUE, in the order given.  Each key\n"
        "is set atomically on its own, but the pairs are not one transaction: a\n"
        "reader may see some set and not the others yet, and if one fails (the map\n"
        "is full, a value too long) the ones before it stay set and the ones after\n"
        "are not tried.  All keys are checked before anything is set.",
    .exit_status = "0  every pair was set\n"
                   "1  no such map, NAME is not a map, or a set failed (it says which)\n"
                   "2  usage error (including an odd number of words after NAME)",
    .example = "sharedmem mset config colour blue size 12",
    .min_args = 3,
    .max_args = -1,
    .run = run_mset,
};

/* ---------------------------------------------------------------------- */
/* getset                                                                 */

/* Stores VAL as KEY of M; the value it replaced into B (*had 0 if none). */
static int swap_value(smem_map *m, const char *key, const char *val, cli_buf *b, size_t *len,
                      int *had)
{
    for (;;) {
        uint64_t version = 0;
        int rc = cli_map_read(m, key, b, len, &version);
        if (rc == SMEM_ENOENT) {
            *had = 0;
            rc = smem_map_add(m, key, val, strlen(val));
            if (rc != SMEM_EEXIST) /* added since we looked: look again */
                return rc;
        } else if (rc < 0) {
            return rc;
        } else {
            *had = 1;
            rc = smem_map_cas(m, key, version, val, strlen(val));
            if (rc != SMEM_ECHANGED && rc != SMEM_ENOENT) /* changed since: again */
                return rc;
        }
    }
}

static int run_getset(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0], *key = a->pos[1];
    smem_map *m = NULL;
    cli_buf b = {NULL, 0};
    size_t len = 0;
    int rc, had = 0, status = CLI_OK;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK || (rc = cli_check_key(cmd, key)) != CLI_OK)
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, &m)) != CLI_OK)
        return rc;
    rc = swap_value(m, key, a->pos[2], &b, &len, &had);
    if (rc < 0)
        status = cli_map_change_failed(cmd, name, m, key, rc);
    else if (had)
        cli_write_value(b.p, len);
    smem_map_close(m);
    free(b.p);
    return status;
}

const cli_cmd cli_cmd_getset = {
    .name = "getset",
    .args = "NAME KEY VALUE",
    .summary = "store a key's new value and print the one it replaced",
    .description =
        "Stores VALUE as KEY of the map NAME and prints the value it replaced, as\n"
        "`get` prints one (a newline added on a terminal only), in one atomic step:\n"
        "no other change of KEY falls between the value printed and the one stored\n"
        "(a compare-and-set, retried while others change KEY).  A KEY that was not\n"
        "there is added and nothing is printed.",
    .exit_status = "0  VALUE was stored (and the old value printed, if there was one)\n"
                   "1  no such map, NAME is not a map, or the map is full\n"
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

/* The version of the value or map NAME (0 for a raw region, or if it
 * cannot be opened). */
static uint64_t version_of(const char *name, enum smem_kind kind)
{
    smem_opts o;
    uint64_t version = 0;
    memset(&o, 0, sizeof o);
    o.flags = SMEM_RDONLY;
    if (kind == SMEM_KIND_MAP) {
        smem_map *m = NULL;
        if (smem_map_open(name, 0, 0, &o, &m) == 0) {
            version = smem_map_version(m);
            smem_map_close(m);
        }
    } else if (kind == SMEM_KIND_VALUE) {
        smem_value *v = NULL;
        if (smem_value_open(name, 0, &o, &v) == 0) {
            version = smem_value_version(v);
            smem_value_close(v);
        }
    }
    return version;
}

/* SECS since 1970 as "2026-12-07T06:25:33Z", or "" if unknown. */
static void iso_utc(int64_t secs, char *buf, size_t n)
{
    time_t t = (time_t)secs;
    struct tm tm;
    buf[0] = 0;
#ifdef _WIN32
    if (secs > 0 && gmtime_s(&tm, &t) == 0)
#else
    if (secs > 0 && gmtime_r(&t, &tm))
#endif
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_info_text(const smem_info *i, uint64_t version, const char *created)
{
    char human[32];
    printf("%-11s %s\n", "kind:", cli_kind_name(i->kind));
    if (i->kind == SMEM_KIND_MAP) {
        printf("%-11s %llu of %llu\n", "entries:", (unsigned long long)i->entries,
               (unsigned long long)i->capacity);
        printf("%-11s %llu\n", "value size:", (unsigned long long)i->max_value);
    } else if (i->kind == SMEM_KIND_VALUE) {
        printf("%-11s %llu\n", "value size:", (unsigned long long)i->capacity);
    }
    cli_format_size_short(i->memory, human, sizeof human);
    printf("%-11s %s (%llu bytes)\n", "memory:", human, (unsigned long long)i->memory);
    if (i->users >= 0)
        printf("%-11s %d\n", "users:", i->users);
    else
        printf("%-11s %s\n", "users:", i->in_use ? "some" : "0");
    printf("%-11s %s\n", "persistent:", i->persistent ? "yes" : "no");
    if (i->kind != SMEM_KIND_REGION)
        printf("%-11s %llu\n", "version:", (unsigned long long)version);
    if (created[0])
        printf("%-11s %s\n", "created:", created);
}

static void print_info_json(const smem_info *i, uint64_t version, const char *created)
{
    fputs("{\"name\":", stdout);
    cli_json_string(stdout, i->name);
    fprintf(stdout, ",\"kind\":\"%s\",\"entries\":%llu,\"capacity\":%llu,\"value_size\":%llu",
            cli_kind_name(i->kind), (unsigned long long)i->entries,
            (unsigned long long)(i->kind == SMEM_KIND_MAP ? i->capacity : 0),
            (unsigned long long)(i->kind == SMEM_KIND_MAP     ? i->max_value
                                 : i->kind == SMEM_KIND_VALUE ? i->capacity
                                                              : 0));
    fprintf(stdout, ",\"memory\":%llu", (unsigned long long)i->memory);
    if (i->users >= 0)
        fprintf(stdout, ",\"users\":%d", i->users);
    else
        fputs(",\"users\":null", stdout);
    fprintf(stdout, ",\"persistent\":%s,\"version\":%llu,\"created\":",
            i->persistent ? "true" : "false", (unsigned long long)version);
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
    char created[32];
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = smem_region_stat(name, &info)) < 0)
        return cli_fail(cmd, name, rc);
    if (info.state == SMEM_STATE_BAD)
        return cli_fail(cmd, name, info.error ? info.error : SMEM_EBADREGION);
    iso_utc(info.created, created, sizeof created);
    uint64_t version = version_of(name, info.kind);
    if (a->seen[INFO_JSON])
        print_info_json(&info, version, created);
    else
        print_info_text(&info, version, created);
    return CLI_OK;
}

const cli_cmd cli_cmd_info = {
    .name = "info",
    .args = "NAME [--json]",
    .summary = "the figures of a region: kind, entries, value size, memory, users...",
    .description =
        "Prints the figures a user asks first about the region NAME, one per line:\n"
        "kind; for a map, its entries in use of the most it holds and its value\n"
        "size; for a value, its capacity (value size); the memory it takes (as 3.4M,\n"
        "and in bytes); how many opens have it (users); whether it is persistent;\n"
        "for a value or map, its version (every change makes it larger); and when\n"
        "it was created, in UTC (ISO 8601), if recorded.  `stat` shows the rest.\n"
        "\n"
        "With --json, one object: name, kind, entries, capacity (a map's most\n"
        "entries, else 0), value_size, memory, users (null if unknown),\n"
        "persistent, version and created (a string, or null).",
    .opts = info_opts,
    .exit_status = "0  the figures were printed\n"
                   "1  no such region, or it is not usable (damaged, another user's)\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem info sessions\n"
               "sharedmem info sessions --json",
    .min_args = 1,
    .max_args = 1,
    .run = run_info,
};
