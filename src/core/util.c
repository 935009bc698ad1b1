/* util.c - small helpers shared by every layer. */
#include "core/util.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *llmri_strdup(const char *s)
{
    return s ? llmri_strndup(s, strlen(s)) : NULL;
}

char *llmri_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

double llmri_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Counts distinct (physical id, core id) pairs in /proc/cpuinfo: SMT siblings share a core,
 * and running two compute threads on one core only makes them fight for its FMA units. */
int llmri_physical_cores(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 1)
        online = 1;
    if (!f)
        return (int)online;
    enum { MAXC = 1024 };
    int seen_pkg[MAXC], seen_core[MAXC];
    int n = 0, pkg = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        int v;
        if (sscanf(line, "physical id : %d", &v) == 1) {
            pkg = v;
        } else if (sscanf(line, "core id : %d", &v) == 1) {
            int dup = 0;
            for (int i = 0; i < n; i++)
                if (seen_pkg[i] == pkg && seen_core[i] == v)
                    dup = 1;
            if (!dup && n < MAXC) {
                seen_pkg[n] = pkg;
                seen_core[n] = v;
                n++;
            }
        }
    }
    fclose(f);
    const int allowed = llmri_cpu_count();
    if (n < 1 || n > online)
        n = (int)online;
    return n < allowed ? n : allowed;
}

/* The affinity mask is what counts: under taskset or a container's cpuset the process may run
 * on fewer CPUs than are online, and threads beyond them only queue for the same cores. */
int llmri_cpu_count(void)
{
#if defined(__EMSCRIPTEN__)
    /* No affinity masks in a browser; a threads build has the page's hardwareConcurrency. */
#else
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online < 1 ? 1 : online > 1024 ? 1024 : (int)online;
}

void llmri_base64(const uint8_t *p, size_t n, char *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = 0;
}
