/*
 * region-fields.c — the figures of a region (a smem_info) as `ls`, `stat`
 * and their --json show them, from one description: the table `fields`
 * gives, for each figure, its JSON key, its ls column, its stat label and
 * the function that writes it in each form.  The three backends,
 * cli_region_json, cli_region_table and cli_region_lines, only walk that
 * table (ls and stat each in their own order of figures).  Also the words
 * for a name that is not a usable region (cli_bad_words), which gc uses.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------- */
/* Names that are not usable regions                                      */

enum cli_bad_kind cli_bad_kind(const smem_info *info)
{
    if (info->state != SMEM_STATE_BAD)
        return CLI_BAD_NONE;
    if (info->error == SMEM_EBADREGION || info->error == SMEM_EVERSION)
        return CLI_BAD_DAMAGED;
    if (info->error == SMEM_ELOOP)
        return CLI_BAD_SYMLINK;
    if (info->error == SMEM_EACCES && cli_os_has_uids() && !cli_os_is_mine(info->uid))
        return CLI_BAD_FOREIGN;
    return CLI_BAD_OTHER;
}

/* The key "problem" of --json: what cli_bad_kind says, or NULL (null). */
static const char *bad_key(enum cli_bad_kind kind)
{
    switch (kind) {
    case CLI_BAD_DAMAGED: return "damaged";
    case CLI_BAD_FOREIGN: return "another_user";
    case CLI_BAD_SYMLINK: return "symlink";
    case CLI_BAD_OTHER: return "unusable";
    case CLI_BAD_NONE: break;
    }
    return NULL;
}

enum cli_bad_kind cli_bad_words(const smem_info *info, char *what, size_t n, char *how,
                                size_t hn)
{
    enum cli_bad_kind kind = cli_bad_kind(info);
    char user[128];

    how[0] = '\0';
    if (kind == CLI_BAD_DAMAGED && info->error == SMEM_EVERSION)
        snprintf(what, n, "damaged or of another layout version (%u)", info->layout);
    else if (kind == CLI_BAD_DAMAGED)
        snprintf(what, n, "damaged");
    else if (kind == CLI_BAD_FOREIGN && cli_os_user_name(info->uid, user, sizeof user) == 0)
        snprintf(what, n, "another user's file (owner %s, uid %u)", user, info->uid);
    else if (kind == CLI_BAD_FOREIGN)
        snprintf(what, n, "another user's file (owner uid %u)", info->uid);
    else if (kind == CLI_BAD_SYMLINK)
        snprintf(what, n, "a symbolic link");
    else if (kind == CLI_BAD_OTHER)
        snprintf(what, n, "%s", smem_strerror(info->error));
    if (kind == CLI_BAD_DAMAGED)
        snprintf(how, hn, "remove it with `sharedmem rm %s`", info->name);
    return kind;
}

/* ---------------------------------------------------------------------- */
/* Each figure in each form                                               */

/* The forms of a figure: its value in --json, its ls cell, its stat line
 * (after the label). */
enum form { FORM_JSON, FORM_CELL, FORM_LINE };

/* What a figure function wrote into its buffer: nothing (the stat line is
 * left out; never for the other forms), text to write as it is (a JSON
 * number, true, false or null, or a cell or a line), or a string that
 * --json quotes and escapes. */
enum { SHOWN_NONE, SHOWN_TEXT, SHOWN_STRING };

/* The size of a figure's buffer: a STATE says the most. */
#define FIGURE_MAX (CLI_BAD_WHAT_MAX + CLI_BAD_HOW_MAX + 8)

typedef int figure_fn(const smem_info *i, enum form form, char *buf, size_t n);

/* Helpers: a number; a number and its size for humans, "4096 (4.0 KiB)";
 * a string (quoted in JSON); a flag, true/false in JSON, else yes/no. */
static int number(char *buf, size_t n, unsigned long long v)
{
    snprintf(buf, n, "%llu", v);
    return SHOWN_TEXT;
}

static int with_human(char *buf, size_t n, uint64_t v)
{
    char human[32];
    cli_format_size(v, human, sizeof human);
    snprintf(buf, n, "%llu (%s)", (unsigned long long)v, human);
    return SHOWN_TEXT;
}

static int string(enum form form, char *buf, size_t n, const char *s)
{
    snprintf(buf, n, "%s", s);
    return form == FORM_JSON ? SHOWN_STRING : SHOWN_TEXT;
}

static int flag(enum form form, char *buf, size_t n, int on)
{
    if (form == FORM_JSON)
        snprintf(buf, n, "%s", on ? "true" : "false");
    else
        snprintf(buf, n, "%s", on ? "yes" : "no");
    return SHOWN_TEXT;
}

static int show_name(const smem_info *i, enum form form, char *buf, size_t n)
{
    return string(form, buf, n, i->name);
}

/* BYTES in ls: the usable bytes. */
static int show_size(const smem_info *i, enum form form, char *buf, size_t n)
{
    return form == FORM_LINE ? with_human(buf, n, i->size) : number(buf, n, i->size);
}

/* MEMORY in ls, as ls -h writes it: "4.1K". */
static int show_memory(const smem_info *i, enum form form, char *buf, size_t n)
{
    if (form == FORM_CELL) {
        cli_format_size_short(i->memory, buf, n);
        return SHOWN_TEXT;
    }
    return form == FORM_LINE ? with_human(buf, n, i->memory) : number(buf, n, i->memory);
}

/* A value's capacity (a map's most entries in JSON); stat shows it for a
 * value, and ls in MAXVALUE. */
static int show_capacity(const smem_info *i, enum form form, char *buf, size_t n)
{
    if (form == FORM_JSON)
        return number(buf, n, i->capacity);
    if (i->kind == SMEM_KIND_MAP || !i->capacity)
        return SHOWN_NONE;
    return with_human(buf, n, i->capacity);
}

/* A map's keys in use, and the most it holds: "3/100" in ls, "3 of 100"
 * in stat. */
static int show_entries(const smem_info *i, enum form form, char *buf, size_t n)
{
    unsigned long long used = i->entries, most = i->capacity;

    if (form == FORM_JSON)
        return number(buf, n, used);
    if (i->kind == SMEM_KIND_MAP)
        snprintf(buf, n, form == FORM_CELL ? "%llu/%llu" : "%llu of %llu", used, most);
    else if (form == FORM_CELL)
        snprintf(buf, n, "-");
    else
        return SHOWN_NONE;
    return SHOWN_TEXT;
}

/* MAXVALUE in ls: the largest value it holds, a map's value size or a
 * value's capacity; "-" for a raw region. */
static int show_max_value(const smem_info *i, enum form form, char *buf, size_t n)
{
    if (form == FORM_JSON)
        return number(buf, n, i->max_value);
    if (form == FORM_LINE)
        return i->kind == SMEM_KIND_MAP ? with_human(buf, n, i->max_value) : SHOWN_NONE;
    if (i->kind == SMEM_KIND_MAP || i->kind == SMEM_KIND_VALUE)
        return number(buf, n, i->kind == SMEM_KIND_MAP ? i->max_value : i->capacity);
    snprintf(buf, n, "-");
    return SHOWN_TEXT;
}

static int show_kind(const smem_info *i, enum form form, char *buf, size_t n)
{
    return string(form, buf, n, cli_kind_name(i->kind));
}

static int show_persistent(const smem_info *i, enum form form, char *buf, size_t n)
{
    return flag(form, buf, n, i->persistent);
}

static int show_in_use(const smem_info *i, enum form form, char *buf, size_t n)
{
    return flag(form, buf, n, i->in_use);
}

/* The opens that have it; where the system does not count them, null in
 * JSON, no line in stat, and in ls whether there are any. */
static int show_users(const smem_info *i, enum form form, char *buf, size_t n)
{
    if (i->users >= 0)
        snprintf(buf, n, "%d", i->users);
    else if (form == FORM_JSON)
        snprintf(buf, n, "null");
    else if (form == FORM_CELL)
        snprintf(buf, n, "%s", i->in_use ? "some" : "0");
    else
        return SHOWN_NONE;
    return SHOWN_TEXT;
}

/* "ready", ..., or in ls and stat "bad: " and what cli_bad_words says,
 * such as "bad: damaged: remove it with `sharedmem rm NAME`". */
static int show_state(const smem_info *i, enum form form, char *buf, size_t n)
{
    char what[CLI_BAD_WHAT_MAX], how[CLI_BAD_HOW_MAX];

    if (form == FORM_JSON ||
        cli_bad_words(i, what, sizeof what, how, sizeof how) == CLI_BAD_NONE)
        return string(form, buf, n, cli_state_name(i->state));
    snprintf(buf, n, "bad: %s%s%s", what, how[0] ? ": " : "", how);
    return SHOWN_TEXT;
}

/* The code's name, such as "SMEM_EACCES", for a bad region. */
static int show_error(const smem_info *i, enum form form, char *buf, size_t n)
{
    if (i->state == SMEM_STATE_BAD || i->error != 0)
        return string(form, buf, n, smem_err_name(i->error));
    if (form != FORM_JSON)
        return SHOWN_NONE;
    snprintf(buf, n, "null");
    return SHOWN_TEXT;
}

/* JSON only: what cli_bad_kind says of a bad region, in a word. */
static int show_problem(const smem_info *i, enum form form, char *buf, size_t n)
{
    const char *problem = bad_key(cli_bad_kind(i));
    if (problem)
        return string(form, buf, n, problem);
    snprintf(buf, n, "null");
    return SHOWN_TEXT;
}

static int show_uid(const smem_info *i, enum form form, char *buf, size_t n)
{
    (void)form;
    return number(buf, n, i->uid);
}

/* The user name: in JSON, or null; in ls, else the uid, "-" where regions
 * have no uid (Windows); in stat, "USER (uid N)", the uid, or "-". */
static int show_owner(const smem_info *i, enum form form, char *buf, size_t n)
{
    char user[128];
    int named = cli_os_user_name(i->uid, user, sizeof user) == 0;

    if (form == FORM_JSON && named)
        return string(form, buf, n, user);
    if (form == FORM_JSON)
        snprintf(buf, n, "null");
    else if (!cli_os_has_uids())
        snprintf(buf, n, "-");
    else if (!named)
        snprintf(buf, n, "%u", i->uid);
    else if (form == FORM_CELL)
        snprintf(buf, n, "%s", user);
    else
        snprintf(buf, n, "%s (uid %u)", user, i->uid);
    return SHOWN_TEXT;
}

/* The permission bits in octal, "0600" (a string in JSON). */
static int show_mode(const smem_info *i, enum form form, char *buf, size_t n)
{
    char mode[16];
    snprintf(mode, sizeof mode, "%04o", i->mode & 07777u);
    return string(form, buf, n, mode);
}

/* SECS as local time, "2026-11-22 10:30:00 +0100"; 0, or -1 if it cannot
 * be shown.  The offset is computed here because strftime's %z gives the
 * zone's name with Microsoft's C library. */
static int format_local_time(int64_t secs, char *buf, size_t n)
{
    time_t t = (time_t)secs;
    struct tm local, utc, *p;
    char when[32];
    long off, a;

    if (!(p = localtime(&t)))
        return -1;
    local = *p; /* gmtime reuses the same static buffer */
    if (!(p = gmtime(&t)))
        return -1;
    utc = *p;
    if (strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local) == 0)
        return -1;
    /* Seconds east of UTC; the two dates are at most a day apart. */
    off = ((local.tm_hour - utc.tm_hour) * 60L + (local.tm_min - utc.tm_min)) * 60L +
          (local.tm_sec - utc.tm_sec);
    if (local.tm_year != utc.tm_year)
        off += local.tm_year > utc.tm_year ? 86400L : -86400L;
    else
        off += (local.tm_yday - utc.tm_yday) * 86400L;
    a = off < 0 ? -off : off;
    snprintf(buf, n, "%s %c%02ld%02ld", when, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    return 0;
}

/* Seconds since 1970 (0 if unknown); in stat, also as local time. */
static int show_created(const smem_info *i, enum form form, char *buf, size_t n)
{
    char when[64];

    if (form == FORM_LINE && i->created <= 0)
        snprintf(buf, n, "unknown");
    else if (form == FORM_LINE && format_local_time(i->created, when, sizeof when) == 0)
        snprintf(buf, n, "%s (%lld)", when, (long long)i->created);
    else
        snprintf(buf, n, "%lld", (long long)i->created);
    return SHOWN_TEXT;
}

/* The header's layout version. */
static int show_layout(const smem_info *i, enum form form, char *buf, size_t n)
{
    (void)form;
    return number(buf, n, i->layout);
}

/* ---------------------------------------------------------------------- */
/* The description                                                        */

/* Every figure, in the order of the keys of --json (see ls --help). */
enum { F_NAME, F_SIZE, F_MEMORY, F_CAPACITY, F_ENTRIES, F_MAX_VALUE, F_KIND, F_PERSISTENT,
       F_IN_USE, F_USERS, F_STATE, F_ERROR, F_PROBLEM, F_UID, F_OWNER, F_MODE, F_CREATED,
       F_LAYOUT, NFIELDS };

static const struct field {
    const char *key;    /* its key in --json */
    const char *column; /* the header of its ls column (NULL: not in ls) */
    const char *label;  /* its label in stat (NULL: not in stat) */
    int right;          /* 1: a column of numbers, aligned to the right */
    figure_fn *show;
} fields[NFIELDS] = {
    [F_NAME] = {"name", "NAME", "name:", 0, show_name},
    [F_SIZE] = {"size", "BYTES", "size:", 1, show_size},
    [F_MEMORY] = {"memory", "MEMORY", "memory:", 1, show_memory},
    [F_CAPACITY] = {"capacity", NULL, "capacity:", 0, show_capacity},
    [F_ENTRIES] = {"entries", "ENTRIES", "entries:", 1, show_entries},
    [F_MAX_VALUE] = {"max_value", "MAXVALUE", "max value:", 1, show_max_value},
    [F_KIND] = {"kind", "KIND", "kind:", 0, show_kind},
    [F_PERSISTENT] = {"persistent", "PERSIST", "persistent:", 0, show_persistent},
    [F_IN_USE] = {"in_use", NULL, "in use:", 0, show_in_use},
    [F_USERS] = {"users", "USERS", "users:", 1, show_users},
    [F_STATE] = {"state", "STATE", "state:", 0, show_state},
    [F_ERROR] = {"error", NULL, "error:", 0, show_error},
    [F_PROBLEM] = {"problem", NULL, NULL, 0, show_problem},
    [F_UID] = {"uid", NULL, NULL, 0, show_uid},
    [F_OWNER] = {"owner", "OWNER", "owner:", 0, show_owner},
    [F_MODE] = {"mode", "MODE", "mode:", 0, show_mode},
    [F_CREATED] = {"created", NULL, "created:", 0, show_created},
    [F_LAYOUT] = {"layout", NULL, "layout:", 0, show_layout},
};

/* The columns of ls (one meaning per column, the same as in --json and
 * stat: see ls --help) and the lines of stat, in their order. */
static const int ls_columns[] = {
    F_NAME, F_KIND, F_SIZE, F_MEMORY, F_MAX_VALUE, F_ENTRIES, F_PERSISTENT, F_USERS, F_STATE,
    F_OWNER, F_MODE,
};
#define NCOLS (sizeof ls_columns / sizeof ls_columns[0])
static const int stat_lines[] = {
    F_NAME,  F_KIND,       F_SIZE,   F_MEMORY, F_ENTRIES, F_MAX_VALUE, F_CAPACITY, F_STATE,
    F_ERROR, F_PERSISTENT, F_IN_USE, F_USERS,  F_OWNER,   F_MODE,      F_CREATED,  F_LAYOUT,
};
#define NLINES (sizeof stat_lines / sizeof stat_lines[0])

/* ---------------------------------------------------------------------- */
/* The backends                                                           */

void cli_region_json(FILE *f, const smem_info *info)
{
    char buf[FIGURE_MAX];
    int k;

    for (k = 0; k < NFIELDS; k++) {
        fprintf(f, "%s\"%s\":", k ? "," : "{", fields[k].key);
        if (fields[k].show(info, FORM_JSON, buf, sizeof buf) == SHOWN_STRING)
            cli_json_string(f, buf);
        else
            fputs(buf, f);
    }
    fputc('}', f);
}

void cli_region_lines(FILE *f, const smem_info *info)
{
    char buf[FIGURE_MAX];
    size_t k;

    for (k = 0; k < NLINES; k++) {
        const struct field *fl = &fields[stat_lines[k]];
        if (fl->show(info, FORM_LINE, buf, sizeof buf) != SHOWN_NONE)
            fprintf(f, "%-11s %s\n", fl->label, buf);
    }
}

typedef struct ls_row {
    char cell[NCOLS][FIGURE_MAX];
} ls_row;

int cli_region_table(FILE *f, const smem_info *v, size_t n)
{
    ls_row *rows = calloc(n ? n : 1, sizeof *rows);
    size_t i, c, width[NCOLS];

    if (!rows)
        return SMEM_ENOMEM;
    for (c = 0; c < NCOLS; c++)
        width[c] = strlen(fields[ls_columns[c]].column);
    for (i = 0; i < n; i++) {
        for (c = 0; c < NCOLS; c++) {
            char *cell = rows[i].cell[c];
            fields[ls_columns[c]].show(&v[i], FORM_CELL, cell, sizeof rows[i].cell[c]);
            if (strlen(cell) > width[c])
                width[c] = strlen(cell);
        }
    }
    for (i = 0; i <= n; i++) {
        for (c = 0; c < NCOLS; c++) {
            const struct field *fl = &fields[ls_columns[c]];
            const char *s = i == 0 ? fl->column : rows[i - 1].cell[c];
            if (c == NCOLS - 1)
                fprintf(f, "%s\n", s);
            else if (fl->right)
                fprintf(f, "%*s  ", (int)width[c], s);
            else
                fprintf(f, "%-*s  ", (int)width[c], s);
        }
    }
    free(rows);
    return 0;
}
