/* tok_unicode.h - the Unicode facts the tokenizers need: UTF-8 decoding, character classes
 * (from libutf8proc's category tables, not hand-picked ranges) and GPT-2's byte-to-unicode map.
 */
#ifndef LLMR_TOK_UNICODE_H
#define LLMR_TOK_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Character class bits, as the pre-tokenizer regexes use them:
 * \p{L}, \p{N}, \p{P}, \p{S}, \p{M}, \p{C}, \s. OTHER marks a code point in none of
 * L/N/P/S/M/C/Z (unassigned): it still counts as "not \s, not L, not N". */
enum {
    UC_LETTER = 1u << 0,
    UC_NUMBER = 1u << 1,
    UC_PUNCT  = 1u << 2,
    UC_SYMBOL = 1u << 3,
    UC_MARK   = 1u << 4,
    UC_CTRL   = 1u << 5,   /* Cc, Cf, Co, Cs */
    UC_SPACE  = 1u << 6,   /* the White_Space property (PropList.txt) */
    UC_OTHER  = 1u << 7,   /* unassigned (Cn) and separators that are not White_Space */
};

/* Builds the tables below; call once before using them (any thread; runs once). */
void uc_init(void);

/* Flags of code point cp (0 for cp > 0x10FFFF), from utf8proc_category(); ASCII from a table
 * built from the same source by uc_init, as it is looked up for every byte of English text.
 * White_Space = Zs, Zl, Zp, U+0009..U+000D and U+0085, which is exactly the property's list
 * in PropList.txt. */
extern uint8_t uc_ascii_flags[128];
uint8_t uc_flags_slow(uint32_t cp);
static inline uint8_t uc_flags(uint32_t cp)
{
    return cp < 128 ? uc_ascii_flags[cp] : uc_flags_slow(cp);
}

/* Length of the valid UTF-8 sequence at s[0..n) (1..4), or 0 when s does not start one:
 * a stray continuation byte, an overlong form, a surrogate, a value past U+10FFFF, or a
 * sequence cut short by n. *cp receives the code point when valid. */
int uc_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Encodes cp as UTF-8 into out (room for 4); returns the length. */
int uc_encode(uint32_t cp, char *out);

/* Byte length a lead byte announces (1 for ASCII and for invalid lead bytes), as
 * SentencePiece and llama.cpp split text into characters. */
static inline int uc_lead_len(uint8_t b)
{
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[b >> 4];
}

/* Copies text with every byte that does not begin a valid UTF-8 sequence replaced by U+FFFD
 * (EF BF BD). Returns a malloc'd, NUL-terminated copy (length in *out_len), or NULL when
 * out of memory. Returns text itself (no copy) in *same = true when it is already valid. */
char *uc_sanitize(const char *text, size_t len, size_t *out_len, bool *same);

/* GPT-2's reversible byte <-> code point map (bytes.py bytes_to_unicode in openai/gpt-2):
 * printable Latin-1 bytes map to themselves, the other 68 to U+0100 upwards, in order. */
uint32_t uc_byte_to_cp(uint8_t b);
/* The byte for code point cp, or -1 when cp is not in the map. */
int uc_cp_to_byte(uint32_t cp);

#endif
