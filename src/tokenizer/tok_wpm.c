/* tok_wpm.c - WordPiece ("bert" in GGUF), as BERT's BasicTokenizer + WordpieceTokenizer.
 *
 * Normalization (BertNormalizer with lowercase and strip_accents): NFD, drop nonspacing
 * marks (Mn), lowercase; control characters, NUL and U+FFFD are dropped; white space ends a
 * word; punctuation (Unicode P, and every ASCII symbol) and CJK ideographs are words of their
 * own. Each word is then cut greedily into the longest vocabulary pieces. GGUF stores BERT's
 * word-initial pieces with a leading U+2581 and continuation pieces without their "##"
 * (llama.cpp's converter), so a word is matched as "\u2581word". A word that cannot be cut
 * entirely, or has more than 100 characters (Hugging Face's limit), becomes [UNK].
 */
#include "core/buf.h"
#include "tokenizer/tok_impl.h"
#include "tokenizer/tok_unicode.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* BERT's _is_chinese_char: the CJK Unified Ideographs blocks and their extensions. */
static bool is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Appends to the word being built; a result code as the encoders return. */
static int word_put(llmr_buf *b, const char *s, size_t n)
{
    return llmri_buf_append(b, s, n) ? LLMR_OK : LLMR_ERR_NOMEM;
}

/* Cuts the word in b (which starts with U+2581) into the longest pieces, left to right. */
static int wpm_word(const llmr_tokenizer *t, llmr_buf *b, tok_vec *out)
{
    size_t n = b->len;
    if (n <= 3)
        return LLMR_OK;
    /* WordpieceTokenizer's max_input_chars_per_word: a word of more than 100 characters is
     * [UNK] without being cut */
    size_t chars = 0;
    for (size_t i = 3; i < n; i++)
        chars += ((uint8_t)b->p[i] & 0xC0) != 0x80;
    if (chars > 100)
        return t->unk >= 0 ? tok_vec_push(out, t->unk) : LLMR_OK;
    size_t n0 = out->n;
    const char *w = b->p;
    for (size_t i = 0; i < n;) {
        size_t hi = i + t->max_token_len;
        if (hi > n)
            hi = n;
        int32_t id = -1;
        size_t j;
        for (j = hi; j > i; j--) {
            id = tok_lookup(t, w + i, j - i);
            if (id >= 0 && id < t->n_vocab)
                break;
        }
        if (j == i) {
            out->n = n0;   /* the word cannot be cut: it is [UNK] as a whole */
            break;
        }
        int rc = tok_vec_push(out, id);
        if (rc)
            return rc;
        i = j;
    }
    if (out->n == n0 && t->unk >= 0)
        return tok_vec_push(out, t->unk);
    return LLMR_OK;
}

static int end_word(const llmr_tokenizer *t, llmr_buf *b, tok_vec *out)
{
    int rc = wpm_word(t, b, out);
    llmri_buf_truncate(b, 0);
    return rc ? rc : word_put(b, "\xE2\x96\x81", 3);
}

int wpm_encode(const llmr_tokenizer *t, const char *text, size_t len, tok_vec *out)
{
    llmr_buf b = {0};
    int rc = word_put(&b, "\xE2\x96\x81", 3);
    for (size_t i = 0; rc == LLMR_OK && i < len;) {
        uint32_t cp;
        int l = uc_decode((const uint8_t *)text + i, len - i, &cp);
        if (l == 0) {
            cp = 0xFFFD;
            l = 1;
        }
        i += (size_t)l;
        utf8proc_int32_t dec[32];
        int last = 0;
        utf8proc_ssize_t nd = utf8proc_decompose_char((utf8proc_int32_t)cp, dec, 32,
                                                      UTF8PROC_DECOMPOSE, &last);
        if (nd < 1 || nd > 32) {
            dec[0] = (utf8proc_int32_t)cp;
            nd = 1;
        }
        for (utf8proc_ssize_t k = 0; rc == LLMR_OK && k < nd; k++) {
            uint32_t c = (uint32_t)dec[k];
            uint8_t f = uc_flags(c);
            if (f & UC_SPACE) {
                rc = end_word(t, &b, out);
                continue;
            }
            if (c == 0 || c == 0xFFFD || (f & (UC_CTRL | UC_OTHER)))
                continue;
            if (utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_MN)
                continue;   /* strip_accents */
            c = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
            char u[4];
            int ul = uc_encode(c, u);
            if ((f & UC_PUNCT) || (c < 0x7F && (f & UC_SYMBOL)) || is_cjk(c)) {
                if ((rc = end_word(t, &b, out)) || (rc = word_put(&b, u, (size_t)ul)))
                    break;
                rc = end_word(t, &b, out);
            } else {
                rc = word_put(&b, u, (size_t)ul);
            }
        }
    }
    if (rc == LLMR_OK)
        rc = wpm_word(t, &b, out);
    llmri_buf_free(&b);
    return rc;
}
