/*
 * The demo's worker: writes a line of text into a region, or reads it back.
 *
 *   smem-demo write NAME TEXT   attach to NAME (it must exist) and store TEXT
 *   smem-demo read NAME         attach to NAME and print what is stored
 *
 * It shows the region layer alone: plain bytes, no synchronisation between
 * a writer and a reader running at the same moment (the value layer adds
 * that).  Here the two run one after the other.
 */
#include "sharedmem.h"

#include <stdio.h>
#include <string.h>

static int fail(const char *what, const char *name, int err)
{
    fprintf(stderr, "smem-demo: %s %s: %s\n", what, name, smem_strerror(err));
    return 1;
}

int main(int argc, char **argv)
{
    int writing = argc == 4 && strcmp(argv[1], "write") == 0;
    int reading = argc == 3 && strcmp(argv[1], "read") == 0;
    if (!writing && !reading) {
        fprintf(stderr, "usage: smem-demo write NAME TEXT | smem-demo read NAME\n");
        return 2;
    }
    const char *name = argv[2];
    smem_opts opts = {.flags = SMEM_NOCREATE | (reading ? SMEM_RDONLY : 0)};
    smem_region *r;
    int rc = smem_region_open(name, 0, &opts, &r);
    if (rc < 0)
        return fail(argv[1], name, rc);

    char *data = smem_region_data(r);
    size_t size = smem_region_size(r);
    if (writing) {
        size_t n = strlen(argv[3]);
        if (n >= size)
            n = size - 1; /* keep the terminating NUL inside the region */
        memcpy(data, argv[3], n);
        data[n] = '\0';
        printf("writer: stored %zu bytes in region %s\n", n, name);
    } else {
        const char *end = memchr(data, '\0', size);
        int len = (int)(end ? (size_t)(end - data) : size);
        printf("reader: region %s holds: %.*s\n", name, len, data);
    }
    smem_region_close(r);
    return 0;
}
