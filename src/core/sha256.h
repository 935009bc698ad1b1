/* sha256.h - SHA-256 (FIPS 180-4), streaming. Used to fingerprint tensors and files. */
#ifndef LLMR_CORE_SHA256_H
#define LLMR_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct llmr_sha256 {
    uint32_t h[8];
    uint64_t len;          /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;
} llmr_sha256;

void llmri_sha256_init(llmr_sha256 *s);
void llmri_sha256_update(llmr_sha256 *s, const void *data, size_t n);
/* Writes the 32-byte digest; *s must be re-initialized before reuse. */
void llmri_sha256_final(llmr_sha256 *s, uint8_t out[32]);
/* Lower-case hex of a digest, NUL-terminated (65 bytes). */
void llmri_sha256_hex(const uint8_t digest[32], char out[65]);

#endif
