/*
 * cmd-value.c — the value commands of `sharedmem`: get, set, watch.
 *
 * A value is a region that holds one byte string of up to its capacity,
 * replaced whole by each set, with a version that every set makes larger
 * (smem_value_open and friends in sharedmem.h).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* How long `watch` sleeps in smem_value_wait before it looks for a stop
 * request again: the longest it takes to notice Ctrl-C. */
#define WATCH_TICK_MS 200

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                         */

/* A buffer for a value's bytes that grows as needed, up to the capacity. */
typedef struct vbuf {
    unsigned char *p;
    size_t cap;
} vbuf;

static int vbuf_reserve(vbuf *b, size_t n)
{
    unsigned char *p;
    if (n <= b->cap && b->p)
        return 0;
    if (n == 0)
        n = 1;
    p = realloc(b->p, n);
    if (!p)
        return SMEM_ENOMEM;
    b->p = p;
    b->cap = n;
    return 0;
}

/* Reads the value of V into B: its length into *len and its version into
 * *version.  Starts with a small buffer and grows it to the length the
 * library asks for, so that a short value in a large value costs little.
 * 0 or a negative code. */
static int read_value(smem_value *v, vbuf *b, size_t *len, uint64_t *version)
{
    size_t capacity = smem_value_capacity(v);
    int rc;

    if ((rc = vbuf_reserve(b, capacity < 4096 ? capacity : 4096)) < 0)
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
        if ((rc = vbuf_reserve(b, need)) < 0)
            return rc;
    }
}

/* Opens the existing value NAME, of any capacity, with FLAGS (SMEM_RDONLY
 * or SMEM_NOCREATE: never creates it); reports a failure. */
static int open_existing(const cli_cmd *cmd, const char *name, unsigned flags, smem_value **v)
{
    smem_opts opts;
    int rc;

    memset(&opts, 0, sizeof opts);
    opts.flags = flags;
    rc = smem_value_open(name, 0, &opts, v);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
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

enum { GET_JSON };
static const cli_opt get_opts[] = {
    {"json", 0, NULL, "print {\"name\",\"length\",\"version\",\"value\"} as JSON"},
    {NULL, 0, NULL, NULL},
};

static int run_get(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    smem_value *v = NULL;
    vbuf b = {NULL, 0};
    size_t len = 0;
    uint64_t version = 0;
    int rc;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    if ((rc = open_existing(cmd, name, SMEM_RDONLY, &v)) != CLI_OK)
        return rc;
    rc = read_value(v, &b, &len, &version);
    smem_value_close(v);
    if (rc < 0) {
        free(b.p);
        return cli_fail(cmd, name, rc);
    }

    if (a->seen[GET_JSON]) {
        print_json(name, b.p, len, version);
    } else {
        cli_os_binary(stdout);
        fwrite(b.p, 1, len, stdout); /* main() reports a write error */
    }
    free(b.p);
    return CLI_OK;
}

const cli_cmd cli_cmd_get = {
    .name = "get",
    .args = "NAME [--json]",
    .summary = "print a value",
    .description =
        "Writes the bytes of the value NAME to standard output, exactly, with no\n"
        "newline added.  A value that was never set is empty: get prints nothing.\n"
        "NAME must exist and be a value; get opens it read-only and never creates\n"
        "it, nor waits for a writer.\n"
        "\n"
        "With --json, prints one line: {\"name\":NAME,\"length\":BYTES,\"version\":V,\n"
        "\"value\":STRING}.  The version is 0 for a value never set, and every set\n"
        "makes it larger.  In STRING, well-formed UTF-8 is copied as it is, except\n"
        "that \" and \\ are escaped and control characters (and DEL) are written as\n"
        "\\b \\f \\n \\r \\t or \\u00XX; every byte that is not part of well-formed UTF-8\n"
        "is written as \\u00XX, XX being the byte.  Text round-trips exactly; for\n"
        "other bytes \\u00XX cannot be told from the character U+00XX, so use get\n"
        "without --json to read binary values.",
    .opts = get_opts,
    .exit_status = "0  the value was printed\n"
                   "1  no such value, NAME is another kind of region, or it could not be read\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem get config > config.txt\n"
               "sharedmem get config --json",
    .min_args = 1,
    .max_args = 1,
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

/* Reads standard input to its end, keeping at most LIMIT + 1 bytes: *len
 * > LIMIT means that there was more than LIMIT.  0, SMEM_ENOMEM or
 * SMEM_EIO. */
static int read_stdin(size_t limit, vbuf *b, size_t *len)
{
    size_t n = 0, want = limit + 1;
    int rc;

    cli_os_binary(stdin);
    if ((rc = vbuf_reserve(b, want < 65536 ? want : 65536)) < 0)
        return rc;
    while (n < want) {
        size_t got;
        if (n == b->cap) {
            size_t grow = b->cap * 2 < want ? b->cap * 2 : want;
            if ((rc = vbuf_reserve(b, grow)) < 0)
                return rc;
        }
        got = fread(b->p + n, 1, b->cap - n, stdin);
        n += got;
        if (got == 0) {
            if (ferror(stdin))
                return SMEM_EIO;
            break; /* end of input */
        }
    }
    *len = n;
    return 0;
}

static int run_set(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    const char *arg = a->pos[1];
    const char *why = NULL;
    smem_opts opts;
    smem_value *v = NULL;
    vbuf b = {NULL, 0};
    const void *data;
    size_t len, capacity = CLI_DEFAULT_CAPACITY;
    int rc, create = 0, from_stdin = strcmp(arg, "-") == 0;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
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
        return cli_fail(cmd, name, rc);
    } else {
        capacity = smem_value_capacity(v);
    }

    if (from_stdin) {
        rc = read_stdin(capacity, &b, &len);
        if (rc < 0) {
            smem_value_close(v);
            free(b.p);
            if (rc == SMEM_EIO)
                return cli_fail_name(cmd, name, "cannot read standard input");
            return cli_fail(cmd, name, rc);
        }
        data = b.p;
        if (len > capacity) {
            smem_value_close(v);
            free(b.p);
            return cli_fail_name(cmd, name,
                                 "standard input holds more than the capacity (%llu bytes); "
                                 "nothing was stored",
                                 (unsigned long long)capacity);
        }
    } else {
        data = arg;
        len = strlen(arg);
        if (len > capacity) {
            smem_value_close(v);
            return cli_fail_name(cmd, name,
                                 "the value (%llu bytes) is larger than the capacity "
                                 "(%llu bytes); nothing was stored",
                                 (unsigned long long)len, (unsigned long long)capacity);
        }
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
    .args = "NAME VALUE|- [--persist [--capacity SIZE] [--mode MODE]]",
    .summary = "store a value",
    .description =
        "Replaces the value NAME with the bytes of the argument VALUE (no newline is\n"
        "added), or with all of standard input if VALUE is \"-\".  Readers see the\n"
        "old value or the new one, whole, and the value's version grows.  A value\n"
        "longer than the capacity of NAME is an error, and nothing is stored.\n"
        "To store a VALUE that begins with \"-\", put \"--\" before it; to store \"-\"\n"
        "itself, give it on standard input (printf - | sharedmem set NAME -).\n"
        "\n"
        "If NAME does not exist, set fails unless --persist is given: a value that\n"
        "set created without it would be removed as soon as set exits, its last\n"
        "user.  With --persist, set creates NAME as a persistent value (kept until\n"
        "`sharedmem rm NAME`) of --capacity bytes, 4096 by default.  Otherwise keep\n"
        "NAME alive with `sharedmem hold NAME`, which creates it if needed.\n"
        "--persist, --capacity and --mode apply only when set creates NAME; an\n"
        "existing value keeps its capacity, mode and lifetime.  NAME must be a\n"
        "value, not a raw region.",
    .opts = set_opts,
    .exit_status = "0  the value was stored\n"
                   "1  it was not: no such value (without --persist), NAME is another kind\n"
                   "   of region, the value is larger than the capacity, ...\n"
                   "2  usage error (invalid NAME, SIZE or MODE)",
    .example = "sharedmem set greeting 'hello, world' --persist\n"
               "date | sharedmem set status -\n"
               "sharedmem set blob - --persist --capacity 1M < blob.bin",
    .windows = "A value lives only while some process has it open, even with --persist: a\n"
               "value that set creates is gone, with what set stored, when set exits (a\n"
               "note says so).  Start `sharedmem hold NAME` first; it creates the value.",
    .min_args = 2,
    .max_args = 2,
    .run = run_set,
};

/* ---------------------------------------------------------------------- */
/* watch                                                                  */

enum { WATCH_JSON };
static const cli_opt watch_opts[] = {
    {"json", 0, NULL, "print each value as a JSON object (as `get --json`)"},
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

static int run_watch(const cli_cmd *cmd, cli_args *a)
{
    const char *name = a->pos[0];
    int json = a->seen[WATCH_JSON] > 0;
    smem_value *v = NULL;
    vbuf b = {NULL, 0};
    size_t len = 0;
    uint64_t seen = 0;
    int rc, status = CLI_OK;

    if ((rc = cli_check_name(cmd, name)) != CLI_OK)
        return rc;
    /* Catch the stop signals first: one that arrives while the value is
     * being opened is held and ends the loop at once. */
    if (cli_os_stop_begin(NULL) != 0)
        return cli_failf(cmd, "cannot catch the stop signals");
    /* Not read-only, although watch never writes: a read-only handle
     * cannot ask writers to wake it, so its waits poll every millisecond;
     * a writable one sleeps in the kernel until a set wakes it. */
    if ((rc = open_existing(cmd, name, SMEM_NOCREATE, &v)) != CLI_OK) {
        cli_os_stop_end();
        return rc;
    }
    if (!json)
        cli_os_binary(stdout);

    rc = read_value(v, &b, &len, &seen);
    if (rc < 0) {
        status = cli_fail(cmd, name, rc);
        goto out;
    }
    print_line(json, name, b.p, len, seen);

    for (;;) {
        uint64_t version = 0;
        if (fflush(stdout) != 0 || ferror(stdout)) {
            status = cli_fail_name(cmd, name, "error writing the output");
            goto out;
        }
        if (cli_os_stop_requested())
            break;
        rc = smem_value_wait(v, seen, WATCH_TICK_MS);
        if (rc == SMEM_ETIMEDOUT || rc == SMEM_EINTR)
            continue;
        if (rc < 0) {
            status = cli_fail(cmd, name, rc);
            goto out;
        }
        rc = read_value(v, &b, &len, &version);
        if (rc < 0) {
            status = cli_fail(cmd, name, rc);
            goto out;
        }
        if (version == seen)
            continue;
        print_line(json, name, b.p, len, version);
        seen = version;
    }

out:
    smem_value_close(v);
    cli_os_stop_end();
    free(b.p);
    return status;
}

const cli_cmd cli_cmd_watch = {
    .name = "watch",
    .args = "NAME [--json]",
    .summary = "print a value and each change of it",
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
        "version.  NAME must exist; watch keeps it open (as\n"
        "`hold` does), so it stays alive while watched.  If NAME is removed with\n"
        "`sharedmem rm`, watch goes on showing the removed value, which nobody can\n"
        "change any more.",
    .opts = watch_opts,
    .exit_status = "0  stopped by a signal\n"
                   "1  no such value, NAME is another kind of region, or it could not be\n"
                   "   read or the output written\n"
                   "2  usage error (including an invalid NAME)",
    .example = "sharedmem watch status\n"
               "sharedmem watch status --json | while read -r line; do ...; done",
    .windows = "watch stops on Ctrl-C, Ctrl-Break or when its console closes.  While it\n"
               "has NAME open, `sharedmem rm NAME` fails with \"in use\".",
    .min_args = 1,
    .max_args = 1,
    .run = run_watch,
};
