/*
 * Inspection: smem_region_stat and smem_region_list, the one place that
 * knows every kind.  The region layer says what any region's file and
 * header say (smem__region_stat); each kind's layer reads its own header
 * (the figures below).  A new kind adds its line to `kinds` and touches no
 * file below it.
 */
#include "map.h"
#include "os.h"
#include "region.h"
#include "value.h"

#include <stddef.h>

/* A kind's figures: its own header, copied out of a region of that kind,
 * into INFO's capacity, max_value and entries.  SMEM_EBADREGION if they do
 * not fit the region. */
typedef int (*figures_fn)(const uint64_t *kind_hdr, smem_info *info);

static const struct {
    enum smem_kind kind;
    figures_fn figures;
} kinds[] = {
    {SMEM_KIND_VALUE, smem__value_figures},
    {SMEM_KIND_MAP, smem__map_figures},
};

int smem_region_stat(const char *name, smem_info *info)
{
    uint64_t kind_hdr[SMEM__KIND_HDR_WORDS];
    int rc = smem__region_stat(name, info, kind_hdr);
    if (rc < 0 || info->state == SMEM_STATE_BAD)
        return rc;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (kinds[i].kind == info->kind && kinds[i].figures(kind_hdr, info) < 0) {
            info->state = SMEM_STATE_BAD;
            info->error = SMEM_EBADREGION;
        }
    }
    return 0;
}

struct list_ctx {
    int (*fn)(const smem_info *info, void *arg);
    void *arg;
    int visited;
};

static int list_one(const char *name, void *arg)
{
    struct list_ctx *c = arg;
    smem_info info;
    if (smem_region_stat(name, &info) < 0)
        return 0; /* vanished since the directory was read */
    c->visited++;
    return c->fn(&info, c->arg);
}

int smem_region_list(int (*fn)(const smem_info *info, void *arg), void *arg)
{
    if (!fn)
        return SMEM_EINVAL;
    struct list_ctx c = {fn, arg, 0};
    int rc = smem__os_list(list_one, &c);
    return rc < 0 ? rc : c.visited;
}
