/* Error codes: values, messages, names; the library version. */
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

struct code {
    int value;
    const char *name;
    const char *msg;
};

static const struct code codes[] = {
#define X(name, value, msg) {value, "SMEM_" #name, msg},
    SMEM_ERRNO_MAP(X)
#undef X
};
#define N_CODES (sizeof codes / sizeof codes[0])

int main(int argc, char **argv)
{
    th_dispatch(argc, argv, NULL);

    /* System codes equal -errno on Linux.  Other systems number errno
     * differently (Windows' C runtime too); the codes keep Linux's values
     * there, from the same header. */
#ifdef __linux__
#define SYS(e) CHECK_EQ_INT(SMEM_##e, -e)
    SYS(EPERM); SYS(ENOENT); SYS(EINTR); SYS(EIO); SYS(E2BIG); SYS(EBADF);
    SYS(EAGAIN); SYS(ENOMEM); SYS(EACCES); SYS(EBUSY); SYS(EEXIST); SYS(ENOTDIR);
    SYS(EISDIR); SYS(EINVAL); SYS(ENFILE); SYS(EMFILE); SYS(EFBIG); SYS(ENOSPC);
    SYS(EROFS); SYS(ERANGE); SYS(ENAMETOOLONG); SYS(ENOSYS); SYS(ELOOP);
    SYS(EOVERFLOW); SYS(ENOTSUP); SYS(ETIMEDOUT); SYS(ECANCELED);
#undef SYS
#endif
    /* Library codes live outside the errno range. */
    CHECK(SMEM_EBADREGION <= -1000);
    CHECK(SMEM_EVERSION <= -1000);
    CHECK(SMEM_EMISMATCH <= -1000);

    const char *unknown = smem_strerror(-9999);
    CHECK(unknown != NULL);
    CHECK(strstr(unknown, "unknown") != NULL);

    for (size_t i = 0; i < N_CODES; i++) {
        const struct code *c = &codes[i];
        CHECKF(c->value < 0, "%s is not negative", c->name);
        const char *msg = smem_strerror(c->value);
        const char *name = smem_err_name(c->value);
        CHECKF(msg && *msg, "smem_strerror(%s) is empty", c->name);
        CHECK_EQ_STR(msg, c->msg);
        CHECKF(strcmp(msg, unknown) != 0, "smem_strerror(%s) is the unknown message", c->name);
        CHECK_EQ_STR(name, c->name);
        for (size_t j = 0; j < i; j++) {
            CHECKF(codes[j].value != c->value, "%s and %s share a value", codes[j].name, c->name);
            CHECKF(strcmp(smem_strerror(codes[j].value), msg) != 0,
                   "%s and %s share the message \"%s\"", codes[j].name, c->name, msg);
        }
    }

    /* Unknown codes: a non-empty static message and the name "SMEM_E?". */
    const int bad[] = {-3, -6, -1000, -1006, -9999, 1, 22, 12345, INT_MIN, INT_MAX, -INT_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *msg = smem_strerror(bad[i]);
        CHECKF(msg && *msg, "smem_strerror(%d) is empty", bad[i]);
        CHECK_EQ_STR(msg, unknown);
        CHECK_EQ_STR(smem_err_name(bad[i]), "SMEM_E?");
    }
    /* 0 is not an error code but must still give a string. */
    CHECK(smem_strerror(0) != NULL);
    CHECK(smem_err_name(0) != NULL);

    CHECK_EQ_STR(smem_version(), SMEM_VERSION_STRING);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", SMEM_VERSION_MAJOR, SMEM_VERSION_MINOR, SMEM_VERSION_PATCH);
    CHECK_EQ_STR(smem_version(), v);
    return 0;
}
