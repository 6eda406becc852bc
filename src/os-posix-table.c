/*
 * Tables on Linux: the files a region's layer keeps more data in when it
 * outgrows the region (a map that grew: map-resize.c).  Table GEN of the
 * region NAME is the file SHM_DIR/smem.-table.NAME.GEN.  "-table.NAME.GEN"
 * is no region name, so nothing lists, opens or removes a table as a
 * region, and no region's name can lead to a table: NAME.GEN of one name
 * is never NAME'.GEN' of another, since GEN is digits only and a region
 * NAME'= NAME.D would give tables NAME.D.GEN'.
 *
 * A table is made like a region's file: a new file replacing whatever had
 * the name, its space reserved (so that touching it never faults), the
 * region's mode, mapped with a SIGBUS guard.  Opening one checks that it
 * is a regular file of ours.  It goes with its region: unlinking the
 * region or making a new one under its name drops every table of it.
 */
#include "os-posix-shared.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The table file's name in SHM_DIR, and its path. */
static void table_path(const smem__os_obj *o, uint32_t gen, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s%s.%u", SHM_DIR, TABLE_PREFIX, o->name, (unsigned)gen);
}

#define TABLE_PATH_MAX (sizeof SHM_DIR "/" TABLE_PREFIX + SMEM_NAME_MAX + 12)

int smem__os_table_create(smem__os_obj *o, uint32_t gen, uint64_t total, void **addr)
{
    if (total > (uint64_t)INT64_MAX)
        return SMEM_E2BIG;
    struct stat region;
    if (o->fd < 0)
        return SMEM_EBADF;
    if (fstat(o->fd, &region) < 0)
        return -errno;
    char path[TABLE_PATH_MAX];
    table_path(o, gen, path, sizeof path);
    if (unlink(path) < 0 && errno != ENOENT) /* a stale one, from a resize that died */
        return errno == EPERM || errno == EACCES ? SMEM_EACCES : -errno;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | OPEN_FLAGS, 0600);
    if (fd < 0)
        return errno == EEXIST ? SMEM_EACCES : -errno; /* EEXIST: put there since, not ours */
    int e;
    do /* as in smem__os_reset: ENOSPC now, not SIGBUS later */
        e = posix_fallocate(fd, 0, (off_t)total);
    while (e == EINTR);
    int rc = e ? (e == EFBIG ? SMEM_ENOSPC : -e) : 0;
    if (rc == 0 && fchmod(fd, region.st_mode & 0777) < 0)
        rc = -errno;
    if (rc == 0)
        rc = smem__posix_map_fd(fd, total, 0, addr);
    close(fd); /* the mapping keeps the file */
    if (rc < 0)
        unlink(path);
    return rc;
}

int smem__os_table_open(smem__os_obj *o, uint32_t gen, int rdonly, void **addr, uint64_t *total)
{
    char path[TABLE_PATH_MAX];
    table_path(o, gen, path, sizeof path);
    int fd = open(path, (rdonly ? O_RDONLY : O_RDWR) | OPEN_FLAGS);
    if (fd < 0)
        return errno == ENOENT ? SMEM_ENOENT : errno == ELOOP ? SMEM_EACCES : -errno;
    struct stat sb;
    int rc = fstat(fd, &sb) < 0 ? -errno : smem__posix_check_ours(&sb);
    if (rc == 0 && sb.st_size <= 0)
        rc = SMEM_EBADREGION;
    if (rc == 0) {
        *total = (uint64_t)sb.st_size;
        rc = smem__posix_map_fd(fd, *total, rdonly, addr);
    }
    close(fd);
    return rc;
}

int smem__os_table_drop(smem__os_obj *o, uint32_t gen)
{
    char path[TABLE_PATH_MAX];
    table_path(o, gen, path, sizeof path);
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Whether FILE (a name in SHM_DIR) is a table of the region NAME. */
static int is_table_of(const char *file, const char *name)
{
    size_t plen = strlen(TABLE_PREFIX), nlen = strlen(name);
    if (strncmp(file, TABLE_PREFIX, plen) != 0 || strncmp(file + plen, name, nlen) != 0)
        return 0;
    const char *gen = file + plen + nlen;
    if (gen[0] != '.' || gen[1] == '\0')
        return 0;
    for (gen++; *gen; gen++)
        if (*gen < '0' || *gen > '9')
            return 0;
    return 1;
}

void smem__posix_drop_tables(smem__os_obj *o)
{
    DIR *d = opendir(SHM_DIR);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (is_table_of(e->d_name, o->name))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}
