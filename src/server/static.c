/* static.c - files llmr serve sends as they are: the browser package (dist/browser.js, its
 * worker and the WebAssembly engine, llm-runner-router's js/dist, built by
 * scripts/build-wasm.sh) with the guide's browser example beside it, and a model's GGUF file
 * for a page that runs the model itself.
 *
 * URL layout (README, "In the browser"):
 *   /browser/                          the guide's "Browser Streaming Example" (example.html)
 *   /browser/FILE                      a file of the browser folder (--browser-dir)
 *   /browser/node_modules/llm-runner-router/dist/FILE
 *                                      the same file, where the guide's example imports it
 *   /browser/model.gguf                the server's model (-m; --config: its first local one)
 *   /api/models/ID/gguf                the GGUF file of model ID (a local one)
 * Every answer carries the COOP/COEP headers that make a page cross-origin isolated (the
 * WebAssembly threads build needs SharedArrayBuffer), and CORP for the files it loads.
 *
 * Request paths are hostile: a name is one path component of letters, digits, '-', '_' and
 * '.', not starting with '.', so that "..", hidden files and sub-folders are refused before
 * the disk is touched; the file found is then confined to the folder with realpath, so a
 * symlink out of it is refused too. Model files go out read-only (GET and HEAD), one byte
 * range at most (RFC 9110 14.2). */
#include "server/server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/path.h"

#define ISOLATION_HEADERS                                                                    \
    "Cross-Origin-Opener-Policy: same-origin\r\n"                                           \
    "Cross-Origin-Embedder-Policy: require-corp\r\n"

#define PKG_PREFIX "node_modules/llm-runner-router/dist/"
#define NAME_MAX_LEN 200

static const char *ctype_of(const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"}, {".wasm", "application/wasm"},
        {".json", "application/json"}, {".ts", "text/plain; charset=utf-8"},
        {".css", "text/css; charset=utf-8"}, {".map", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* Whether name is a plain file name the browser folder may hold: [A-Za-z0-9._-], not
 * starting with '.', at most NAME_MAX_LEN bytes. */
static bool plain_name(const char *name)
{
    size_t n = strlen(name);
    if (!n || n > NAME_MAX_LEN || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* The one byte range of a Range header, for a file of size bytes: 0 none (the whole file),
 * 1 a satisfiable range in *a..*b, -1 unsatisfiable (416). A header that is not one range of
 * bytes is ignored, as RFC 9110 allows. */
static int parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    char *end;
    if (*p == '-') {                              /* the last N bytes */
        if (p[1] < '0' || p[1] > '9')
            return 0;
        errno = 0;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (*end || errno)
            return 0;
        if (!n || !size)
            return -1;
        *a = n >= size ? 0 : size - n;
        *b = size - 1;
        return 1;
    }
    if (*p < '0' || *p > '9')
        return 0;
    errno = 0;
    unsigned long long first = strtoull(p, &end, 10);
    if (*end != '-' || errno)
        return 0;
    p = end + 1;
    unsigned long long last = UINT64_MAX;
    if (*p) {
        if (*p < '0' || *p > '9')
            return 0;
        last = strtoull(p, &end, 10);
        if (*end || errno)
            return 0;
        if (last < first)
            return 0;
    }
    if (first >= size)
        return -1;
    *a = first;
    *b = last >= size ? size - 1 : last;
    return 1;
}

/* Sends the open file fd (closed here) with the isolation headers: 200, or 206 for one byte
 * range, or 416; HEAD sends the headers only. */
static void send_fd(srv_ctx *x, int fd, const char *ctype)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        srv_reply_errorf(x, 404, "invalid_request_error", "not_found", "not a file");
        return;
    }
    const struct mg_request_info *ri = mg_get_request_info(x->c);
    uint64_t size = (uint64_t)st.st_size, a = 0, b = size ? size - 1 : 0;
    int r = parse_range(mg_get_header(x->c, "Range"), size, &a, &b);
    if (r < 0) {
        close(fd);
        char extra[160];
        snprintf(extra, sizeof extra, "Content-Range: bytes */%" PRIu64 "\r\n" ISOLATION_HEADERS,
                 size);
        srv_reply_text(x, 416, "text/plain", "", 0, extra);
        return;
    }
    uint64_t len = size ? b - a + 1 : 0;
    char range[128] = "";
    if (r > 0)
        snprintf(range, sizeof range, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
                 a, b, size);
    x->status = r > 0 ? 206 : 200;
    mg_printf(x->c,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %" PRIu64 "\r\n"
              "Accept-Ranges: bytes\r\nCache-Control: no-cache\r\n%s"
              "X-Content-Type-Options: nosniff\r\n" ISOLATION_HEADERS
              "Cross-Origin-Resource-Policy: same-origin\r\n%s\r\n",
              x->status, r > 0 ? "Partial Content" : "OK", ctype, len, range,
              srv_cors_headers(x));
    if (!strcmp(ri->request_method, "HEAD")) {
        close(fd);
        return;
    }
    static const size_t CHUNK = 1 << 16;
    char *buf = malloc(CHUNK);
    uint64_t off = a, left = len;
    while (buf && left) {
        size_t want = left < CHUNK ? (size_t)left : CHUNK;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || mg_write(x->c, buf, (size_t)n) <= 0)
            break;              /* the file shrank, or the client left: the length tells it */
        off += (uint64_t)n;
        left -= (uint64_t)n;
        x->bytes += (size_t)n;
    }
    free(buf);
    close(fd);
}

static void reply_404(srv_ctx *x, const char *what)
{
    srv_reply_errorf(x, 404, "invalid_request_error", "not_found", "%s", what);
}

/* Opens path read-only when it is a regular file; -1 otherwise. */
static int open_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* -m: a .gguf file of the models folder, which GET /api/models lists and POST
 * /api/models/load loads (the same confinement: realpath inside the folder). */
static bool folder_file(llmr_server *s, const char *name, char *out, size_t n)
{
    char file[NAME_MAX_LEN + 8], dir[PATH_MAX];
    size_t len = strlen(name);
    if (!s->single || !s->models_dir || !plain_name(name) ||
        !realpath(s->models_dir, dir))
        return false;
    snprintf(file, sizeof file, "%s%s", name,
             len > 5 && !strcmp(name + len - 5, ".gguf") ? "" : ".gguf");
    llmr_err err;
    return llmri_path_confine(file, (char *const[]){dir}, 1, out, n, &err) == LLMR_OK;
}

/* The file of local model `name` (an id or alias) from the router's status (-m: also a
 * file of the models folder), in out; name NULL: the first local model's. */
static bool model_file(llmr_server *s, const char *name, char *out, size_t n)
{
    out[0] = 0;
    if (name && folder_file(s, name, out, n))
        return true;
    if (!srv_models_hold(s))
        return false;
    char id[256] = "";
    char *js = NULL;
    bool any = !name;
    if ((any || llmr_router_model_id(s->models, name, id, sizeof id, NULL)) &&
        llmr_router_status_json(s->models, &js) == LLMR_OK) {
        cJSON *st = cJSON_Parse(js), *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(st, "models")) {
            const cJSON *mid = cJSON_GetObjectItemCaseSensitive(m, "id");
            const cJSON *file = cJSON_GetObjectItemCaseSensitive(m, "file");
            if (cJSON_IsString(file) && cJSON_IsString(mid) &&
                (any || !strcmp(mid->valuestring, id))) {
                snprintf(out, n, "%s", file->valuestring);
                break;
            }
        }
        cJSON_Delete(st);
    }
    free(js);
    srv_models_put(s);
    return out[0] != 0;
}

/* Sends model `name`'s GGUF file (NULL: the server's first local model). */
static void send_model(srv_ctx *x, const char *name)
{
    char path[4096];
    if (!model_file(x->srv, name, path, sizeof path)) {
        srv_reply_errorf(x, 404, "invalid_request_error", "model_not_found",
                         name ? "no local model '%.200s' (GET /api/models lists them)"
                              : "%sthe server has no local model file", name ? name : "");
        return;
    }
    int fd = open_file(path);
    if (fd < 0) {
        reply_404(x, "the model's file cannot be read");
        return;
    }
    send_fd(x, fd, "application/octet-stream");
}

/* GET|HEAD /api/models/ID/gguf (from srv_h_api_models_item; rest is "ID/gguf"). */
void srv_model_gguf(srv_ctx *x, const char *rest)
{
    const struct mg_request_info *ri = mg_get_request_info(x->c);
    if (!srv_check(x, !strcmp(ri->request_method, "HEAD") ? "HEAD" : "GET", SRV_KEY_QUERY))
        return;
    size_t n = strlen(rest) - strlen("/gguf");
    char id[256];
    if (!n || n >= sizeof id) {
        reply_404(x, "GET /api/models/ID/gguf takes a model id (GET /api/models lists them)");
        return;
    }
    memcpy(id, rest, n);
    id[n] = 0;
    send_model(x, id);
}

/* /browser and /browser/...: the browser folder. */
int srv_h_browser(struct mg_connection *c, void *ud)
{
    llmr_server *s = ud;
    srv_ctx x;
    srv_ctx_init(&x, s, c, SRV_API_CHAT);
    atomic_fetch_add(&s->m.requests[SRV_REQ_OTHER], 1);
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *uri = ri->local_uri;
    bool head = !strcmp(ri->request_method, "HEAD");
    if (!srv_check(&x, head ? "HEAD" : "GET", SRV_OPEN))
        goto out;
    if (!strcmp(uri, "/browser")) {              /* relative URLs need the slash */
        x.status = 308;
        mg_printf(c, "HTTP/1.1 308 Permanent Redirect\r\nLocation: /browser/\r\n"
                     "Content-Length: 0\r\n\r\n");
        goto out;
    }
    const char *name = uri + strlen("/browser/");
    if (!strncmp(name, PKG_PREFIX, strlen(PKG_PREFIX)))
        name += strlen(PKG_PREFIX);
    if (!name[0])
        name = "example.html";
    if (!strcmp(name, "model.gguf")) {
        if (srv_check(&x, head ? "HEAD" : "GET", SRV_KEY_QUERY))
            send_model(&x, NULL);
        goto out;
    }
    if (!s->browser_dir) {
        reply_404(&x, "this server has no browser files: build them (bash "
                      "scripts/build-wasm.sh) or name their folder with --browser-dir");
        goto out;
    }
    if (!plain_name(name)) {
        reply_404(&x, "no such file in the browser folder");
        goto out;
    }
    char want[PATH_MAX], real[PATH_MAX];
    snprintf(want, sizeof want, "%s/%s", s->browser_dir, name);
    int fd = -1;
    /* realpath: a symlink inside the folder may not lead out of it */
    if (realpath(want, real) && llmri_path_inside(real, s->browser_dir))
        fd = open_file(real);
    if (fd < 0) {
        reply_404(&x, "no such file in the browser folder");
        goto out;
    }
    send_fd(&x, fd, ctype_of(name));
out:
    srv_access_log(&x);
    return 1;
}
