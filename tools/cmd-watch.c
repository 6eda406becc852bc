/*
 * cmd-watch.c — `sharedmem watch`: print a value, a key of a map or a
 * whole map, then each change of it, until a stop request; with --follow,
 * go on when the name is removed or made again.  What each line says is
 * described once, for the text and --json, by cli_entry_print
 * (value-io.c).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

enum { WATCH_JSON, WATCH_FOLLOW };
static const cli_opt watch_opts[] = {
    {"json", 0, NULL, "print each value or change as a JSON object on one line"},
    {"follow", 'F', NULL, "when NAME is removed or made again, wait for it and go on"},
    {NULL, 0, NULL, NULL},
};

/* Flushes the output; reports a write error. */
static int flush_out(const cli_cmd *cmd, const char *name)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail_name(cmd, name, "error writing the output");
    return CLI_OK;
}

/* One value of NAME, or of its KEY (P NULL: an absent key): the bytes and
 * a newline, or a JSON object. */
static void print_watched(int json, const char *name, const char *key, const unsigned char *p,
                          size_t len, uint64_t version)
{
    cli_entry e = {name, key, p, len, version, 0, 0};
    cli_entry_print(&e, json ? CLI_ENTRY_JSON : CLI_ENTRY_LINE);
}

/* What a watch waits on: a value, or a map's KEY (NULL: the whole map). */
typedef struct watched {
    smem_value *v;
    smem_map *m;
    const char *key;
} watched;

enum tick { TICK_CHANGED, TICK_AGAIN, TICK_END };

/* One tick of a watch: flushes the output, then waits up to
 * CLI_WATCH_TICK_MS for W to move past SEEN.  TICK_END, with *STATUS set,
 * when the watch is over: a stop request (CLI_OK), a write error or a
 * failed wait (CLI_FAIL, reported), or a name that no longer leads to W
 * (CLI_WATCH_GONE). */
static enum tick watch_tick(const cli_cmd *cmd, const char *name, const watched *w,
                            uint64_t seen, int *status)
{
    if ((*status = flush_out(cmd, name)) != CLI_OK || cli_os_stop_requested())
        return TICK_END;
    int rc = w->v ? smem_value_wait(w->v, seen, CLI_WATCH_TICK_MS)
                  : smem_map_wait(w->m, w->key, seen, CLI_WATCH_TICK_MS);
    if (rc == SMEM_ETIMEDOUT && (w->v ? smem_value_named(w->v) : smem_map_named(w->m)) == 0) {
        *status = CLI_WATCH_GONE;
        return TICK_END;
    }
    if (rc == SMEM_ETIMEDOUT || rc == SMEM_EINTR)
        return TICK_AGAIN;
    if (rc < 0) {
        *status = cli_fail(cmd, name, rc);
        return TICK_END;
    }
    return TICK_CHANGED;
}

/* ---------------------------------------------------------------------- */
/* watch NAME, of a value                                                 */

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
    rc = cli_value_read(v, &b, &len, &seen);
    if (rc < 0) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }
    print_watched(json, name, NULL, b.p, len, seen);
    watched w = {v, NULL, NULL};
    for (;;) {
        enum tick t = watch_tick(cmd, name, &w, seen, &status);
        if (t == TICK_END)
            break;
        if (t == TICK_AGAIN)
            continue;
        uint64_t version = 0;
        if ((rc = cli_value_read(v, &b, &len, &version)) < 0) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        if (version == seen)
            continue;
        print_watched(json, name, NULL, b.p, len, version);
        seen = version;
    }
    free(b.p);
    return status;
}

/* ---------------------------------------------------------------------- */
/* watch NAME KEY, watch NAME (of a map)                                  */

static int watch_key(const cli_cmd *cmd, const char *name, const char *key, int json,
                     smem_map *m)
{
    cli_buf b = {NULL, 0};
    size_t len = 0;
    uint64_t seen = 0, version = 0;
    int rc, status = CLI_OK;

    if (!json)
        cli_os_binary(stdout);
    rc = cli_map_read(m, key, &b, &len, &seen);
    if (rc < 0 && rc != SMEM_ENOENT) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }
    print_watched(json, name, key, rc == 0 ? b.p : NULL, len, seen);

    watched w = {NULL, m, key};
    for (;;) {
        enum tick t = watch_tick(cmd, name, &w, seen, &status);
        if (t == TICK_END)
            break;
        if (t == TICK_AGAIN)
            continue;
        rc = cli_map_read(m, key, &b, &len, &version);
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
                         const cli_entry *e)
{
    cli_entry gone = {NULL, key, NULL, 0, 0, 0, 0};

    if (json) {
        fputs("{\"name\":", stdout);
        cli_json_string(stdout, name);
        fprintf(stdout, ",\"map_version\":%llu,\"event\":\"%s\",", (unsigned long long)map_version,
                e ? "set" : "del");
        cli_entry_members(e ? e : &gone);
        fputs("}\n", stdout);
    } else {
        fputs(e ? "set " : "del ", stdout);
        cli_entry_print(e ? e : &gone, CLI_ENTRY_TEXT);
    }
}

/* Prints what changed from OLD to NEW (both sorted by key). */
static void print_diff(int json, const char *name, uint64_t map_version,
                       const cli_snapshot *old, const cli_snapshot *new)
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
    cli_snapshot old, cur;
    uint64_t seen;
    int rc, status = CLI_OK;

    memset(&old, 0, sizeof old); /* empty: the first snapshot is all new */
    seen = smem_map_version(m);
    if ((rc = cli_map_snapshot(m, 0, &cur)) < 0)
        return cli_fail(cmd, name, rc);
    print_diff(json, name, seen, &old, &cur);
    old = cur;

    watched w = {NULL, m, NULL};
    for (;;) {
        enum tick t = watch_tick(cmd, name, &w, seen, &status);
        if (t == TICK_END)
            break;
        if (t == TICK_AGAIN)
            continue;
        uint64_t version = smem_map_version(m); /* before the walk, as in dump */
        if (version == seen)
            continue;
        if ((rc = cli_map_snapshot(m, 0, &cur)) < 0) {
            status = cli_fail(cmd, name, rc);
            break;
        }
        print_diff(json, name, version, &old, &cur);
        cli_snapshot_free(&old);
        old = cur;
        seen = version;
    }
    cli_snapshot_free(&old);
    return status;
}

/* Opens the map NAME and watches KEY, or every key if KEY is NULL:
 * CLI_OK, CLI_FAIL or CLI_WATCH_GONE, as watch_value. */
static int watch_map_name(const cli_cmd *cmd, const char *name, const char *key, int json)
{
    smem_map *m = NULL;
    int rc;

    /* Not read-only, although watch never writes: a read-only handle
     * cannot ask writers to wake it (see watch_once). */
    if ((rc = cli_map_open_existing(cmd, name, SMEM_NOCREATE, "", &m)) != CLI_OK)
        return rc;
    rc = key ? watch_key(cmd, name, key, json, m) : watch_map(cmd, name, json, m);
    smem_map_close(m);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The command                                                            */

/* Opens NAME (a value, a map, or KEY of a map) and watches it: CLI_OK,
 * CLI_FAIL or CLI_WATCH_GONE, as watch_value. */
static int watch_once(const cli_cmd *cmd, const char *name, const char *key, int json)
{
    smem_value *v = NULL;
    smem_opts opts;
    int rc;

    if (key) /* watch NAME KEY: a map's entry */
        return watch_map_name(cmd, name, key, json);
    /* Not read-only, although watch never writes: a read-only handle
     * cannot ask writers to wake it, so its waits poll every millisecond;
     * a writable one sleeps in the kernel until a set wakes it. */
    memset(&opts, 0, sizeof opts);
    opts.flags = SMEM_NOCREATE;
    rc = smem_value_open(name, 0, &opts, &v);
    if (rc == SMEM_EMISMATCH && cli_region_kind(name) == SMEM_KIND_MAP)
        return watch_map_name(cmd, name, NULL, json); /* every change of the map */
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
