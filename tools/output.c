/*
 * output.c — how `sharedmem` writes bytes for people and for programs:
 * JSON strings (cli_json_bytes), the text escape of keys, `dump` and
 * messages (cli_text_bytes, cli_text_quote), a value's exact bytes
 * (cli_write_value) and hex dumps (cli_hex_dump).  The rules are those
 * documented in cli.h and sharedmem(1).  Portable C11, as cli.c.
 */
#include "cli.h"

#include <string.h>

/* ---------------------------------------------------------------------- */
/* JSON strings and the text escape                                       */

/* The length of the well-formed UTF-8 sequence at P (at most N bytes
 * available) that starts with a byte >= 0x80, or 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char b = p[0];
    size_t need, i;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

    if (b >= 0xc2 && b <= 0xdf)
        need = 2;
    else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        if (b == 0xe0)
            lo = 0xa0; /* no overlong forms */
        else if (b == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        if (b == 0xf0)
            lo = 0x90; /* no overlong forms */
        else if (b == 0xf4)
            hi = 0x8f; /* at most U+10FFFF */
    } else
        return 0; /* 0x80-0xc1 and 0xf5-0xff never start a sequence */
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return need;
}

void cli_json_bytes(FILE *f, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;

    fputc('"', f);
    while (i < len) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = utf8_seq_len(p + i, len - i);
            if (n == 0) {
                fprintf(f, "\\u%04x", c); /* a byte outside any sequence */
                i++;
            } else {
                fwrite(p + i, 1, n, f);
                i += n;
            }
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
        i++;
    }
    fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
    cli_json_bytes(f, s, strlen(s));
}

/* The text form of the character at P (N > 0 bytes available) into OUT
 * (at least 5 bytes): its length in OUT, and in *used the bytes of P it
 * stands for.  The rule is that of cli_text_bytes. */
static size_t text_char(const unsigned char *p, size_t n, char *out, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = p[0];
    size_t k;

    *used = 1;
    if (c >= 0x80 && (k = utf8_seq_len(p, n)) > 0) {
        memcpy(out, p, k);
        *used = k;
        return k;
    }
    switch (c) {
    case '\\': memcpy(out, "\\\\", 2); return 2;
    case '\t': memcpy(out, "\\t", 2); return 2;
    case '\n': memcpy(out, "\\n", 2); return 2;
    case '\r': memcpy(out, "\\r", 2); return 2;
    default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 15];
    return 4;
}

void cli_text_bytes(FILE *f, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len) {
        char out[8];
        size_t used, k = text_char(p + i, len - i, out, &used);
        fwrite(out, 1, k, f);
        i += used;
    }
}

const char *cli_text_quote(char *buf, size_t n, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0;

    if (n < 4) { /* room for "..." and the NUL at least */
        if (n)
            buf[0] = '\0';
        return buf;
    }
    while (i < len) {
        char out[8];
        size_t used, k = text_char(p + i, len - i, out, &used);
        if (o + k + 4 > n && (o + k + 1 > n || i + used < len)) {
            memcpy(buf + o, "...", 3); /* o + 4 <= n: checked before each copy */
            o += 3;
            break;
        }
        memcpy(buf + o, out, k);
        o += k;
        i += used;
    }
    buf[o] = '\0';
    return buf;
}

/* ---------------------------------------------------------------------- */
/* Writing values                                                         */

void cli_write_value(const void *p, size_t len)
{
    if (cli_os_is_terminal(stdout)) {
        fwrite(p, 1, len, stdout);
        if (len == 0 || ((const unsigned char *)p)[len - 1] != '\n')
            fputc('\n', stdout);
        return;
    }
    cli_os_binary(stdout);
    fwrite(p, 1, len, stdout); /* main() reports a write error */
}

void cli_hex_dump(FILE *f, const unsigned char *p, size_t len)
{
    for (size_t off = 0; off < len; off += 16) {
        size_t n = len - off < 16 ? len - off : 16;
        fprintf(f, "%08llx:", (unsigned long long)off);
        for (size_t i = 0; i < 16; i++) {
            if (i % 2 == 0)
                fputc(' ', f);
            if (i < n)
                fprintf(f, "%02x", p[off + i]);
            else
                fputs("  ", f);
        }
        fputs("  ", f);
        for (size_t i = 0; i < n; i++)
            fputc(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.', f);
        fputc('\n', f);
    }
}
