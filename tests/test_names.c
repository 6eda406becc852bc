/* Name grammar and size rules of smem_region_open. */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A bad NAME is refused with CODE by every entry point, and no file
 * appears. */
static void bad_name(const char *name, int code)
{
    char shown[80];
    snprintf(shown, sizeof shown, "%.70s", name ? name : "(null)");
    int r = smem_name_check(name);
    CHECKF(r == code, "smem_name_check(\"%s\") = %d (%s), expected %s", shown, r,
           smem_err_name(r), smem_err_name(code));

    smem_region *reg = (smem_region *)(uintptr_t)1;
    r = smem_region_open(name, 4096, NULL, &reg);
    CHECKF(r == code, "smem_region_open(\"%s\") = %d (%s), expected %s", shown, r,
           smem_err_name(r), smem_err_name(code));
    CHECKF(reg == NULL, "smem_region_open(\"%s\") failed but left *out non-NULL", shown);

    const smem_opts ro = {SMEM_RDONLY, 0, 0, NULL, NULL};
    reg = (smem_region *)(uintptr_t)1;
    r = smem_region_open(name, 0, &ro, &reg);
    CHECKF(r == code, "smem_region_open(\"%s\", RDONLY) = %d (%s), expected %s", shown, r,
           smem_err_name(r), smem_err_name(code));
    CHECK(reg == NULL);

    r = smem_region_remove(name);
    CHECKF(r == code, "smem_region_remove(\"%s\") = %d (%s), expected %s", shown, r,
           smem_err_name(r), smem_err_name(code));
    smem_info info;
    r = smem_region_stat(name, &info);
    CHECKF(r == code, "smem_region_stat(\"%s\") = %d (%s), expected %s", shown, r,
           smem_err_name(r), smem_err_name(code));
    /* NULL is no bad name for gc: it means every region of ours, which a
     * test must never touch (test_gc_all does it in a /dev/shm of its own). */
    if (name) {
        r = smem_region_gc(name);
        CHECKF(r == code, "smem_region_gc(\"%s\") = %d (%s), expected %s", shown, r,
               smem_err_name(r), smem_err_name(code));
    }

    if (name && !strchr(name, '/') && strlen(name) < 100)
        CHECKF(!th_shm_exists(name), "a file was created for the bad name \"%s\"", shown);
}

/* A good NAME can be created, seen in /dev/shm, and is gone after close. */
static void good_name(const char *name)
{
    CHECK_OK(smem_name_check(name));
    smem_region *r = NULL;
    CHECK_OK(smem_region_open(name, 4096, NULL, &r));
    CHECK(r != NULL);
    CHECK_EQ_INT(smem_region_created(r), 1);
    CHECK_EQ_STR(smem_region_name(r), name);
    CHECKF(th_shm_exists(name), "no /dev/shm/smem.%s", name);
    smem_region_close(r);
    CHECKF(!th_shm_exists(name), "/dev/shm/smem.%s still there after close", name);
}

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);
    char base[SMEM_NAME_MAX + 1], name[256];
    th_name(base, "names");

    /* ---- good names ---- */
    good_name(base);
    const char *prefixes[] = {"a", "Z", "0", "9", "a.b-c_d", "A1", "x..y", "v1.2.3"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", prefixes[i], base);
        th_cleanup_name(name);
        good_name(name);
    }
    /* Exactly 64 characters, and trailing '.', '-', '_'. */
    snprintf(name, sizeof name, "%s", base);
    while (strlen(name) < SMEM_NAME_MAX)
        strcat(name, "x");
    CHECK_EQ_INT(strlen(name), 64);
    th_cleanup_name(name);
    good_name(name);
    const char *suffixes[] = {".", "-", "_", "..", "-_."};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", base, suffixes[i]);
        th_cleanup_name(name);
        good_name(name);
    }

    /* ---- bad names ---- */
    bad_name(NULL, SMEM_EINVAL);
    bad_name("", SMEM_EINVAL);
    bad_name(".", SMEM_EINVAL);
    bad_name("..", SMEM_EINVAL);
    const char *bad_first[] = {".", "-", "_", "/", " "};
    for (size_t i = 0; i < sizeof bad_first / sizeof bad_first[0]; i++) {
        snprintf(name, sizeof name, "%s%s", bad_first[i], base);
        bad_name(name, SMEM_EINVAL);
    }
    const char *bad_inside[] = {"/", " ", "\t", "\n", "*", "?", ":", "\\", "\x7f",
                                "\x01", "\xc3\xa9", "\xff", "%", "+", "~", "\"", "'"};
    for (size_t i = 0; i < sizeof bad_inside / sizeof bad_inside[0]; i++) {
        snprintf(name, sizeof name, "a%s%s", bad_inside[i], base);
        bad_name(name, SMEM_EINVAL);
        snprintf(name, sizeof name, "%s%s", base, bad_inside[i]);
        bad_name(name, SMEM_EINVAL);
    }
    bad_name("../etc/passwd", SMEM_EINVAL);
    bad_name("a/../../etc", SMEM_EINVAL);
    /* 65 characters and more. */
    snprintf(name, sizeof name, "%s", base);
    while (strlen(name) < SMEM_NAME_MAX + 1)
        strcat(name, "y");
    bad_name(name, SMEM_ENAMETOOLONG);
    while (strlen(name) < 255)
        strcat(name, "z");
    bad_name(name, SMEM_ENAMETOOLONG);
    {
        static char huge[100000];
        memset(huge, 'a', sizeof huge - 1);
        bad_name(huge, SMEM_ENAMETOOLONG);
    }

    /* ---- NULL out ---- */
    CHECK_ERR(smem_region_open(base, 4096, NULL, NULL), SMEM_EINVAL);
    CHECK(!th_shm_exists(base));

    /* ---- sizes ---- */
    smem_region *r = (smem_region *)(uintptr_t)1, *r2 = NULL;
    CHECK_ERR(smem_region_open(base, 0, NULL, &r), SMEM_EINVAL);
    CHECK(r == NULL);
    CHECK(!th_shm_exists(base));

    r = (smem_region *)(uintptr_t)1;
    CHECK_ERR(smem_region_open(base, SIZE_MAX, NULL, &r), SMEM_E2BIG);
    CHECK(r == NULL);
    CHECK(!th_shm_exists(base));
    CHECK_ERR(smem_region_open(base, SMEM_SIZE_MAX + 1, NULL, &r), SMEM_E2BIG);
    CHECK(!th_shm_exists(base));
    CHECK_ERR(smem_region_open(base, SIZE_MAX - 127, NULL, &r), SMEM_E2BIG);
    CHECK_ERR(smem_region_open(base, SIZE_MAX / 2 + 1, NULL, &r), SMEM_E2BIG);
    CHECK(!th_shm_exists(base));

    /* Odd sizes are kept exactly; data is 64-byte aligned. */
    const size_t sizes[] = {1, 63, 64, 100, 4095, 4096, 4097, 65536 + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK_OK(smem_region_open(base, sizes[i], NULL, &r));
        CHECK_EQ_SIZE(smem_region_size(r), sizes[i]);
        CHECK(smem_region_data(r) != NULL);
        CHECK_EQ_INT((uintptr_t)smem_region_data(r) % 64, 0);
        CHECK(th_all_zero(smem_region_data(r), sizes[i]));
        memset(smem_region_data(r), 0x5a, sizes[i]);

        /* attach with 0: accepts the existing size */
        CHECK_OK(smem_region_open(base, 0, NULL, &r2));
        CHECK_EQ_INT(smem_region_created(r2), 0);
        CHECK_EQ_SIZE(smem_region_size(r2), sizes[i]);
        CHECK(((unsigned char *)smem_region_data(r2))[sizes[i] - 1] == 0x5a);
        smem_region_close(r2);
        /* attach with the same size */
        CHECK_OK(smem_region_open(base, sizes[i], NULL, &r2));
        CHECK_EQ_INT(smem_region_created(r2), 0);
        smem_region_close(r2);
        /* any other size: mismatch, and the region is untouched */
        const size_t other[] = {sizes[i] + 1, sizes[i] - 1, sizes[i] * 2, 1 << 20};
        for (size_t j = 0; j < sizeof other / sizeof other[0]; j++) {
            if (other[j] == 0 || other[j] == sizes[i])
                continue;
            r2 = (smem_region *)(uintptr_t)1;
            int rc = smem_region_open(base, other[j], NULL, &r2);
            CHECKF(rc == SMEM_EMISMATCH, "open size %zu of a %zu-byte region: %d (%s)",
                   other[j], sizes[i], rc, smem_err_name(rc));
            CHECK(r2 == NULL);
        }
        CHECK_EQ_SIZE(smem_region_size(r), sizes[i]);
        CHECK(((unsigned char *)smem_region_data(r))[0] == 0x5a);
        smem_region_close(r);
        CHECK(!th_shm_exists(base));
    }
    /* NOCREATE with size 0 on a missing region is ENOENT, not EINVAL. */
    const smem_opts nc = {SMEM_NOCREATE, 0, 0, NULL, NULL};
    CHECK_ERR(smem_region_open(base, 0, &nc, &r), SMEM_ENOENT);

    smem_region_close(NULL); /* a no-op */
    return 0;
}
