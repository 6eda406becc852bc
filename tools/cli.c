/*
 * cli.c — argument parsing, error reporting and formatting for `sharedmem`:
 * messages, --help, the option parser, sizes, modes and names, reading
 * standard input, glob patterns.  How bytes are written out (JSON, the
 * text escape, hex dumps) is in output.c.  Portable C11: no
 * operating-system calls here (those are in os-posix.c and os-win.c).
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */

int cli_fail(const cli_cmd *cmd, const char *name, int err)
{
    fflush(stdout);
    if (name)
        fprintf(stderr, "sharedmem: %s %s: %s\n", cmd->name, name, smem_strerror(err));
    else
        fprintf(stderr, "sharedmem: %s: %s\n", cmd->name, smem_strerror(err));
    return CLI_FAIL;
}

int cli_failf(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "sharedmem: %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_fail_name(const cli_cmd *cmd, const char *name, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "sharedmem: %s %s: ", cmd->name, name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_usage(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("sharedmem: ", stderr);
    if (cmd)
        fprintf(stderr, "%s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cmd)
        fprintf(stderr, "Try 'sharedmem %s --help' for more information.\n", cmd->name);
    else
        fputs("Try 'sharedmem --help' for more information.\n", stderr);
    return CLI_USAGE;
}

int cli_check_key(const cli_cmd *cmd, const char *key)
{
    char shown[96];
    size_t len = strlen(key);
    if (len == 0)
        return cli_usage(cmd, "invalid key '': a key has 1 to %d bytes", SMEM_MAP_KEY_MAX);
    if (len > SMEM_MAP_KEY_MAX)
        return cli_usage(cmd, "invalid key '%s': %llu bytes, longer than %d",
                         cli_text_quote(shown, sizeof shown, key), (unsigned long long)len,
                         SMEM_MAP_KEY_MAX);
    return CLI_OK;
}

int cli_check_name(const cli_cmd *cmd, const char *name)
{
    int err = smem_name_check(name);
    if (err == 0)
        return CLI_OK;
    if (err == SMEM_ENAMETOOLONG)
        return cli_usage(cmd, "invalid name '%s': longer than %d characters", name,
                         SMEM_NAME_MAX);
    return cli_usage(cmd,
                     "invalid name '%s': use 1 to %d characters from A-Z a-z 0-9 . _ -, "
                     "starting with a letter or digit",
                     name, SMEM_NAME_MAX);
}

/* ---------------------------------------------------------------------- */
/* Help and parsing                                                       */

static void print_indented(FILE *f, const char *text)
{
    /* Indents every nonblank line of TEXT by two spaces. */
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        if (len > 0)
            fprintf(f, "  %.*s\n", (int)len, text);
        else
            fputc('\n', f);
        text += len + (nl ? 1 : 0);
    }
}

/* The widest line of --help, terminal or not. */
#define HELP_COLUMNS 80

/* Writes HEAD, then the words of TEXT, wrapped at HELP_COLUMNS; each line
 * after the first starts with INDENT spaces.  A word longer than a line
 * stands alone on its line. */
static void print_wrapped(FILE *f, const char *head, int indent, const char *text)
{
    int col = fprintf(f, "%s", head);
    int first = 1;
    while (*text) {
        while (*text == ' ')
            text++;
        int len = (int)strcspn(text, " ");
        if (len == 0)
            break;
        if (!first && col + 1 + len > HELP_COLUMNS) {
            col = fprintf(f, "\n%*s", indent, "") - 1;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        col += fprintf(f, "%.*s", len, text);
        text += len;
        first = 0;
    }
    fputc('\n', f);
}

void cli_print_help(const cli_cmd *cmd, FILE *f)
{
    const cli_opt *o;
    char head[64];
    snprintf(head, sizeof head, "Usage: sharedmem %s ", cmd->name);
    print_wrapped(f, head, (int)strlen(head), cmd->args);
    fputc('\n', f);
    fprintf(f, "%s\n", cmd->description);

    fputs("\nOptions:\n", f);
    for (o = cmd->opts; o && o->name; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->arg_name ? " " : "", o->arg_name ? o->arg_name : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg_name ? " " : "",
                     o->arg_name ? o->arg_name : "");
        char lead[96];
        snprintf(lead, sizeof lead, "  %-22s ", left);
        print_wrapped(f, lead, 25, o->help);
    }
    fprintf(f, "  %-22s %s\n", "-h, --help", "show this help and exit");

    fputs("\nExit status:\n", f);
    print_indented(f, cmd->exit_status);
    if (cmd->windows) {
        fputs("\nOn Windows:\n", f);
        print_indented(f, cmd->windows);
    }
    if (cmd->example && cmd->example[0]) {
        fputs("\nExamples:\n", f);
        print_indented(f, cmd->example);
    }
}

static int is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a)
{
    int i, nopts = 0, opts_done = 0;

    memset(a, 0, sizeof *a);
    a->pos = argv; /* positionals are gathered in place, in order */
    while (cmd->opts && cmd->opts[nopts].name)
        nopts++;

    /* -h/--help anywhere before "--" wins over any other mistake. */
    for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (is_help(argv[i])) {
            cli_print_help(cmd, stdout);
            return -1;
        }
    }

    for (i = 0; i < argc; i++) {
        char *arg = argv[i];
        const char *value = NULL;
        int k;

        if (opts_done || arg[0] != '-' || arg[1] == '\0' || /* "-" is an operand */
            (cmd->numbers_are_args && arg[1] >= '0' && arg[1] <= '9')) {
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            opts_done = 1;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (k = 0; k < nopts; k++)
                if (strlen(cmd->opts[k].name) == len && strncmp(cmd->opts[k].name, name, len) == 0)
                    break;
            if (k == nopts)
                return cli_usage(cmd, "unknown option '--%.*s'", (int)len, name);
            if (cmd->opts[k].arg_name) {
                if (eq)
                    value = eq + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return cli_usage(cmd, "option '--%s' needs a value (%s)", cmd->opts[k].name,
                                     cmd->opts[k].arg_name);
            } else if (eq) {
                return cli_usage(cmd, "option '--%s' takes no value", cmd->opts[k].name);
            }
        } else {
            for (k = 0; k < nopts; k++)
                if (cmd->opts[k].short_name && cmd->opts[k].short_name == arg[1])
                    break;
            if (k == nopts || (!cmd->opts[k].arg_name && arg[2] != '\0'))
                return cli_usage(cmd, "unknown option '%s'", arg);
            if (cmd->opts[k].arg_name) {
                if (arg[2] != '\0')
                    value = arg + 2;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return cli_usage(cmd, "option '-%c' needs a value (%s)", arg[1],
                                     cmd->opts[k].arg_name);
            }
        }
        a->seen[k]++;
        a->value[k] = value;
    }

    if (a->npos < cmd->min_args)
        return cli_usage(cmd, "missing argument (usage: sharedmem %s %s)", cmd->name, cmd->args);
    if (cmd->max_args >= 0 && a->npos > cmd->max_args)
        return cli_usage(cmd, "unexpected argument '%s'", a->pos[cmd->max_args]);
    return CLI_OK;
}

/* ---------------------------------------------------------------------- */
/* Numbers                                                                */

int cli_parse_size(const char *s, size_t *out, const char **why)
{
    uint64_t v = 0;
    unsigned shift = 0;
    const char *p = s;

    if (*p < '0' || *p > '9') {
        *why = *p == '-' ? "negative" : "not a number";
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            *why = "too large";
            return -1;
        }
        v = v * 10 + d;
    }
    if (*p != '\0') {
        switch (*p) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        default:
            *why = "unknown suffix (use K, M, G or T)";
            return -1;
        }
        p++;
        if (strcmp(p, "iB") == 0)
            p += 2;
        if (*p != '\0') {
            *why = "unknown suffix (use K, M, G or T)";
            return -1;
        }
    }
    if (v > (UINT64_MAX >> shift)) {
        *why = "too large";
        return -1;
    }
    v <<= shift;
    if (v == 0) {
        *why = "must be at least 1 byte";
        return -1;
    }
    if (v > (uint64_t)SMEM_SIZE_MAX || v > (uint64_t)SIZE_MAX) {
        *why = "larger than the maximum region size (1T)";
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int cli_parse_capacity(const char *s, size_t *out, const char **why)
{
    size_t v;
    if (cli_parse_size(s, &v, why) != 0)
        return -1;
    if (v > (size_t)SMEM_VALUE_MAX) {
        *why = "larger than the maximum capacity of a value (1G)";
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_duration(const char *s, int zero_ok, uint64_t *ms, const char **why)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    static const char too_long[] =
        "longer than the longest time to live (2^53 ms, about 285000 years)";
    uint64_t v = 0, unit = 1;
    const char *p = s;
    size_t u, nunits = sizeof units / sizeof units[0];

    if (*p < '0' || *p > '9') {
        *why = *p == '-' ? "negative" : "not a duration (a whole number and a unit: 30s)";
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (SMEM_TTL_MAX_MS - d) / 10) {
            *why = too_long;
            return -1;
        }
        v = v * 10 + d;
    }
    if (*p == '.' || *p == ',') {
        *why = "not a whole number (take a smaller unit: 1500ms, not 1.5s)";
        return -1;
    }
    if (*p != '\0') {
        for (u = 0; u < nunits && strcmp(p, units[u].name) != 0; u++)
            ;
        if (u == nunits) {
            *why = "unknown unit (use ms, s, m or h: 500ms, 30s, 5m, 2h)";
            return -1;
        }
        unit = units[u].ms;
    } else if (v != 0) {
        *why = "no unit (add one of ms, s, m, h: 500ms, 30s, 5m, 2h)";
        return -1;
    }
    if (v == 0 && !zero_ok) {
        *why = "must be at least 1ms (without it, a key never expires)";
        return -1;
    }
    if (v > SMEM_TTL_MAX_MS / unit) {
        *why = too_long;
        return -1;
    }
    *ms = v * unit;
    return 0;
}

int cli_parse_mode(const char *s, unsigned *out, const char **why)
{
    unsigned v = 0;
    const char *p = s;

    if (*p == '\0') {
        *why = "empty";
        return -1;
    }
    for (; *p; p++) {
        if (*p < '0' || *p > '7') {
            *why = "not an octal number";
            return -1;
        }
        v = v * 8 + (unsigned)(*p - '0');
        if (v > 0777) {
            *why = "only permission bits are allowed (at most 0777)";
            return -1;
        }
    }
    if (v == 0) {
        *why = "no permission at all (at least 0600 is needed to use it)";
        return -1;
    }
    *out = v;
    return 0;
}

void cli_format_size(uint64_t size, char *buf, size_t n)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)size;
    int u = -1;

    if (size < 1024) {
        snprintf(buf, n, "%llu byte%s", (unsigned long long)size, size == 1 ? "" : "s");
        return;
    }
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, n, "%.1f %s", v, units[u]);
}

void cli_format_size_short(uint64_t size, char *buf, size_t n)
{
    static const char units[] = "KMGTP";
    double v = (double)size;
    int u = -1;

    if (size < 1024) {
        snprintf(buf, n, "%llu", (unsigned long long)size);
        return;
    }
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, n, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

const char *cli_kind_name(enum smem_kind kind)
{
    switch (kind) {
    case SMEM_KIND_REGION: return "region";
    case SMEM_KIND_VALUE: return "value";
    case SMEM_KIND_MAP: return "map";
    case SMEM_KIND_UNKNOWN: break;
    }
    return "unknown";
}

const char *cli_state_name(enum smem_state state)
{
    switch (state) {
    case SMEM_STATE_READY: return "ready";
    case SMEM_STATE_INITIALISING: return "initialising";
    case SMEM_STATE_STALE: return "stale";
    case SMEM_STATE_BAD: return "bad";
    }
    return "bad";
}

/* ---------------------------------------------------------------------- */
/* Buffers and standard input                                            */

int cli_buf_reserve(cli_buf *b, size_t n)
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

int cli_read_stdin(size_t limit, cli_buf *b, size_t *len)
{
    size_t n = 0, want = limit + 1;
    int rc;

    cli_os_binary(stdin);
    if ((rc = cli_buf_reserve(b, want < 65536 ? want : 65536)) < 0)
        return rc;
    while (n < want) {
        size_t got;
        if (n == b->cap) {
            size_t grow = b->cap * 2 < want ? b->cap * 2 : want;
            if ((rc = cli_buf_reserve(b, grow)) < 0)
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

int cli_value_input(const cli_cmd *cmd, const char *name, const char *arg, int from_stdin,
                    size_t limit, const char *limit_name, cli_buf *b, const void **data,
                    size_t *len)
{
    if (!from_stdin) {
        *data = arg;
        *len = strlen(arg);
        if (*len > limit)
            return cli_fail_name(cmd, name,
                                 "the value (%llu bytes) is larger than %s (%llu bytes); "
                                 "nothing was stored",
                                 (unsigned long long)*len, limit_name, (unsigned long long)limit);
        return CLI_OK;
    }
    int rc = cli_read_stdin(limit, b, len);
    if (rc == 0 && *len > limit)
        rc = cli_fail_name(cmd, name,
                           "standard input holds more than %s (%llu bytes); nothing was stored",
                           limit_name, (unsigned long long)limit);
    else if (rc == SMEM_EIO)
        rc = cli_fail_name(cmd, name, "cannot read standard input");
    else if (rc < 0)
        rc = cli_fail(cmd, name, rc);
    else
        rc = CLI_OK;
    if (rc != CLI_OK) {
        free(b->p);
        b->p = NULL;
    }
    *data = b->p;
    return rc;
}

/* ---------------------------------------------------------------------- */

int cli_region_gone(const char *name)
{
    smem_info info;
    return smem_region_stat(name, &info) == SMEM_ENOENT;
}

/* ---------------------------------------------------------------------- */
/* Glob patterns                                                          */

/* Whether C is in the set that starts after "[" at *P; moves *P past the
 * closing "]".  -1 if the set is not closed (then "[" is literal). */
static int in_set(const char **p, unsigned char c)
{
    const char *s = *p;
    int negate = *s == '!' || *s == '^', found = 0; /* ^ as Redis and glibc take it */
    if (negate)
        s++;
    for (int first = 1; *s && (first || *s != ']'); first = 0) {
        unsigned char lo = (unsigned char)*s++, hi = lo;
        if (lo == '\\' && *s)
            lo = hi = (unsigned char)*s++;
        if (*s == '-' && s[1] && s[1] != ']') {
            hi = (unsigned char)s[1];
            s += 2;
            if (hi == '\\' && *s)
                hi = (unsigned char)*s++;
        }
        if (c >= lo && c <= hi)
            found = 1;
    }
    if (*s != ']')
        return -1;
    *p = s + 1;
    return found != negate;
}

int cli_glob_match(const char *pattern, const char *key)
{
    const char *p = pattern, *k = key;
    const char *star = NULL, *star_k = NULL; /* where to go back to after a mismatch */
    while (*k) {
        const char *next = p;
        int ok = 0;
        if (*p == '*') {
            star = ++p;
            star_k = k;
            continue;
        }
        if (*p == '?') {
            ok = 1, next = p + 1;
        } else if (*p == '[') {
            next = p + 1;
            int r = in_set(&next, (unsigned char)*k);
            if (r < 0)
                ok = *k == '[', next = p + 1;
            else
                ok = r;
        } else if (*p == '\\' && p[1]) {
            ok = p[1] == *k, next = p + 2;
        } else if (*p) {
            ok = *p == *k, next = p + 1;
        }
        if (ok) {
            p = next;
            k++;
        } else if (star) { /* let the last "*" take one more byte */
            p = star;
            k = ++star_k;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == 0;
}
