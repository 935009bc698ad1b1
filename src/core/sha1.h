/* sha1.h - SHA-1 (FIPS 180-4) of one buffer. Not for security: the WebSocket handshake
 * (RFC 6455, Sec-WebSocket-Accept) names it. */
#ifndef LLMR_CORE_SHA1_H
#define LLMR_CORE_SHA1_H

#include <stddef.h>
#include <stdint.h>

/* The 20-byte digest of data[0..n). */
void llmri_sha1(const void *data, size_t n, uint8_t out[20]);

#endif
