/* digest.h - file-level helpers over core/sha256.h for checking downloaded models. */
#ifndef LLMR_ROUTER_DIGEST_H
#define LLMR_ROUTER_DIGEST_H

#include "core/sha256.h"

#include <stdbool.h>

/* Hashes a whole file; false (errno set) when it cannot be read. */
bool llmr_sha256_file(const char *path, uint8_t out[32]);
/* True when s is exactly 64 hex digits (either case). */
bool llmr_sha256_hex_valid(const char *s);

#endif
