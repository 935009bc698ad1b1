/* fetch.c - model sources and the download cache (see fetch.h). */
#include "router/fetch.h"
#include "core/digest.h"
#include "core/grow.h"
#include "router/policy.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef LLMR_HAVE_CURL
#include <curl/curl.h>
#endif

/* Every GGUF file starts with the bytes "GGUF" (ggml docs/gguf.md, "File Structure"). */
static const char GGUF_MAGIC[4] = {'G', 'G', 'U', 'F'};

llmr_fetch_opts llmri_fetch_defaults(void)
{
    llmr_fetch_opts o;
    memset(&o, 0, sizeof o);
    o.max_attempts = 4;
    o.connect_timeout_ms = 10000;
    o.idle_timeout_s = 30;
    o.retry_delay_ms = 200;
    return o;
}

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

llmr_src_kind llmri_source_kind(const char *s)
{
    if (has_prefix(s, "http://") || has_prefix(s, "https://"))
        return LLMR_SRC_URL;
    if (has_prefix(s, "hf:"))
        return LLMR_SRC_HF;
    struct stat st;
    if (stat(s, &st) == 0 && S_ISDIR(st.st_mode))
        return LLMR_SRC_DIR;
    return LLMR_SRC_PATH;
}

int llmri_cache_dir(char *buf, size_t n, llmr_err *err)
{
    const char *e = getenv("LLMR_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"),
               *h = getenv("HOME");
    int k;
    if (e && *e)
        k = snprintf(buf, n, "%s", e);
    else if (x && *x)
        k = snprintf(buf, n, "%s/llmr", x);
    else if (h && *h)
        k = snprintf(buf, n, "%s/.cache/llmr", h);
    else
        return llmri_err_set(err, LLMR_ERR_ARG, "no cache directory: set LLMR_CACHE_DIR or HOME");
    if (k < 0 || (size_t)k >= n)
        return llmri_err_set(err, LLMR_ERR_ARG, "cache directory path is too long (%d bytes, "
                            "at most %zu)", k, n - 1);
    return LLMR_OK;
}

/* ---- local files ------------------------------------------------------------------------ */

/* LLMR_OK when path is a regular file starting with the GGUF magic. */
static int check_gguf_file(const char *path, llmr_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return llmri_err_set(err, errno == ENOENT ? LLMR_ERR_NOT_FOUND : LLMR_ERR_IO,
                            "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return llmri_err_set(err, LLMR_ERR_ARG, "%s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return llmri_err_set(err, LLMR_ERR_IO, "%s: %s", path, strerror(errno));
    char m[4] = {0};
    size_t got = fread(m, 1, 4, f);
    fclose(f);
    if (got != 4 || memcmp(m, GGUF_MAGIC, 4) != 0)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: not a GGUF file (expected the magic "
                            "'GGUF' at offset 0)", path);
    return LLMR_OK;
}

static int mkdir_p(const char *dir, llmr_err *err)
{
    char tmp[4096];
    int k = snprintf(tmp, sizeof tmp, "%s", dir);
    if (k < 0 || (size_t)k >= sizeof tmp)
        return llmri_err_set(err, LLMR_ERR_ARG, "%s: path too long", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return llmri_err_set(err, LLMR_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return llmri_err_set(err, LLMR_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    return LLMR_OK;
}

/* Compares a file's sha256 with the expected hex; LLMR_ERR_FORMAT naming both when they
 * differ. */
static int check_sha(const char *path, const char *want, const char *what, llmr_err *err)
{
    uint8_t d[32];
    char hex[65];
    if (!llmri_sha256_file(path, d))
        return llmri_err_set(err, LLMR_ERR_IO, "%s: cannot read to check sha256: %s", path,
                            strerror(errno));
    llmri_sha256_hex(d, hex);
    if (strcasecmp(hex, want) != 0)
        return llmri_err_set(err, LLMR_ERR_FORMAT, "%s: sha256 mismatch: expected %s, got %s",
                            what, want, hex);
    return LLMR_OK;
}

/* ---- downloads -------------------------------------------------------------------------- */

#ifdef LLMR_HAVE_CURL

typedef struct dl {
    CURL       *c;
    const llmr_fetch_opts *o;
    const char *url, *name;
    FILE       *f;
    int         fd;
    curl_off_t  offset;      /* bytes in the .part before this connection */
    curl_off_t  written;     /* bytes written by this connection */
    long        status;      /* HTTP status of this connection, once known */
    bool        restarted;   /* the server ignored Range: the .part was truncated */
    bool        not_gguf;    /* the first bytes were not the GGUF magic */
    char        head[4];     /* the file's first bytes, to check the magic */
    size_t      n_head;
    double      t_start, t_bar;
    curl_off_t  total;       /* the whole file's size once known (for the bar) */
    bool        io_error;
    int         io_errno;
    bool        too_big;     /* past o->max_bytes: stopped */
    rt_net_guard guard;      /* a restricted download's address check (o->n_hosts > 0) */
    char        refused[160];/* why a restricted download was stopped ("" when it was not) */
} dl;

static bool redirect(long status) { return status >= 300 && status < 400; }

static size_t on_write(char *p, size_t sz, size_t nm, void *user)
{
    dl *d = user;
    size_t n = sz * nm;
    if (d->status == 0)
        curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &d->status);
    if (redirect(d->status))
        return n;            /* a redirect's page, when the caller follows redirects itself */
    /* Range asked, 200 answered: the server sends the whole file, so start it over. */
    if (d->offset > 0 && d->written == 0 && d->status == 200 && !d->restarted) {
        if (ftruncate(d->fd, 0) != 0 || fseeko(d->f, 0, SEEK_SET) != 0) {
            d->io_error = true;
            d->io_errno = errno;
            return 0;
        }
        d->offset = 0;
        d->restarted = true;
    }
    if (d->o->max_bytes && (unsigned long long)(d->offset + d->written) + n > d->o->max_bytes) {
        d->too_big = true;
        return 0;
    }
    if (d->offset + d->written < 4) {
        size_t take = 4 - (size_t)(d->offset + d->written);
        if (take > n)
            take = n;
        memcpy(d->head + d->n_head, p, take);
        d->n_head += take;
        if (memcmp(d->head, GGUF_MAGIC, d->n_head) != 0) {
            d->not_gguf = true;
            return 0;
        }
    }
    if (fwrite(p, 1, n, d->f) != n) {
        d->io_error = true;
        d->io_errno = errno;
        return 0;
    }
    d->written += (curl_off_t)n;
    return n;
}

static void human(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void draw_bar(dl *d, curl_off_t total, bool final)
{
    double now = llmri_now();
    if (!final && now - d->t_bar < 0.1)
        return;
    d->t_bar = now;
    curl_off_t done = d->offset + d->written;
    char a[32], b[32], r[32];
    human((double)done, a, sizeof a);
    double dt = now - d->t_start;
    human(dt > 0 ? (double)d->written / dt : 0, r, sizeof r);
    if (total > 0) {
        double frac = (double)done / (double)total;
        if (frac > 1)
            frac = 1;
        int w = 30, fill = (int)(frac * w);
        human((double)total, b, sizeof b);
        const bool c = d->o->color;
        fprintf(stderr, "\r%s%s%s [%s%.*s%s%*s] %5.1f%% %s / %s %s/s\033[K", c ? "\033[1m" : "",
                d->name, c ? "\033[0m" : "", c ? "\033[32m" : "", fill,
                "##############################", c ? "\033[0m" : "", w - fill, "",
                frac * 100, a, b, r);
    } else {
        fprintf(stderr, "\r%s %s %s/s\033[K", d->name, a, r);
    }
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    dl *d = user;
    if (d->o->cancel && atomic_load(d->o->cancel))
        return 1;
    if (dltotal > 0)
        d->total = d->offset + dltotal;
    long st = 0;
    if (d->o->max_bytes && dltotal > 0 &&
        curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK && !redirect(st) &&
        (unsigned long long)((st == 206 ? d->offset : 0) + dltotal) > d->o->max_bytes) {
        d->too_big = true;         /* Content-Length says so: stop before the body */
        return 1;
    }
    if (d->o->progress && dlnow > 0)
        draw_bar(d, d->total, false);
    return 0;
}

/* One connection: GET url from d->offset on. Returns the curl code; d->status holds the HTTP
 * status. */
static CURLcode one_connection(dl *d, char *curl_err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);     /* the hub redirects to its CDN */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->o->connect_timeout_ms);
    /* idle timeout: fewer than 1 byte/s for idle_timeout_s seconds */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, d->o->idle_timeout_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "llmr/" "0");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
    /* CURLOPT_RANGE rather than RESUME_FROM: a server that ignores Range and answers 200 is
     * then not an error (RFC 9110 section 14.2 allows it); on_write starts the file over. */
    char range[32];
    if (d->offset > 0) {
        snprintf(range, sizeof range, "%lld-", (long long)d->offset);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    /* an error page (404 HTML) must not be written as the file */
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    d->c = c;
    bool guarded = d->o->n_hosts > 0;
    if (guarded) {
        d->guard.hosts = d->o->hosts;
        d->guard.n_hosts = d->o->n_hosts;
        rt_guard_curl(c, &d->guard);
    }
    CURLcode rc;
    for (int hops = 0;; hops++) {
        d->status = 0;
        d->written = 0;
        d->restarted = false;
        rc = curl_easy_perform(c);
        long st = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        if (st)
            d->status = st;
        if (d->guard.refused) {
            snprintf(d->refused, sizeof d->refused, "%s", d->guard.why);
            break;
        }
        if (!guarded || rc != CURLE_OK || !redirect(d->status))
            break;
        /* a guarded download follows redirects itself, checking each hop's host */
        char *loc = NULL, host[256] = "";
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
        if (!loc || hops == 10 || rt_url_host(loc, host, sizeof host, NULL) ||
            !rt_host_listed(host, d->o->hosts, d->o->n_hosts)) {
            snprintf(d->refused, sizeof d->refused, !loc ? "HTTP %ld without a Location"
                     : hops == 10 ? "more than 10 redirects (HTTP %ld)"
                                  : "HTTP %ld redirects to a host that is not listed: %.100s",
                     d->status, host[0] ? host : loc);
            break;
        }
        curl_easy_setopt(c, CURLOPT_URL, loc);      /* curl copies it */
    }
    curl_easy_cleanup(c);
    return rc;
}

static bool transient(CURLcode rc)
{
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
           rc == CURLE_COULDNT_CONNECT || rc == CURLE_HTTP2_STREAM;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Downloads url into part (resuming it), then checks it. The caller renames it. */
static int download(const char *url, const char *part, const char *name,
                    const llmr_fetch_opts *o, llmr_err *err)
{
    int fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return llmri_err_set(err, LLMR_ERR_IO, "%s: %s", part, strerror(errno));
    /* Two pulls of one file would interleave their writes: the second one waits its turn
     * would be surprising, so it fails at once. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return llmri_err_set(err, LLMR_ERR_BUSY, "%s: another download of this file is running",
                            part);
    }
    FILE *f = fdopen(fd, "ab");
    if (!f) {
        close(fd);
        return llmri_err_set(err, LLMR_ERR_IO, "%s: %s", part, strerror(errno));
    }
    dl d;
    memset(&d, 0, sizeof d);
    d.o = o;
    d.url = url;
    d.name = name;
    d.f = f;
    d.fd = fd;
    d.t_start = llmri_now();
    int rc = LLMR_ERR_NETWORK;
    unsigned delay = o->retry_delay_ms;
    char cerr[CURL_ERROR_SIZE];
    for (int attempt = 1; attempt <= (o->max_attempts > 0 ? o->max_attempts : 1); attempt++) {
        fflush(f);
        struct stat st;
        if (fstat(fd, &st) != 0) {
            rc = llmri_err_set(err, LLMR_ERR_IO, "%s: %s", part, strerror(errno));
            break;
        }
        d.offset = st.st_size;
        d.n_head = 0;
        if (d.offset > 0 && d.offset < 4) {
            /* too short to have checked the magic: begin again */
            if (ftruncate(fd, 0) != 0)
                break;
            d.offset = 0;
        }
        cerr[0] = 0;
        CURLcode cr = one_connection(&d, cerr);
        fflush(f);
        if (o->received)
            *o->received += (unsigned long long)d.written;
        if (d.not_gguf) {
            rc = llmri_err_set(err, LLMR_ERR_FORMAT, "%s: not a GGUF file (it starts with "
                              "'%.4s', expected the magic 'GGUF')", url, d.head);
            break;
        }
        if (d.io_error) {
            rc = llmri_err_set(err, LLMR_ERR_IO, "%s: write failed: %s", part,
                              strerror(d.io_errno));
            break;
        }
        if (d.refused[0]) {
            rc = llmri_err_set(err, LLMR_ERR_ARG, "%s: %s", url, d.refused);
            break;
        }
        if (d.too_big) {
            rc = llmri_err_set(err, LLMR_ERR_TOO_BIG, "%s: larger than the limit of %llu bytes",
                              url, o->max_bytes);
            break;
        }
        if (cr == CURLE_ABORTED_BY_CALLBACK) {
            rc = llmri_err_set(err, LLMR_ERR_CANCELLED, "%s: download cancelled; %s keeps what "
                              "arrived and the next pull resumes it", url, part);
            break;
        }
        if (d.status == 416 && d.offset > 0) {
            /* Range Not Satisfiable: the .part is already whole (or longer than the file);
             * the checks below decide which. */
            rc = LLMR_OK;
            break;
        }
        if (d.status >= 400) {
            rc = llmri_err_set(err, d.status >= 500 ? LLMR_ERR_NETWORK : LLMR_ERR_NOT_FOUND,
                              "%s: HTTP %ld", url, d.status);
            if (d.status < 500 || attempt == o->max_attempts)
                break;
        } else if (cr == CURLE_OK) {
            rc = LLMR_OK;
            break;
        } else if (!transient(cr)) {
            rc = llmri_err_set(err, LLMR_ERR_NETWORK, "%s: %s", url,
                              cerr[0] ? cerr : curl_easy_strerror(cr));
            break;
        } else {
            rc = llmri_err_set(err, LLMR_ERR_NETWORK, "%s: %s (after %d attempts, %lld bytes "
                              "kept in %s for the next pull)", url,
                              cerr[0] ? cerr : curl_easy_strerror(cr), attempt,
                              (long long)(d.offset + d.written), part);
        }
        if (attempt < o->max_attempts) {
            sleep_ms(delay);
            delay *= 2;
        }
    }
    if (o->progress && rc == LLMR_OK)
        draw_bar(&d, d.total, true);
    else if (o->progress)
        fputc('\n', stderr);
    /* not a model, or a client's download that failed: nothing worth resuming. Removed
     * while the lock is held, so that no other download has taken the .part over yet. */
    struct stat left;
    bool empty = fstat(fd, &left) == 0 && left.st_size == 0;
    /* An empty .part (a 404, a refused connection) is nothing to resume: kept, it would show
     * in `llmr ls` as a download that never began. */
    if (rc == LLMR_ERR_FORMAT || (rc && (o->drop_partial || empty)))
        unlink(part);
    fclose(f);      /* also releases the lock */
    return rc;
}

#endif /* LLMR_HAVE_CURL */

int llmri_source_file(const char *source, const char *cache_dir, char *out, size_t n,
                     llmr_err *err)
{
    llmr_src_kind k = llmri_source_kind(source);
    if (k == LLMR_SRC_DIR)
        return llmri_err_set(err, LLMR_ERR_ARG, "%s is a directory: expected one file", source);
    if (k == LLMR_SRC_PATH) {
        if (snprintf(out, n, "%s", source) >= (int)n)
            return llmri_err_set(err, LLMR_ERR_ARG, "%s: path too long", source);
        return LLMR_OK;
    }
    char name[256], dir[4096];
    int rc = llmri_cache_name(source, name, sizeof name, err);
    if (rc)
        return rc;
    if (cache_dir)
        snprintf(dir, sizeof dir, "%s", cache_dir);
    else if ((rc = llmri_cache_dir(dir, sizeof dir, err)))
        return rc;
    int len = snprintf(out, n, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= n)
        return llmri_err_set(err, LLMR_ERR_ARG, "cache path too long");
    return LLMR_OK;
}

static int fetch_remote(const char *source, const llmr_fetch_opts *o, char *out, size_t n,
                        llmr_err *err)
{
    char url[2048], dir[4096], part[4400];
    int rc;
    if (llmri_source_kind(source) == LLMR_SRC_HF) {
        if ((rc = llmri_hf_resolve(source, url, sizeof url, err)))
            return rc;
    } else if (snprintf(url, sizeof url, "%s", source) >= (int)sizeof url) {
        return llmri_err_set(err, LLMR_ERR_ARG, "URL too long (at most %zu bytes)",
                            sizeof url - 1);
    }
    if (o->sha256 && !llmri_sha256_hex_valid(o->sha256))
        return llmri_err_set(err, LLMR_ERR_ARG, "sha256 '%s': expected 64 hex digits", o->sha256);
    char host[256];
    if (o->n_hosts && ((rc = rt_url_host(url, host, sizeof host, err)) ||
                       !rt_host_listed(host, o->hosts, o->n_hosts)))
        return rc ? rc : llmri_err_set(err, LLMR_ERR_ARG, "%s: the host %s is not listed",
                                      url, host);
    if ((rc = llmri_source_file(source, o->cache_dir, out, n, err)))
        return rc;
    if (o->as_name) {
        char *slash = strrchr(out, '/');
        if (!*o->as_name || strchr(o->as_name, '/') || !strcmp(o->as_name, "..") || !slash ||
            (size_t)(slash + 1 - out) + strlen(o->as_name) >= n)
            return llmri_err_set(err, LLMR_ERR_ARG, "'%s': not a cache file name", o->as_name);
        strcpy(slash + 1, o->as_name);
    }
    snprintf(dir, sizeof dir, "%s", out);
    char *sl = strrchr(dir, '/');        /* out is DIR/NAME */
    sl[sl == dir] = 0;
    const char *name = strrchr(out, '/') + 1;
    struct stat st;
    if (stat(out, &st) == 0) {
        /* cached: trusted unless a digest is given and disagrees */
        if (!o->sha256 || check_sha(out, o->sha256, out, NULL) == LLMR_OK)
            return LLMR_OK;
    }
#ifdef LLMR_HAVE_CURL
    if ((rc = mkdir_p(dir, err)))
        return rc;
    snprintf(part, sizeof part, "%s.part", out);
    if ((rc = download(url, part, name, o, err)))
        return rc;
    if ((rc = check_gguf_file(part, err))) {
        unlink(part);
        return llmri_err_set(err, rc, "%s: not a GGUF file (expected the magic 'GGUF' at offset "
                            "0); nothing was kept", url);
    }
    if (o->sha256 && (rc = check_sha(part, o->sha256, url, err))) {
        unlink(part);       /* a wrong file is not resumable: drop it */
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err ? err->msg : "sha256 mismatch");
        return llmri_err_set(err, rc, "%s; the download was deleted", why);
    }
    if (rename(part, out) != 0) {
        int e = errno;
        unlink(part);
        return llmri_err_set(err, LLMR_ERR_IO, "cannot rename %s to %s: %s", part, out,
                            strerror(e));
    }
    return LLMR_OK;
#else
    (void)part;
    return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "%s: llmr was built without libcurl, so it "
                        "cannot download", url);
#endif
}

int llmri_fetch(const char *source, const llmr_fetch_opts *o, char *path_out, size_t n,
               llmr_err *err)
{
    llmr_fetch_opts def = llmri_fetch_defaults();
    if (!o)
        o = &def;
    switch (llmri_source_kind(source)) {
    case LLMR_SRC_URL:
    case LLMR_SRC_HF:
        return fetch_remote(source, o, path_out, n, err);
    case LLMR_SRC_DIR:
        return llmri_err_set(err, LLMR_ERR_ARG, "%s is a directory: expected one file", source);
    case LLMR_SRC_PATH:
    default: {
        int rc = check_gguf_file(source, err);
        if (rc)
            return rc;
        if (o->sha256 && (rc = check_sha(source, o->sha256, source, err)))
            return rc;
        if (snprintf(path_out, n, "%s", source) >= (int)n)
            return llmri_err_set(err, LLMR_ERR_ARG, "%s: path too long", source);
        return LLMR_OK;
    }
    }
}

void llmri_paths_free(char **paths, size_t n)
{
    if (!paths)
        return;
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int expand_dir(const char *dir, char ***paths, size_t *n_paths, llmr_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return llmri_err_set(err, LLMR_ERR_IO, "%s: %s", dir, strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = LLMR_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".gguf"))
            continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (!LLMR_GROW(v, cap, n + 1)) {
            rc = llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        if (!(v[n] = llmri_strdup(p))) {
            rc = llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == LLMR_OK && n == 0)
        rc = llmri_err_set(err, LLMR_ERR_NOT_FOUND, "%s: no .gguf file in this directory", dir);
    if (rc) {
        llmri_paths_free(v, n);
        return rc;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *paths = v;
    *n_paths = n;
    return LLMR_OK;
}

int llmri_source_expand(const char *source, const llmr_fetch_opts *o, char ***paths,
                       size_t *n_paths, llmr_err *err)
{
    *paths = NULL;
    *n_paths = 0;
    if (llmri_source_kind(source) == LLMR_SRC_DIR)
        return expand_dir(source, paths, n_paths, err);
    char p[4096];
    int rc = llmri_fetch(source, o, p, sizeof p, err);
    if (rc)
        return rc;
    char **v = malloc(sizeof *v);
    if (!v || !(v[0] = llmri_strdup(p))) {
        free(v);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    }
    *paths = v;
    *n_paths = 1;
    return LLMR_OK;
}

/* ---- the cache -------------------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const llmr_cache_entry *)a)->name, ((const llmr_cache_entry *)b)->name);
}

int llmri_cache_list(const char *dir, llmr_cache_entry **out, size_t *n_out, llmr_err *err)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return LLMR_OK;
        return llmri_err_set(err, LLMR_ERR_IO, "%s: %s", dir, strerror(errno));
    }
    llmr_cache_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = LLMR_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || strlen(e->d_name) >= 256)
            continue;
        if (!LLMR_GROW(v, cap, n + 1)) {
            rc = llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        llmr_cache_entry *c = &v[n++];
        snprintf(c->name, sizeof c->name, "%s", e->d_name);
        c->partial = ends_with(c->name, ".part");
        if (c->partial)
            c->name[strlen(c->name) - 5] = 0;
        c->size = (unsigned long long)st.st_size;
        c->mtime = (double)st.st_mtime;
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_entry);
    *out = v;
    *n_out = n;
    return LLMR_OK;
}

int llmri_cache_remove(const char *dir, const char *name, llmr_err *err)
{
    if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%s': expected a cache entry name as `llmr ls` "
                            "prints it (no '/')", name);
    char base[4400], p[4500];
    snprintf(base, sizeof base, "%s/%s", dir, name);
    int removed = 0;
    const char *variants[] = {"", ".part", ".gguf", ".gguf.part"};
    for (size_t i = 0; i < 4; i++) {
        if (i >= 2 && ends_with(name, ".gguf"))
            break;
        snprintf(p, sizeof p, "%s%s", base, variants[i]);
        if (unlink(p) == 0)
            removed++;
        else if (errno != ENOENT)
            return llmri_err_set(err, LLMR_ERR_IO, "cannot remove %s: %s", p, strerror(errno));
        if (i == 1 && removed)
            break;      /* NAME matched exactly: do not also remove NAME.gguf */
    }
    if (!removed)
        return llmri_err_set(err, LLMR_ERR_NOT_FOUND, "'%s' is not in the cache %s (see `llmr "
                            "ls`)", name, dir);
    return LLMR_OK;
}
