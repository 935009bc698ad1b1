/* sse.c - Server-Sent Events parsing (see sse.h). */
#include "router/sse.h"
#include "core/grow.h"

#include <stdlib.h>
#include <string.h>

#define SSE_DEFAULT_MAX ((size_t)4 << 20)

void llmri_sse_init(llmr_sse *p, size_t max_bytes)
{
    memset(p, 0, sizeof p[0]);
    p->max_bytes = max_bytes ? max_bytes : SSE_DEFAULT_MAX;
    p->retry_ms = -1;
    strcpy(p->type, "");
}

void llmri_sse_free(llmr_sse *p)
{
    free(p->line);
    free(p->data);
    p->line = p->data = NULL;
}

static int grow(char **buf, size_t *cap, size_t need, size_t max, llmr_err *err,
                const char *what)
{
    if (need > max)
        return llmri_err_set(err, LLMR_ERR_TOO_BIG, "SSE %s longer than %zu bytes", what, max);
    if (!llmri_grow(buf, cap, need, 1))
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory for an SSE %s", what);
    return LLMR_OK;
}

static int dispatch(llmr_sse *p, llmr_sse_cb cb, void *user)
{
    int rc = 0;
    if (p->has_data) {
        size_t n = p->n_data;
        if (n && p->data[n - 1] == '\n')      /* the spec drops the last LF */
            n--;
        p->data[n] = 0;
        llmr_sse_event ev = {p->type[0] ? p->type : "message", p->data, n, p->id};
        rc = cb ? cb(user, &ev) : 0;
    }
    p->n_data = 0;
    p->has_data = false;
    p->type[0] = 0;
    return rc;
}

/* One complete line (without its terminator). */
static int process_line(llmr_sse *p, const char *l, size_t n, llmr_sse_cb cb, void *user,
                        llmr_err *err)
{
    if (n == 0)
        return dispatch(p, cb, user);
    if (l[0] == ':')
        return LLMR_OK;                        /* a comment (servers send them as keep-alives) */
    const char *colon = memchr(l, ':', n);
    size_t nf = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t nv = colon ? n - nf - 1 : 0;
    if (nv && v[0] == ' ') {
        v++;
        nv--;
    }
    if (nf == 4 && !memcmp(l, "data", 4)) {
        int rc = grow(&p->data, &p->cap_data, p->n_data + nv + 2, p->max_bytes, err, "event");
        if (rc)
            return rc;
        memcpy(p->data + p->n_data, v, nv);
        p->n_data += nv;
        p->data[p->n_data++] = '\n';
        p->has_data = true;
    } else if (nf == 5 && !memcmp(l, "event", 5)) {
        size_t k = nv < sizeof p->type - 1 ? nv : sizeof p->type - 1;
        memcpy(p->type, v, k);
        p->type[k] = 0;
    } else if (nf == 2 && !memcmp(l, "id", 2)) {
        if (!memchr(v, 0, nv)) {               /* the spec ignores an id holding NUL */
            size_t k = nv < sizeof p->id - 1 ? nv : sizeof p->id - 1;
            memcpy(p->id, v, k);
            p->id[k] = 0;
        }
    } else if (nf == 5 && !memcmp(l, "retry", 5)) {
        long ms = 0;
        size_t i = 0;
        for (; i < nv && v[i] >= '0' && v[i] <= '9' && ms < 100000000; i++)
            ms = ms * 10 + (v[i] - '0');
        if (nv && i == nv)
            p->retry_ms = ms;
    }
    /* other fields are ignored, as the spec says */
    return LLMR_OK;
}

int llmri_sse_feed(llmr_sse *p, const char *buf, size_t n, llmr_sse_cb cb, void *user,
                  llmr_err *err)
{
    size_t i = 0;
    /* A UTF-8 BOM (EF BB BF) may start the stream, possibly split across feeds. */
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    while (!p->started && i < n) {
        unsigned char c = (unsigned char)buf[i];
        if (c == bom[p->n_bom]) {
            p->bom[p->n_bom++] = c;
            i++;
            if (p->n_bom == 3)
                p->started = true;
            continue;
        }
        p->started = true;                     /* not a BOM: its bytes so far are text */
        int rc = grow(&p->line, &p->cap_line, p->n_bom + 1, p->max_bytes, err, "line");
        if (rc)
            return rc;
        memcpy(p->line, p->bom, p->n_bom);
        p->n_line = p->n_bom;
    }
    while (i < n) {
        char c = buf[i];
        if (p->cr && c == '\n') {              /* the LF of a CRLF split across feeds */
            p->cr = false;
            i++;
            continue;
        }
        p->cr = false;
        /* find the end of the line in this buffer */
        size_t j = i;
        while (j < n && buf[j] != '\n' && buf[j] != '\r')
            j++;
        size_t len = j - i;
        if (len) {
            int rc = grow(&p->line, &p->cap_line, p->n_line + len + 1, p->max_bytes, err, "line");
            if (rc)
                return rc;
            memcpy(p->line + p->n_line, buf + i, len);
            p->n_line += len;
        }
        if (j == n)
            break;                              /* the line continues in the next feed */
        p->cr = buf[j] == '\r';
        i = j + 1;
        if (p->cr && i < n && buf[i] == '\n') {
            p->cr = false;
            i++;
        }
        size_t ln = p->n_line;
        p->n_line = 0;
        int rc = process_line(p, p->line ? p->line : "", ln, cb, user, err);
        if (rc)
            return rc;
    }
    return LLMR_OK;
}
