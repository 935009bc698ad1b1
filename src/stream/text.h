/* text.h - the text machinery of the generation loop: incremental UTF-8 assembly of token
 * bytes and stop-sequence matching with hold-back. Pure functions over llmr_buf buffers. */
#ifndef LLMR_STREAM_TEXT_H
#define LLMR_STREAM_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "llmr.h"

/* Incremental UTF-8 assembly. Token texts are raw bytes: with byte-fallback vocabularies
 * (SentencePiece <0xE2>) one character may be spread over several tokens, and a random model
 * may emit bytes that never form a character. The assembler passes on whole, well-formed
 * characters (Unicode 15 table 3-7), keeps an incomplete one until its next bytes arrive, and
 * turns each maximal ill-formed subpart into U+FFFD, as the Unicode "substitution of maximal
 * subparts" practice does, so delivered text is always valid UTF-8. */
typedef struct llmr_utf8 {
    unsigned char pend[4];
    int n;        /* bytes held */
    int need;     /* bytes in the character being assembled */
} llmr_utf8;

/* Feeds n bytes; appends complete text to out. False when out of memory. */
bool llmri_utf8_feed(llmr_utf8 *u, const char *bytes, size_t n, llmr_buf *out);
/* End of input: an incomplete character becomes U+FFFD. */
bool llmri_utf8_flush(llmr_utf8 *u, llmr_buf *out);
/* Code points in valid UTF-8 text (bytes that are not continuation bytes). */
size_t llmri_utf8_count(const char *s, size_t n);
/* Whether s[0..n) is well-formed UTF-8. */
bool llmri_utf8_valid(const char *s, size_t n);

/* Stop sequences. */
typedef struct llmr_stopset {
    const char *s[LLMR_MAX_STOP];
    size_t      len[LLMR_MAX_STOP];
    int         n;
} llmr_stopset;

/* Decides how much of t[0..n) (text not yet delivered) may be delivered. When a stop sequence
 * occurs in it, returns the offset of the earliest occurrence and sets *hit: the text from
 * there on is never delivered. Otherwise returns the offset of the longest suffix of t that is a
 * proper prefix of some stop sequence (n when there is none): that suffix is held back until
 * later text decides it. The offset is a character boundary when t and the stops are UTF-8. */
size_t llmri_stop_scan(const llmr_stopset *st, const char *t, size_t n, bool *hit);

#endif
