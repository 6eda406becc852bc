/*
 * The text of a map's counters (smem_map_incr): a signed 64-bit integer
 * in decimal, as any reader of the value sees it.
 */
#include "map-layout.h"

/* Parses the decimal text of a signed 64-bit integer: an optional '-',
 * then 1 to 19 digits.  0, SMEM_EINVAL, or SMEM_ERANGE. */
int smem__map_parse_counter(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = len > 0 && s[0] == '-';
    i += (size_t)neg;
    if (i == len)
        return SMEM_EINVAL;
    uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return SMEM_EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (mag > (limit - d) / 10)
            return SMEM_ERANGE;
        mag = mag * 10 + d;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

/* Writes N in decimal into BUF (at least 20 bytes); returns the length. */
size_t smem__map_format_counter(int64_t n, char *buf)
{
    char tmp[20];
    uint64_t mag = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    size_t len = 0;
    do {
        tmp[len++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    size_t out = 0;
    if (n < 0)
        buf[out++] = '-';
    while (len)
        buf[out++] = tmp[--len];
    return out;
}
