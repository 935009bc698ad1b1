/* digest.h - file-level helpers over core/sha256.h for checking downloaded models. */
#ifndef LLMR_CORE_DIGEST_H
#define LLMR_CORE_DIGEST_H

#include "core/sha256.h"

#include <stdbool.h>

/* Hashes a whole file; false (errno set) when it cannot be read. */
bool llmri_sha256_file(const char *path, uint8_t out[32]);
/* The sha256 of a file as 64 lower-case hex digits, hashed once per version of the file (its
 * path, device, inode, size and modification time) and answered from a process-wide cache
 * of the last 64 files after that. False (errno set) when it cannot be read. Any thread;
 * hashing is one file at a time, so concurrent calls for one file hash it once. The first
 * call for a big file takes seconds: make it with no lock held that others wait on. */
bool llmri_sha256_file_hex_cached(const char *path, char hex[65]);
/* True when s is exactly 64 hex digits (either case). */
bool llmri_sha256_hex_valid(const char *s);

#endif
