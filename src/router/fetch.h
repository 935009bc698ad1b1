/* fetch.h - model sources: a path, a directory, an http(s) URL or a Hugging Face reference,
 * turned into local GGUF files; URLs are downloaded into the cache (~/.cache/llmr).
 *
 * A download goes to NAME.part beside its final place, resumes from the .part's size with an
 * HTTP Range request, checks the GGUF magic and the sha256, and only then renames the .part
 * to NAME (rename(2) is atomic within a directory), so a failed or mismatched download never
 * leaves a file under the final name. */
#ifndef LLMR_ROUTER_FETCH_H
#define LLMR_ROUTER_FETCH_H

#include "core/error.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum llmr_src_kind {
    LLMR_SRC_PATH = 0,     /* a local file */
    LLMR_SRC_DIR,          /* a local directory: every *.gguf in it */
    LLMR_SRC_URL,          /* http:// or https:// */
    LLMR_SRC_HF            /* hf:ORG/REPO/FILE.gguf */
} llmr_src_kind;

typedef struct llmr_fetch_opts {
    const char *sha256;          /* expected digest as 64 hex digits, or NULL: not checked */
    const char *cache_dir;       /* NULL: llmri_cache_dir() */
    bool        progress;        /* draw a progress bar on stderr */
    bool        color;           /* ... in color (the caller checked the terminal, NO_COLOR) */
    int         max_attempts;    /* connections tried, each resuming the last (default 4) */
    long        connect_timeout_ms;  /* default 10000 */
    long        idle_timeout_s;  /* give up on a connection silent this long (default 30) */
    unsigned    retry_delay_ms;  /* pause before resuming (default 200, doubled each time) */
    atomic_bool *cancel;         /* set from another thread (a signal handler) to stop */
    /* Limits for a download a remote client asked for; all off by default (`llmr pull` trusts
     * its user). */
    char *const *hosts;          /* n_hosts > 0: the URL's host and every redirect's must be
                                    listed (rt_host_listed), redirects are followed one by one
                                    to check each, every address connected to must pass
                                    rt_addr_allowed, and no proxy is used (a proxy would
                                    connect for us, unchecked); else LLMR_ERR_ARG */
    size_t      n_hosts;
    unsigned long long max_bytes;/* the file may be at most this long (0: no bound): checked
                                    against Content-Length and again while it streams, so a
                                    server that sends none or lies cannot pass it;
                                    LLMR_ERR_TOO_BIG */
    unsigned long long *received;/* when set, the bytes received are added to it */
    bool        drop_partial;    /* a failed download deletes its .part instead of keeping it
                                    for the next pull to resume */
    const char *as_name;         /* cache a URL's file under this name (no '/'), not the URL's
                                    last component: an ollama blob is sha256-named */
} llmr_fetch_opts;

llmr_fetch_opts llmri_fetch_defaults(void);

/* The kind of a source string (a path that does not exist is LLMR_SRC_PATH). */
llmr_src_kind llmri_source_kind(const char *source);

/* The model cache directory: $LLMR_CACHE_DIR, else $XDG_CACHE_HOME/llmr, else
 * $HOME/.cache/llmr. Not created here. LLMR_ERR_ARG when none can be named or it is too long. */
int llmri_cache_dir(char *buf, size_t n, llmr_err *err);

/* hf:ORG/REPO/FILE -> https://huggingface.co/ORG/REPO/resolve/main/FILE (the hub's download
 * URL; FILE may contain '/', for files in sub-folders). A revision may be given as
 * hf:ORG/REPO@REV/FILE. Each part must be non-empty, made of [A-Za-z0-9._-] (and '/' in FILE),
 * and not "." or "..". LLMR_ERR_ARG naming the part otherwise. */
int llmri_hf_resolve(const char *ref, char *url, size_t n, llmr_err *err);

/* The file name a URL or hf: reference is cached under: the URL's last path component, or
 * ORG--REPO--FILE for hub files (whether named by hf: or by their resolve URL), so two repos'
 * "model.gguf" do not collide. Characters outside [A-Za-z0-9._-] become '_'. */
int llmri_cache_name(const char *source, char *name, size_t n, llmr_err *err);

/* Makes a source available locally and writes the file's path to path_out: a path is
 * checked (exists, regular file, GGUF magic); a URL or hf: reference is downloaded into the
 * cache unless it is there already (and matches o->sha256 when given). A directory is
 * LLMR_ERR_ARG here (use llmri_source_expand). Errors: LLMR_ERR_NOT_FOUND, LLMR_ERR_IO,
 * LLMR_ERR_NETWORK (connection failed after every attempt, HTTP 5xx), LLMR_ERR_FORMAT (not a
 * GGUF file, sha256 mismatch), LLMR_ERR_CANCELLED, LLMR_ERR_UNSUPPORTED (built without curl). */
int llmri_fetch(const char *source, const llmr_fetch_opts *o, char *path_out, size_t n,
               llmr_err *err);

/* Where llmri_fetch keeps source's file, without fetching anything: a path is itself, a URL or
 * hf: reference is its file in cache_dir (NULL: llmri_cache_dir()), which may not exist yet.
 * LLMR_ERR_ARG for a directory, a source that names no file or a path too long. */
int llmri_source_file(const char *source, const char *cache_dir, char *out, size_t n,
                     llmr_err *err);

/* Expands a source to local files: a directory gives every regular *.gguf file in it, sorted
 * by name (LLMR_ERR_NOT_FOUND when there is none); others give the one llmri_fetch path.
 * *paths is a malloc'd array of malloc'd strings; free with llmri_paths_free. */
int llmri_source_expand(const char *source, const llmr_fetch_opts *o, char ***paths,
                       size_t *n_paths, llmr_err *err);
void llmri_paths_free(char **paths, size_t n);

/* A cache entry, as `llmr ls` lists it. */
typedef struct llmr_cache_entry {
    char     name[256];
    unsigned long long size;
    double   mtime;        /* seconds since the epoch */
    bool     partial;      /* an unfinished download (NAME.part) */
} llmr_cache_entry;

/* Lists the cache (sorted by name); *out is malloc'd. A missing cache directory is empty. */
int llmri_cache_list(const char *cache_dir, llmr_cache_entry **out, size_t *n, llmr_err *err);

/* Removes NAME (with or without its .gguf suffix) and any NAME.part from the cache.
 * LLMR_ERR_ARG for a name with '/' or "..", LLMR_ERR_NOT_FOUND when neither exists. */
int llmri_cache_remove(const char *cache_dir, const char *name, llmr_err *err);

#endif
