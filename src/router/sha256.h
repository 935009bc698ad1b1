/* sha256.h - SHA-256 (FIPS 180-4), incremental, for checking downloaded model files.
 * Lives in the router layer because only model downloads need it so far; nothing in it
 * depends on the router, so it can move to core/ when a second user appears. */
#ifndef LLMR_ROUTER_SHA256_H
#define LLMR_ROUTER_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct llmr_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;        /* message length so far */
    uint8_t  buf[64];        /* a partial block */
    size_t   n_buf;
} llmr_sha256;

void llmr_sha256_init(llmr_sha256 *c);
void llmr_sha256_update(llmr_sha256 *c, const void *data, size_t len);
void llmr_sha256_final(llmr_sha256 *c, uint8_t out[32]);
/* Lower-case hex of a digest: 64 characters and a NUL. */
void llmr_sha256_hex(const uint8_t d[32], char out[65]);
/* Hashes a whole file; false (errno set) when it cannot be read. */
bool llmr_sha256_file(const char *path, uint8_t out[32]);
/* True when s is exactly 64 hex digits (either case). */
bool llmr_sha256_hex_valid(const char *s);

#endif
