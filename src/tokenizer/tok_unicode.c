/* tok_unicode.c - UTF-8, character classes from libutf8proc, GPT-2's byte map. */
#include "tokenizer/tok_unicode.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static uint8_t flags_from_category(uint32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return UC_LETTER;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return UC_MARK;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return UC_NUMBER;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return UC_PUNCT;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        return UC_SYMBOL;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return UC_SPACE;
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
        return UC_CTRL;
    default:
        return UC_OTHER;
    }
}

uint8_t uc_ascii_flags[128];
static int16_t cp_byte[0x100 + 68];   /* code point -> byte of GPT-2's map, -1 if none */

static bool byte_is_printable(uint8_t b);

static void init_once(void)
{
    for (uint32_t c = 0; c < 128; c++) {
        uint8_t f = flags_from_category(c);
        if (c >= 0x09 && c <= 0x0D)
            f |= UC_SPACE;
        uc_ascii_flags[c] = f;
    }
    for (size_t i = 0; i < sizeof cp_byte / sizeof cp_byte[0]; i++)
        cp_byte[i] = -1;
    uint32_t next = 0x100;
    for (uint32_t b = 0; b < 256; b++)
        cp_byte[byte_is_printable((uint8_t)b) ? b : next++] = (int16_t)b;
}

void uc_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}

uint8_t uc_flags_slow(uint32_t cp)
{
    if (cp < 128)
        return uc_ascii_flags[cp];
    if (cp > 0x10FFFF)
        return 0;
    uint8_t f = flags_from_category(cp);
    if (cp == 0x85)
        f |= UC_SPACE;   /* NEXT LINE is Cc but White_Space */
    return f;
}

int uc_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    uint8_t b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    int len;
    uint32_t c, min;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2; c = b & 0x1F; min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3; c = b & 0x0F; min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4; c = b & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)len > n)
        return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

int uc_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *uc_sanitize(const char *text, size_t len, size_t *out_len, bool *same)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0, bad = 0;
    uint32_t cp;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int l = uc_decode(s + i, len - i, &cp);
        if (l == 0) {
            bad++;
            i++;
        } else {
            i += (size_t)l;
        }
    }
    *same = bad == 0;
    if (bad == 0) {
        *out_len = len;
        return (char *)text;
    }
    /* each bad byte (1 byte) becomes 3 bytes: len + 2*bad cannot overflow for real inputs,
     * but check anyway since len comes from the caller */
    if (bad > (SIZE_MAX - len - 1) / 2)
        return NULL;
    char *out = malloc(len + 2 * bad + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (i = 0; i < len;) {
        int l = s[i] < 0x80 ? 1 : uc_decode(s + i, len - i, &cp);
        if (l == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, (size_t)l);
            o += (size_t)l;
            i += (size_t)l;
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

/* bytes_to_unicode(): bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves; the
 * remaining 68 bytes, in increasing order, get U+0100, U+0101, ... */
static bool byte_is_printable(uint8_t b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t uc_byte_to_cp(uint8_t b)
{
    if (byte_is_printable(b))
        return b;
    uint32_t n = 0;
    for (uint32_t x = 0; x < b; x++)
        if (!byte_is_printable((uint8_t)x))
            n++;
    return 0x100 + n;
}

int uc_cp_to_byte(uint32_t cp)
{
    return cp < sizeof cp_byte / sizeof cp_byte[0] ? cp_byte[cp] : -1;
}
