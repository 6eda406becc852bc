/*
 * cli.h — the internals shared by the files of the `sharedmem` command.
 *
 * A command is a cli_cmd: its name, its help text, its option table and the
 * function that runs it.  sharedmem.c keeps the table of commands; adding a
 * command means writing one cli_cmd and adding one line to that table.
 *
 * The generic parser (cli.c) handles options before or after positional
 * arguments, "--" to end options, "--opt=VALUE", "--opt VALUE", "-xVALUE",
 * "-x VALUE", and -h/--help for every command.
 *
 * Exit statuses: CLI_OK (0), CLI_FAIL (1, one line on stderr naming the
 * command, the region and the reason), CLI_USAGE (2, a one-line message
 * and a hint to run --help).
 */
#ifndef SHAREDMEM_CLI_H
#define SHAREDMEM_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sharedmem.h"

#if defined(__GNUC__)
#define CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CLI_PRINTF(fmt, args)
#endif

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* The most options one command may have (not counting -h/--help). */
#define CLI_MAX_OPTS 16

typedef struct cli_opt {
    const char *name;     /* long name without "--"; NULL ends a table */
    char short_name;      /* e.g. 'm' for -m; 0 for none */
    const char *arg_name; /* e.g. "MODE" if the option takes a value, else NULL */
    const char *help;     /* one line for --help */
} cli_opt;

typedef struct cli_args {
    int npos;     /* positional arguments, in order */
    char **pos;
    /* Indexed like the command's option table: how often the option was
     * given, and the value of its last occurrence (NULL for flags). */
    int seen[CLI_MAX_OPTS];
    const char *value[CLI_MAX_OPTS];
} cli_args;

typedef struct cli_cmd {
    const char *name;
    const char *args;        /* the synopsis after the name, e.g. "NAME [--json]" */
    const char *summary;     /* one line, for `sharedmem --help` */
    const char *description; /* paragraphs for `sharedmem CMD --help` */
    const cli_opt *opts;     /* NULL or a table ended by {NULL} */
    const char *exit_status; /* lines for the "Exit status" section */
    const char *example;     /* lines for the "Examples" section */
    const char *windows;     /* NULL, or lines for the "On Windows" section: what
                                differs there (shown on every system, as in the
                                man page, so that scripts can be written for both) */
    int min_args, max_args;  /* positional arguments; max -1 = no limit */
    int (*run)(const struct cli_cmd *cmd, cli_args *a);
    int numbers_are_args;    /* 1: a word of a dash and a digit ("-5") is an
                                argument, not an option (`incr NAME KEY -5`) */
} cli_cmd;

/* The commands (one cli_cmd per command, defined next to its code). */
extern const cli_cmd cli_cmd_ls, cli_cmd_stat, cli_cmd_create, cli_cmd_rm, cli_cmd_gc,
    cli_cmd_get, cli_cmd_set, cli_cmd_watch, cli_cmd_hold, cli_cmd_help, cli_cmd_version,
    cli_cmd_map, cli_cmd_del, cli_cmd_incr, cli_cmd_keys, cli_cmd_dump, cli_cmd_exists,
    cli_cmd_type, cli_cmd_mget, cli_cmd_mset, cli_cmd_getset, cli_cmd_info, cli_cmd_expire,
    cli_cmd_ttl, cli_cmd_flush, cli_cmd_stats;

/* How long `watch` sleeps in a wait before it looks for a stop request
 * again (and whether its name still leads to what it watches): the
 * longest it takes to notice Ctrl-C. */
#define CLI_WATCH_TICK_MS 200

/* What a watch loop returns, besides CLI_OK and CLI_FAIL, when the name
 * it watches was removed or made again (never an exit status). */
#define CLI_WATCH_GONE 3

/* The map forms of get and set (cmd-map.c), which cmd-value.c calls when
 * it is given a KEY: `get NAME KEY`, `set NAME KEY VALUE|- [--ttl D]`
 * (TTL_MS 0: no expiry).  NAME and KEY are checked already.  (The map
 * forms of watch are in cmd-watch.c.) */
int cli_map_get(const cli_cmd *cmd, const char *name, const char *key, int json);
int cli_map_set(const cli_cmd *cmd, const char *name, const char *key, const char *arg,
                uint64_t ttl_ms);

/* Reports the failure ERR of opening NAME as a value (cmd-map.c).  If NAME
 * is a map, says so and how to name a key: "sharedmem CMD NAME
 * MAP_ARGS" (e.g. "KEY VALUE"). */
int cli_value_open_failed(const cli_cmd *cmd, const char *name, int err, const char *map_args);

/* Parses the options --entries N and --value-size SIZE of A (indexes IE
 * and IV in CMD's option table), the figures of a new map: both or
 * neither.  Returns CLI_OK (*given 1 if both were given, and the figures
 * set) or reports a usage error and returns CLI_USAGE (cmd-map.c). */
int cli_parse_map_figures(const cli_cmd *cmd, const cli_args *a, int ie, int iv, size_t *entries,
                          size_t *value_size, int *given);

/* Reports the failure ERR of creating the map NAME of ENTRIES entries of
 * VALUE_SIZE bytes, saying what exists instead if it is SMEM_EMISMATCH
 * (cmd-map.c). */
int cli_map_create_failed(const cli_cmd *cmd, const char *name, int err, size_t entries,
                          size_t value_size);

/* The kind of the region NAME, as smem_region_stat says; SMEM_KIND_UNKNOWN
 * if it cannot tell (value-io.c). */
enum smem_kind cli_region_kind(const char *name);

/* Finds a command by name (sharedmem.c); NULL if there is none. */
const cli_cmd *cli_find_command(const char *name);

/* Prints `sharedmem CMD --help` to F. */
void cli_print_help(const cli_cmd *cmd, FILE *f);

/* Parses argv (the words after the command name) against cmd->opts and
 * checks the number of positional arguments.  Returns CLI_OK, or prints
 * the help and returns -1 for -h/--help (the caller exits 0), or prints a
 * usage error and returns CLI_USAGE. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a);

/* Reports a failure of CMD on region NAME (NULL for none) with the code's
 * message, "sharedmem: CMD NAME: reason", and returns CLI_FAIL. */
int cli_fail(const cli_cmd *cmd, const char *name, int err);

/* Reports a failure with a message of our own; returns CLI_FAIL. */
int cli_failf(const cli_cmd *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Reports a failure of CMD on region NAME with a message of our own,
 * "sharedmem: CMD NAME: message"; returns CLI_FAIL. */
int cli_fail_name(const cli_cmd *cmd, const char *name, const char *fmt, ...) CLI_PRINTF(3, 4);

/* Reports a usage error of CMD (NULL for the tool itself) with the hint to
 * run --help; returns CLI_USAGE. */
int cli_usage(const cli_cmd *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Checks a region name with smem_name_check; reports a bad one as a usage
 * error.  Returns CLI_OK or CLI_USAGE. */
int cli_check_name(const cli_cmd *cmd, const char *name);

/* Parses a size: decimal bytes with an optional suffix K, M, G, T (or KiB,
 * MiB, GiB, TiB; powers of 1024).  Accepts 1 to SMEM_SIZE_MAX.  Returns 0,
 * or -1 with *why set to a short reason. */
int cli_parse_size(const char *s, size_t *out, const char **why);

/* Parses the capacity of a value: a size as above, at most SMEM_VALUE_MAX.
 * Returns 0, or -1 with *why set to a short reason. */
int cli_parse_capacity(const char *s, size_t *out, const char **why);

/* The capacity of a value that `set --persist` or `hold` creates when no
 * --capacity is given: the seed's block size. */
#define CLI_DEFAULT_CAPACITY 4096

/* Parses a duration: a whole number and a unit, ms, s, m or h ("500ms",
 * "30s", "5m", "2h"), into *MS, 1 to SMEM_TTL_MAX_MS; with ZERO_OK, also
 * 0 (with or without a unit).  A number without a unit is an error.
 * Returns 0, or -1 with *why set to a short reason. */
int cli_parse_duration(const char *s, int zero_ok, uint64_t *ms, const char **why);

/* Parses the option --ttl DURATION (index I of CMD's options) into *MS (0
 * if it was not given).  CLI_OK, or CLI_USAGE after reporting
 * "invalid --ttl 'VALUE': reason" (cmd-cache.c). */
int cli_parse_ttl(const cli_cmd *cmd, const cli_args *a, int i, uint64_t *ms);

/* Parses permission bits in octal, "640" or "0640", 1 to 0777.  Returns 0,
 * or -1 with *why set to a short reason. */
int cli_parse_mode(const char *s, unsigned *out, const char **why);

/* Formats SIZE for humans ("4.0 KiB", "512 bytes") into buf. */
void cli_format_size(uint64_t size, char *buf, size_t n);

/* The same, short, for a table column, as ls -h writes it: "512", "4.1K",
 * "14M" (powers of 1024). */
void cli_format_size_short(uint64_t size, char *buf, size_t n);

/* A buffer that grows as needed. */
typedef struct cli_buf {
    unsigned char *p;
    size_t cap;
} cli_buf;

/* Makes B hold at least N bytes (at least 1).  0 or SMEM_ENOMEM. */
int cli_buf_reserve(cli_buf *b, size_t n);

/* Reads standard input (in binary mode) to its end, keeping at most
 * LIMIT + 1 bytes in B: *len > LIMIT means that there was more than
 * LIMIT.  0, SMEM_ENOMEM or SMEM_EIO. */
int cli_read_stdin(size_t limit, cli_buf *b, size_t *len);

/*
 * The bytes that `set` stores: ARG itself, or standard input (read into B)
 * if FROM_STDIN; at most LIMIT bytes, LIMIT_NAME saying what the limit is
 * ("the capacity", "the map's value size").  CLI_OK with *DATA and *LEN
 * set, or the exit status after the error was reported (B freed).
 */
int cli_value_input(const cli_cmd *cmd, const char *name, const char *arg, int from_stdin,
                    size_t limit, const char *limit_name, cli_buf *b, const void **data,
                    size_t *len);

/* Checks a map key given on the command line: 1 to SMEM_MAP_KEY_MAX bytes.
 * Reports a bad one as a usage error.  Returns CLI_OK or CLI_USAGE. */
int cli_check_key(const cli_cmd *cmd, const char *key);

/* Words for the enums. */
const char *cli_kind_name(enum smem_kind kind);
const char *cli_state_name(enum smem_state state);

/* 1 if there is no region NAME (any more), else 0.  A command that made
 * NAME persistent checks this after closing it: on Windows a region lives
 * only while a process has it open, whatever SMEM_PERSIST says. */
int cli_region_gone(const char *name);

/* ---------------------------------------------------------------------- */
/* Writing bytes (output.c)                                               */

/* Writes the LEN bytes at P as text on one line, so that any bytes can be
 * shown and told apart (keys, `dump`, `watch` of a map).  The rule
 * (documented in sharedmem(1), `dump`): every well-formed UTF-8 sequence
 * of two bytes or more and every printable ASCII character (0x20-0x7E) is
 * copied as it is, except that '\\' is written as two backslashes; tab,
 * newline and carriage return are \t \n \r; every other byte (control
 * characters, DEL, bytes that are not part of well-formed UTF-8) is \xXX,
 * XX being the byte in lowercase hexadecimal. */
void cli_text_bytes(FILE *f, const void *p, size_t len);

/* The string S escaped by the rule of cli_text_bytes into BUF (N bytes),
 * for a message; shortened with "..." if it does not fit.  Returns BUF. */
const char *cli_text_quote(char *buf, size_t n, const char *s);

/* Writes S as a JSON string, quotes included. */
void cli_json_string(FILE *f, const char *s);

/* Writes the LEN bytes at P as a JSON string, quotes included.  The rule
 * (documented in sharedmem(1), `get --json`): every well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF)
 * is copied as it is, except that '"' and '\\' are escaped, control
 * characters U+0000-U+001F use \b \f \n \r \t or \u00XX, and DEL (0x7F)
 * is \u007f; every byte that is not part of a well-formed sequence is
 * written as \u00XX, XX being the byte in lowercase hexadecimal. */
void cli_json_bytes(FILE *f, const void *p, size_t len);

/* Writes LEN bytes of P to standard output, exactly; on a terminal, ends
 * them with a newline if they do not end with one (as redis-cli does), so
 * that the prompt starts on a line of its own.  Piped or redirected
 * output keeps exactly the value's bytes. */
void cli_write_value(const void *p, size_t len);

/* Writes LEN bytes of P to F as a hex dump, 16 bytes a line: the offset,
 * the bytes in hexadecimal, then the printable ASCII ones (others '.'). */
void cli_hex_dump(FILE *f, const unsigned char *p, size_t len);

/* ---------------------------------------------------------------------- */
/* The few operating-system services the tool needs (os-posix.c; a
 * Windows build provides the same functions in os-win.c).               */

/* 1 if smem_info.uid names the owner of a region (POSIX); 0 if it means
 * nothing (Windows, where it is always 0: the library opens only objects
 * that the calling user made, and has no numeric user ids). */
int cli_os_has_uids(void);

/* The user name of UID into buf; 0 on success, -1 if it has none. */
int cli_os_user_name(unsigned uid, char *buf, size_t n);

/* 1 if a region owned by UID (smem_info.uid) belongs to the user running
 * this process, else 0. */
int cli_os_is_mine(unsigned uid);

/* This process's id. */
long cli_os_pid(void);

/* Stop requests (SIGINT, SIGTERM, SIGHUP on POSIX; Ctrl-C, Ctrl-Break and
 * console close on Windows).  cli_os_stop_begin starts catching them
 * (from then on they are held until cli_os_stop_wait or
 * cli_os_stop_requested takes them); cli_os_stop_wait sleeps, without
 * busy-waiting, until one arrives and returns nonzero (on POSIX the
 * signal's number); cli_os_stop_end restores the previous handling.
 * cli_os_stop_begin returns 0, or -1 on error.
 *
 * With RELEASE_NAME (`hold`; NULL for `watch`), a request from
 * cli_os_release_ask for that region name also counts as a stop request
 * (Windows; POSIX has no such requests). */
int cli_os_stop_begin(const char *release_name);
int cli_os_stop_wait(void);
void cli_os_stop_end(void);

/* Between cli_os_stop_begin and cli_os_stop_end: nonzero (on POSIX the
 * signal's number) if a stop request has arrived, taking it if it is
 * still pending, or 0 if none has.  Never blocks: for loops that wait on
 * something else with a timeout (`watch`). */
int cli_os_stop_requested(void);

/* `rm` of a region that `hold` processes keep.  On Windows a region cannot
 * be removed while a process has it open, and goes away when the last one
 * closes it: so rm asks the holds of NAME to let go (see
 * cli_os_stop_begin).  cli_os_release_ask returns a request to pass to
 * cli_os_release_end once the region is gone or rm gives up, or NULL if no
 * hold of NAME listens (always on POSIX, where rm needs no holder's help). */
void *cli_os_release_ask(const char *name);
void cli_os_release_end(void *request);

/* Sleeps for MS milliseconds. */
void cli_os_sleep_ms(int ms);

/* Puts the standard stream F (stdin or stdout) in binary mode, so that
 * bytes pass unchanged (a no-op on POSIX; no CR-LF translation on
 * Windows).  0, or -1 on error. */
int cli_os_binary(FILE *f);

/* For the commands on maps (cmd-map.c, cmd-keys.c, cmd-watch.c), from
 * cmd-map.c: opens the existing map NAME with FLAGS (SMEM_RDONLY or
 * SMEM_NOCREATE: never creates it), reporting a failure (VALUE_ARGS: what
 * the command line of CMD is for a value, such as "" for `watch NAME`, or
 * NULL if CMD has no form for values); reports the failure ERR of changing
 * KEY; reports that NAME has no KEY ("no key 'KEY'").  A report returns
 * CLI_FAIL; cli_map_open_existing returns CLI_OK if it opened the map. */
int cli_map_open_existing(const cli_cmd *cmd, const char *name, unsigned flags,
                          const char *value_args, smem_map **m);
int cli_map_change_failed(const cli_cmd *cmd, const char *name, smem_map *m, const char *key,
                          int err);
int cli_map_no_key(const cli_cmd *cmd, const char *name, const char *key);

/* Opens the existing map NAME to read keys with get (get, mget): for
 * writing if it can, so that its gets count in the map's statistics
 * (hits, misses) and give the entries they find a second chance against
 * eviction, else read-only (a map of another user's, or a read-only
 * file).  Reports a failure as cli_map_open_existing (cmd-map.c). */
int cli_map_open_reader(const cli_cmd *cmd, const char *name, const char *value_args,
                        smem_map **m);

/* The size of a buffer for a key escaped by cli_text_quote, whole. */
#define CLI_KEY_SHOWN (4 * SMEM_MAP_KEY_MAX + 8)

/* Whether KEY matches the glob PATTERN, as fnmatch(3) with no flags does:
 * "*" any bytes ("/" and "." too), "?" one byte, "[abc]", "[a-z]", "[!a]"
 * one of (or none of) a set, "\" makes the next byte literal. */
int cli_glob_match(const char *pattern, const char *key);

/* Reports that NAME is a raw region, which CMD cannot use, and what can
 * (cmd-map.c). */
int cli_raw_region(const cli_cmd *cmd, const char *name);

/* Writes the usable bytes of the region NAME, of any kind (value-io.c):
 * raw (CLI_BYTES_RAW), as a hex dump (CLI_BYTES_HEX), as JSON
 * {"name","kind","size","hex"} (CLI_BYTES_JSON), or raw to a pipe or a
 * file and in hex on a terminal (CLI_BYTES_AUTO). */
enum cli_bytes_how { CLI_BYTES_AUTO, CLI_BYTES_RAW, CLI_BYTES_HEX, CLI_BYTES_JSON };
int cli_region_bytes(const cli_cmd *cmd, const char *name, enum cli_bytes_how how);

/* 1 if the stream F is a terminal. */
int cli_os_is_terminal(FILE *f);

/* ---------------------------------------------------------------------- */
/* Values and entries, read and shown (value-io.c)                        */

/* Reads the value of V into B: its length into *len and its version into
 * *version.  0 or a negative code. */
int cli_value_read(smem_value *v, cli_buf *b, size_t *len, uint64_t *version);

/* Reads KEY of the map M into B: 0 with *len and *version, SMEM_ENOENT if
 * absent, or another negative code. */
int cli_map_read(smem_map *m, const char *key, cli_buf *b, size_t *len, uint64_t *version);

/* The same, and *EXPIRED set to 1 if KEY is absent because it expired
 * (its record is still there), else 0; one get, counted as one. */
int cli_map_read_live(smem_map *m, const char *key, cli_buf *b, size_t *len, uint64_t *version,
                      int *expired);

/* The figures of the value or map NAME that smem_region_stat does not
 * know, read through a read-only open that never creates it: *VERSION its
 * version (-1 if it has none or cannot be opened), *EVICTING for a map 1
 * if it evicts, 0 if not (-1 for other kinds, or if it cannot be opened). */
void cli_live_figures(const char *name, enum smem_kind kind, int64_t *version, int *evicting);

/* A value, or an entry of a map, as get, watch and dump show it. */
typedef struct cli_entry {
    const char *name;           /* the region; NULL where the output says it once */
    const char *key;            /* the key; NULL for a value */
    const unsigned char *value; /* its bytes; NULL for a key that is absent */
    size_t len;
    uint64_t version;
    int expires;                /* 1: it has a time to live (dump only; else 0) */
    int64_t ms_left;            /* then: ms before it expires; 0: expired, not
                                   reclaimed yet (dump --stale) */
} cli_entry;

/* The forms of an entry on standard output.  JSON: one object on a line,
 * {"name":NAME,"key":KEY,"length":N,"version":V,"value":STRING} (name and
 * key left out when NULL, the value null if absent), as `get --json` and
 * `watch --json` print it.  EXACT: its bytes, as cli_write_value writes
 * them (`get`).  LINE: its bytes and a newline, an empty line if absent
 * (`watch`).  TEXT: the key, a tab and the value escaped by the rule of
 * cli_text_bytes, and a newline; only the key if absent (`dump`, `watch`
 * of a map). */
enum cli_entry_form { CLI_ENTRY_JSON, CLI_ENTRY_EXACT, CLI_ENTRY_LINE, CLI_ENTRY_TEXT };
void cli_entry_print(const cli_entry *e, enum cli_entry_form form);

/* The members of E's JSON object, without the braces, for an object that
 * has more (`dump --json`, `watch --json` of a map).  An entry that
 * expires also has "ttl_ms":MS_LEFT, and an expired one "stale":true; in
 * the TEXT form an expired entry's line ends with a tab and "(expired)". */
void cli_entry_members(const cli_entry *e);

/* A copy of every entry of a map, sorted by key (byte order); each entry's
 * name is NULL and its value never is. */
typedef struct cli_snapshot {
    cli_entry *v;
    size_t n, cap;
    int nomem;
} cli_snapshot;

/* Copies every entry of M into *S; with CLI_SNAP_TTL, with its expiry
 * (cli_entry.expires, ms_left), and with CLI_SNAP_STALE the expired
 * entries not reclaimed yet too.  0 or a negative code (S empty). */
enum { CLI_SNAP_TTL = 1, CLI_SNAP_STALE = 2 };
int cli_map_snapshot(smem_map *m, unsigned flags, cli_snapshot *s);
void cli_snapshot_free(cli_snapshot *s);

/* ---------------------------------------------------------------------- */
/* The figures of a region (region-fields.c)                              */

/* What sits on a name that is not a usable region (SMEM_STATE_BAD). */
enum cli_bad_kind {
    CLI_BAD_NONE,    /* a usable region */
    CLI_BAD_DAMAGED, /* not a region, a damaged header, another layout version */
    CLI_BAD_FOREIGN, /* another user's file: the library does not look inside */
    CLI_BAD_SYMLINK, /* a symbolic link: never followed */
    CLI_BAD_OTHER,   /* unusable for another reason: see info->error */
};
enum cli_bad_kind cli_bad_kind(const smem_info *info);

/* The sizes of cli_bad_words' WHAT and HOW. */
#define CLI_BAD_WHAT_MAX 256
#define CLI_BAD_HOW_MAX (SMEM_NAME_MAX + 64)

/*
 * Words for a name that is not a usable region: what it is into WHAT
 * ("damaged", "another user's file (owner nobody, uid 65534)", "a symbolic
 * link", or the error's message), and the way out into HOW ("" if the
 * tool knows none).  Returns its kind (CLI_BAD_NONE: nothing written).
 */
enum cli_bad_kind cli_bad_words(const smem_info *info, char *what, size_t n, char *how,
                                size_t hn);

/* INFO as one JSON object, no newline: the keys of `ls --json`. */
void cli_region_json(FILE *f, const smem_info *info);

/* INFO as the "key: value" lines of `stat`. */
void cli_region_lines(FILE *f, const smem_info *info);

/* The N regions at V as the table of `ls`, a header and a line each.  0,
 * or SMEM_ENOMEM (nothing written). */
int cli_region_table(FILE *f, const smem_info *v, size_t n);

#endif /* SHAREDMEM_CLI_H */
