/*
 * cmd-cache.c — the commands of `sharedmem` for maps as caches: expire,
 * ttl, flush and stats, and the option --ttl of set, incr and mset
 * (cli_parse_ttl).  A key may have a time to live, on a clock that every
 * process of the host shares; an expired key is absent at once for every
 * command, its record kept until a writer needs the room or writes the
 * key.  A map made with `map --evict` evicts an entry to make room for a
 * new key when it is full.  (smem_map_put and friends in sharedmem.h.)
 */
#include "cli.h"

#include <string.h>

int cli_parse_ttl(const cli_cmd *cmd, const cli_args *a, int i, uint64_t *ms)
{
    const char *why = NULL;
    *ms = 0;
    if (a->seen[i] && cli_parse_duration(a->value[i], 0, ms, &why) != 0)
        return cli_usage(cmd, "invalid --ttl '%s': %s", a->value[i], why);
    return CLI_OK;
}

/* Checks NAME and KEY, the first two arguments: CLI_OK or CLI_USAGE. */
static int check_name_key(const cli_cmd *cmd, const cli_args *a)
{
    int rc = cli_check_name(cmd, a->pos[0]);
    return rc != CLI_OK ? rc : cli_check_key(cmd, a->pos[1]);
}

/* ---------------------------------------------------------------------- */
/* expire                                                                 */

static int run_expire(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0], *key = a->pos[1];
    const char *why = NULL;
    smem_map *m = NULL;
    uint64_t ms = 0;
    int rc;

    if ((rc = check_name_key(cmd, a)) != CLI_OK)
        return rc;
    if (cli_parse_duration(a->pos[2], 1, &ms, &why) != 0)
        return cli_usage(cmd, "invalid duration '%s': %s", a->pos[2], why);
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, NULL, &m)) != CLI_OK)
        return rc;
    rc = smem_map_expire(m, key, ms);
    if (rc == SMEM_ENOENT)
        rc = cli_map_no_key(cmd, name, key);
    else if (rc < 0)
        rc = cli_map_change_failed(cmd, name, m, key, rc);
    else
        rc = CLI_OK;
    smem_map_close(m);
    return rc;
}

const cli_cmd cli_cmd_expire = {
    .name = "expire",
    .args = "NAME KEY DURATION",
    .summary = "give a key of a map a new time to live (0: none)",
    .description =
        "Makes KEY of the map NAME expire DURATION from now, whatever its expiry\n"
        "was, and prints nothing.  DURATION is a whole number and a unit: ms, s, m\n"
        "or h (500ms, 30s, 5m, 2h).  A DURATION of 0 (\"0\", or 0 with a unit)\n"
        "removes the expiry: the key then lives until it is deleted.  A number\n"
        "without a unit (other than 0) or a negative one is a usage error.\n"
        "\n"
        "This is a change of KEY: it gets a new version, and `watch` sees it.  The\n"
        "value stays as it is.  A KEY that is absent, or has expired already, is an\n"
        "error (\"no key 'KEY'\"): an expired key cannot be brought back.",
    .exit_status = "0  KEY has its new expiry (or none)\n"
                   "1  no such map, NAME is not a map, or no such KEY (or it expired)\n"
                   "2  usage error (invalid NAME, KEY or DURATION)",
    .example = "sharedmem expire sessions alice 30m\n"
               "sharedmem expire sessions alice 0",
    .min_args = 3,
    .max_args = 3,
    .run = run_expire,
    .numbers_are_args = 1, /* "-3s" is a (negative) DURATION, not an option */
};

/* ---------------------------------------------------------------------- */
/* ttl                                                                    */

static int run_ttl(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0], *key = a->pos[1];
    char shown[CLI_KEY_SHOWN];
    smem_map *m = NULL;
    int64_t ms_left = 0;
    int rc, stale = 0;

    if ((rc = check_name_key(cmd, a)) != CLI_OK)
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_RDONLY, NULL, &m)) != CLI_OK)
        return rc;
    rc = smem_map_ttl(m, key, &ms_left);
    /* Absent, or expired?  A read-only handle's get counts in no total. */
    if (rc == SMEM_ENOENT)
        smem_map_get_stale(m, key, NULL, 0, NULL, NULL, &stale);
    smem_map_close(m);
    if (rc == SMEM_ENOENT && stale)
        return cli_fail_name(cmd, name, "no key '%s' (it expired)",
                             cli_text_quote(shown, sizeof shown, key));
    if (rc == SMEM_ENOENT)
        return cli_map_no_key(cmd, name, key);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    printf("%lld\n", (long long)ms_left);
    return CLI_OK;
}

const cli_cmd cli_cmd_ttl = {
    .name = "ttl",
    .args = "NAME KEY",
    .summary = "print the milliseconds a key of a map has left (-1: no expiry)",
    .description =
        "Prints the time to live of KEY of the map NAME: the milliseconds before it\n"
        "expires (at least 1), or -1 if it never does, and a newline.  A KEY that is\n"
        "absent or has expired is an error: exit status 1 and \"no key 'KEY'\" on\n"
        "stderr (\"(it expired)\" added if its record is still there), nothing on\n"
        "stdout.  NAME is opened read-only and never created.",
    .exit_status = "0  the time left (or -1) was printed\n"
                   "1  no such map, NAME is not a map, or no such KEY (or it expired)\n"
                   "2  usage error (invalid NAME or KEY)",
    .example = "sharedmem ttl sessions alice",
    .min_args = 2,
    .max_args = 2,
    .run = run_ttl,
};

/* ---------------------------------------------------------------------- */
/* flush                                                                  */

static int run_flush(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_map *m = NULL;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, NULL, &m)) != CLI_OK)
        return rc;
    rc = smem_map_flush(m);
    if (rc < 0)
        rc = cli_map_change_failed(cmd, name, m, "", rc);
    else
        rc = CLI_OK;
    smem_map_close(m);
    return rc;
}

const cli_cmd cli_cmd_flush = {
    .name = "flush",
    .args = "NAME",
    .summary = "delete every key of a map",
    .description =
        "Deletes every entry of the map NAME, expired ones included, as one change\n"
        "(the map's version grows by one), and prints nothing.  A reader sees each\n"
        "entry present or gone, not all gone at one instant.  The map itself stays,\n"
        "with its figures, mode and statistics (`stats` counts each entry removed\n"
        "as a delete).  Use `sharedmem rm NAME` to remove the map.",
    .exit_status = "0  the map is empty\n"
                   "1  no such map, NAME is not a map, or it could not be written\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem flush sessions",
    .min_args = 1,
    .max_args = 1,
    .run = run_flush,
};

/* ---------------------------------------------------------------------- */
/* stats                                                                  */

enum { STATS_JSON };
static const cli_opt stats_opts[] = {
    {"json", 0, NULL, "print the statistics as one JSON object"},
    {NULL, 0, NULL, NULL},
};

/* The counters of struct smem_map_stats, in its order, by name. */
static void print_stats(const char *name, const struct smem_map_stats *st, int json)
{
    const struct {
        const char *name;
        uint64_t n;
    } f[] = {
        {"hits", st->hits},         {"misses", st->misses},
        {"sets", st->sets},         {"deletes", st->deletes},
        {"evictions", st->evictions}, {"expirations", st->expirations},
        {"entries", st->entries},   {"max_entries", st->max_entries},
        {"bytes", st->bytes},       {"stale", st->stale},
    };
    size_t i, n = sizeof f / sizeof f[0];
    char label[32];

    if (json) {
        fputs("{\"name\":", stdout);
        cli_json_string(stdout, name);
        for (i = 0; i < n; i++)
            printf(",\"%s\":%llu", f[i].name, (unsigned long long)f[i].n);
        printf(",\"evicting\":%s}\n", st->evicting ? "true" : "false");
        return;
    }
    for (i = 0; i < n; i++) {
        snprintf(label, sizeof label, "%s:", f[i].name);
        printf("%-13s%llu\n", label, (unsigned long long)f[i].n);
    }
    printf("%-13s%s\n", "evicting:", st->evicting ? "yes" : "no");
}

static int run_stats(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    struct smem_map_stats st;
    smem_map *m = NULL;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = cli_map_open_existing(cmd, name, SMEM_RDONLY, NULL, &m)) != CLI_OK)
        return rc;
    rc = smem_map_stats(m, &st);
    smem_map_close(m);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    print_stats(name, &st, a->seen[STATS_JSON] > 0);
    return CLI_OK;
}

const cli_cmd cli_cmd_stats = {
    .name = "stats",
    .args = "NAME [--json]",
    .summary = "the statistics of a map: hits, misses, sets, evictions...",
    .description =
        "Prints the statistics of the map NAME, one \"name: value\" line each:\n"
        "  hits:        gets that found a live key (get, mget)\n"
        "  misses:      gets that did not (absent, or expired)\n"
        "  sets:        values written: set, mset (each key), incr, getset\n"
        "  deletes:     del, and each entry that flush removed\n"
        "  evictions:   live entries evicted to make room (maps made with --evict)\n"
        "  expirations: expired entries that writers reclaimed\n"
        "  entries:     live entries now\n"
        "  max_entries: the most it holds\n"
        "  bytes:       the key and value bytes of the entries held, expired ones\n"
        "               not yet reclaimed included\n"
        "  stale:       expired entries not reclaimed yet\n"
        "  evicting:    yes if it evicts when full (`map --evict`), else no\n"
        "The counts are since the map was made.  Each command of this tool adds its\n"
        "gets when it exits; a program with the map open adds its own every 256\n"
        "gets and when it closes it, so until then they are not counted yet.\n"
        "keys, dump, exists, ttl and watch do not count as gets.\n"
        "\n"
        "With --json, one object on one line: {\"name\":NAME,\"hits\":N,...,\n"
        "\"evicting\":true|false}, the same names, numbers for the counts.\n"
        "NAME is opened read-only and never created.",
    .opts = stats_opts,
    .exit_status = "0  the statistics were printed\n"
                   "1  no such map, NAME is not a map, or it could not be read\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem stats sessions\n"
               "sharedmem stats sessions --json",
    .min_args = 1,
    .max_args = 1,
    .run = run_stats,
};
