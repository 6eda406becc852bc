/* Error messages and names, generated from the one table in sharedmem.h. */
#include "sharedmem.h"

const char *smem_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define SMEM__ERR_MSG(name, value, msg)                                        \
    case SMEM_##name:                                                          \
        return msg;
        SMEM_ERROR_MAP(SMEM__ERR_MSG)
#undef SMEM__ERR_MSG
    default:
        return "unknown error";
    }
}

const char *smem_err_name(int err)
{
    switch (err) {
    case 0:
        return "0";
#define SMEM__ERR_NAME(name, value, msg)                                       \
    case SMEM_##name:                                                          \
        return "SMEM_" #name;
        SMEM_ERROR_MAP(SMEM__ERR_NAME)
#undef SMEM__ERR_NAME
    default:
        return "SMEM_E?";
    }
}

const char *smem_version(void)
{
    return SMEM_VERSION_STRING;
}
