/*
 * value-io.c — values and map entries as `sharedmem` reads and shows them:
 * reading a value or one key of a map into a growing buffer, the sorted
 * copy of a map's entries that `dump` and `watch` take (cli_snapshot), and
 * cli_entry_print, the one description of a value or an entry on output
 * (its JSON object and its text forms) that get, watch and dump all use;
 * the kind and the bytes of a region of any kind (get --raw, dump); and
 * the version of a value or map and whether a map evicts (info).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Reading                                                                */

/* Starts with a small buffer and grows it to the length the library asks
 * for, so that a short value in a large value costs little. */
int cli_value_read(smem_value *v, cli_buf *b, size_t *len, uint64_t *version)
{
    size_t capacity = smem_value_capacity(v);
    int rc;

    if ((rc = cli_buf_reserve(b, capacity < 4096 ? capacity : 4096)) < 0)
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
        if ((rc = cli_buf_reserve(b, need)) < 0)
            return rc;
    }
}

/* B is made to hold max_value bytes. */
int cli_map_read(smem_map *m, const char *key, cli_buf *b, size_t *len, uint64_t *version)
{
    int rc = cli_buf_reserve(b, smem_map_max_value(m));
    if (rc < 0)
        return rc;
    *len = 0;
    *version = 0;
    rc = smem_map_get(m, key, b->p, b->cap, len, version);
    return rc < 0 ? rc : 0;
}

/* get_stale counts a get as get does (a stale find is a miss). */
int cli_map_read_live(smem_map *m, const char *key, cli_buf *b, size_t *len, uint64_t *version,
                      int *expired)
{
    int rc = cli_buf_reserve(b, smem_map_max_value(m));
    *expired = 0;
    if (rc < 0)
        return rc;
    *len = 0;
    *version = 0;
    rc = smem_map_get_stale(m, key, b->p, b->cap, len, version, expired);
    if (rc >= 0 && *expired) {
        *len = 0;
        *version = 0;
        return SMEM_ENOENT;
    }
    return rc < 0 ? rc : 0;
}

void cli_live_figures(const char *name, enum smem_kind kind, int64_t *version, int *evicting)
{
    smem_opts o;
    smem_map *m = NULL;
    smem_value *v = NULL;
    struct smem_map_stats st;

    *version = -1;
    *evicting = -1;
    memset(&o, 0, sizeof o);
    o.flags = SMEM_RDONLY;
    if (kind == SMEM_KIND_MAP && smem_map_open(name, 0, 0, &o, &m) == 0) {
        *version = (int64_t)smem_map_version(m);
        if (smem_map_stats(m, &st) == 0)
            *evicting = st.evicting != 0;
        smem_map_close(m);
    } else if (kind == SMEM_KIND_VALUE && smem_value_open(name, 0, &o, &v) == 0) {
        *version = (int64_t)smem_value_version(v);
        smem_value_close(v);
    }
}

/* ---------------------------------------------------------------------- */
/* A copy of the entries of a map                                         */

void cli_snapshot_free(cli_snapshot *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        free((void *)s->v[i].key); /* the block that holds the key and the value */
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* What take_entry fills: the copy, and whether to keep each expiry. */
typedef struct snap_walk {
    cli_snapshot *s;
    int ttl;
} snap_walk;

static int take_entry(const smem_map_entry *me, void *arg)
{
    snap_walk *w = arg;
    cli_snapshot *s = w->s;
    const char *key = me->key;
    const void *val = me->val;
    size_t len = me->len;
    cli_entry *e;
    char *block;
    size_t klen = strlen(key);

    if (klen > SMEM_MAP_KEY_MAX)
        return 0; /* the library promises it never is: skip rather than cut */
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        cli_entry *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->nomem = 1;
            return 1; /* stop */
        }
        s->v = v;
        s->cap = cap;
    }
    /* The key, its NUL, then the value's bytes. */
    if (!(block = malloc(klen + 1 + len))) {
        s->nomem = 1;
        return 1;
    }
    memcpy(block, key, klen + 1);
    if (len > 0)
        memcpy(block + klen + 1, val, len);
    e = &s->v[s->n++];
    e->name = NULL;
    e->key = block;
    e->value = (const unsigned char *)block + klen + 1;
    e->len = len;
    e->version = me->version;
    e->expires = w->ttl && me->ms_left >= 0;
    e->ms_left = e->expires ? me->ms_left : 0;
    return 0;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const cli_entry *)a)->key, ((const cli_entry *)b)->key);
}

int cli_map_snapshot(smem_map *m, unsigned flags, cli_snapshot *s)
{
    snap_walk w = {s, (flags & CLI_SNAP_TTL) != 0};
    int rc;
    memset(s, 0, sizeof *s);
    rc = smem_map_walk(m, flags & CLI_SNAP_STALE ? SMEM_WALK_STALE : 0, take_entry, &w);
    if (s->nomem)
        rc = SMEM_ENOMEM;
    if (rc < 0) {
        cli_snapshot_free(s);
        return rc;
    }
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, by_key);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Showing a value or an entry                                            */

void cli_entry_members(const cli_entry *e)
{
    if (e->name) {
        fputs("\"name\":", stdout);
        cli_json_string(stdout, e->name);
        fputc(',', stdout);
    }
    if (e->key) {
        fputs("\"key\":", stdout);
        cli_json_string(stdout, e->key);
        fputc(',', stdout);
    }
    fprintf(stdout, "\"length\":%llu,\"version\":%llu,\"value\":", (unsigned long long)e->len,
            (unsigned long long)e->version);
    if (e->value)
        cli_json_bytes(stdout, e->value, e->len);
    else
        fputs("null", stdout);
    if (e->expires)
        fprintf(stdout, ",\"ttl_ms\":%lld%s", (long long)e->ms_left,
                e->ms_left == 0 ? ",\"stale\":true" : "");
}

void cli_entry_print(const cli_entry *e, enum cli_entry_form form)
{
    switch (form) {
    case CLI_ENTRY_JSON:
        fputc('{', stdout);
        cli_entry_members(e);
        fputs("}\n", stdout);
        break;
    case CLI_ENTRY_EXACT:
        cli_write_value(e->value, e->len);
        break;
    case CLI_ENTRY_LINE:
        if (e->value)
            fwrite(e->value, 1, e->len, stdout);
        fputc('\n', stdout);
        break;
    case CLI_ENTRY_TEXT:
        cli_text_bytes(stdout, e->key, strlen(e->key));
        if (e->value) {
            fputc('\t', stdout);
            cli_text_bytes(stdout, e->value, e->len);
        }
        fputs(e->expires && e->ms_left == 0 ? "\t(expired)\n" : "\n", stdout);
        break;
    }
}

/* ---------------------------------------------------------------------- */
/* Regions of any kind                                                    */

enum smem_kind cli_region_kind(const char *name)
{
    smem_info info;
    memset(&info, 0, sizeof info);
    if (smem_region_stat(name, &info) < 0)
        return SMEM_KIND_UNKNOWN;
    return info.kind;
}

int cli_region_bytes(const cli_cmd *cmd, const char *name, enum cli_bytes_how how)
{
    smem_opts opts;
    smem_region *r = NULL;
    memset(&opts, 0, sizeof opts);
    opts.flags = SMEM_RDONLY | SMEM_ANYKIND;
    int rc = smem_region_open(name, 0, &opts, &r);
    if (rc < 0)
        return cli_fail(cmd, name, rc);
    const unsigned char *p = smem_region_data(r);
    size_t n = smem_region_size(r);
    if (how == CLI_BYTES_AUTO)
        how = cli_os_is_terminal(stdout) ? CLI_BYTES_HEX : CLI_BYTES_RAW;
    if (how == CLI_BYTES_JSON) {
        fputs("{\"name\":", stdout);
        cli_json_string(stdout, name);
        fprintf(stdout, ",\"kind\":\"%s\",\"size\":%llu,\"hex\":\"",
                cli_kind_name(cli_region_kind(name)), (unsigned long long)n);
        for (size_t i = 0; i < n; i++)
            fprintf(stdout, "%02x", p[i]);
        fputs("\"}\n", stdout);
    } else if (how == CLI_BYTES_HEX) {
        cli_hex_dump(stdout, p, n);
    } else {
        cli_os_binary(stdout);
        fwrite(p, 1, n, stdout);
    }
    fflush(stdout);
    rc = smem_region_check(r); /* shrunk meanwhile: what we wrote was zeros */
    smem_region_close(r);
    return rc < 0 ? cli_fail(cmd, name, rc) : CLI_OK;
}
