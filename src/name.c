/* The name grammar, the same on every OS. */
#include "sharedmem.h"

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int smem_name_check(const char *name)
{
    if (!name || !is_alnum(name[0]))
        return SMEM_EINVAL;
    size_t i = 1;
    for (; name[i]; i++) {
        char c = name[i];
        if (i >= SMEM_NAME_MAX)
            return SMEM_ENAMETOOLONG;
        if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
            return SMEM_EINVAL;
    }
    return 0;
}
