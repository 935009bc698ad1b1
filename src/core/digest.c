/* digest.c - see digest.h. */
#include "core/digest.h"

#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool llmri_sha256_file(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    /* heap, not a static or thread-local buffer: static TLS is carved out of every thread's
     * stack, and civetweb's worker threads have small ones */
    enum { BUF = 1 << 16 };
    uint8_t *buf = malloc(BUF);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return false;
    }
    llmr_sha256 c;
    llmri_sha256_init(&c);
    size_t n;
    while ((n = fread(buf, 1, BUF, f)) > 0)
        llmri_sha256_update(&c, buf, n);
    bool ok = !ferror(f);
    fclose(f);
    free(buf);
    if (ok)
        llmri_sha256_final(&c, out);
    return ok;
}

/* ---- the digest cache ----------------------------------------------------------------- */

typedef struct digest_slot {
    char           *path;          /* NULL: free */
    dev_t           dev;
    ino_t           ino;
    off_t           size;
    struct timespec mtime;
    char            hex[65];
    unsigned long   used;          /* for replacing the least recently used */
} digest_slot;

enum { DIGEST_SLOTS = 64 };
static pthread_mutex_t g_digest_mu = PTHREAD_MUTEX_INITIALIZER;   /* guards the slots */
static pthread_mutex_t g_hash_mu = PTHREAD_MUTEX_INITIALIZER;     /* one hash at a time */
static digest_slot g_digests[DIGEST_SLOTS];
static unsigned long g_digest_tick;

static bool same_version(const digest_slot *d, const char *path, const struct stat *st)
{
    return d->path && !strcmp(d->path, path) && d->dev == st->st_dev && d->ino == st->st_ino &&
           d->size == st->st_size && d->mtime.tv_sec == st->st_mtim.tv_sec &&
           d->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static bool digest_lookup(const char *path, const struct stat *st, char hex[65])
{
    bool hit = false;
    pthread_mutex_lock(&g_digest_mu);
    for (size_t i = 0; i < DIGEST_SLOTS && !hit; i++) {
        digest_slot *d = &g_digests[i];
        if ((hit = same_version(d, path, st))) {
            memcpy(hex, d->hex, 65);
            d->used = ++g_digest_tick;
        }
    }
    pthread_mutex_unlock(&g_digest_mu);
    return hit;
}

static void digest_store(const char *path, const struct stat *st, const char hex[65])
{
    char *p = llmri_strdup(path);
    if (!p)
        return;                          /* not cached: hashed again next time */
    pthread_mutex_lock(&g_digest_mu);
    digest_slot *v = &g_digests[0];
    for (size_t i = 0; i < DIGEST_SLOTS; i++) {
        digest_slot *d = &g_digests[i];
        if (!d->path || !strcmp(d->path, path)) {
            v = d;                       /* free, or this path's older version */
            break;
        }
        if (d->used < v->used)
            v = d;
    }
    free(v->path);
    *v = (digest_slot){p, st->st_dev, st->st_ino, st->st_size, st->st_mtim, "",
                       ++g_digest_tick};
    memcpy(v->hex, hex, 65);
    pthread_mutex_unlock(&g_digest_mu);
}

bool llmri_sha256_file_hex_cached(const char *path, char hex[65])
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (digest_lookup(path, &st, hex))
        return true;
    pthread_mutex_lock(&g_hash_mu);
    bool ok = digest_lookup(path, &st, hex);       /* another thread may have just hashed it */
    if (!ok) {
        uint8_t d[32];
        /* keyed by the stat taken before hashing: a file that changes meanwhile has a newer
         * mtime next time, and is hashed again */
        if ((ok = llmri_sha256_file(path, d))) {
            llmri_sha256_hex(d, hex);
            digest_store(path, &st, hex);
        }
    }
    pthread_mutex_unlock(&g_hash_mu);
    return ok;
}

bool llmri_sha256_hex_valid(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return i == 64;
}
