/* util.h - checked arithmetic and small helpers shared by every layer. */
#ifndef LLMR_CORE_UTIL_H
#define LLMR_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* a*b that reports overflow instead of wrapping: sizes from files are hostile. */
static inline bool llmri_mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline uint64_t llmri_align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* strdup that returns NULL for NULL. */
char *llmri_strdup(const char *s);
/* Copies n bytes of s into a fresh NUL-terminated string. */
char *llmri_strndup(const char *s, size_t n);
/* Writes n bytes of p in base64 (RFC 4648, padded) to out, NUL-terminated: out holds
 * 4 * ((n + 2) / 3) + 1 bytes. */
void llmri_base64(const uint8_t *p, size_t n, char *out);

/* Monotonic time in seconds. */
double llmri_now(void);

/* Number of physical cores (hyper-threads counted once), at least 1. */
int llmri_physical_cores(void);
/* CPUs this process may run on (its affinity mask; online CPUs when that cannot be read). */
int llmri_cpu_count(void);

#endif
