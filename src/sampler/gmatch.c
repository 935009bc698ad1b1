/* gmatch.c - runs a compiled grammar over a vocabulary's byte strings (see grammar.h).
 *
 * State: a set of stacks of element positions; the top of every live stack is a character
 * set (GE_SET) still to be matched, and an empty stack means the grammar is complete. Sets
 * live in `arena` as [len, pos_0 .. pos_len-1] records (bottom first); building one stack
 * happens in `scratch`. Both buffers and the dedup table grow when needed and are kept, so
 * after the first few tokens a step allocates nothing.
 */
#include "sampler/grammar_int.h"
#include "core/grow.h"

#include <stdlib.h>
#include <string.h>

#define NONE       UINT32_MAX
#define TRIE_MAX   256      /* longer tokens are checked one by one, not through the trie */
#define MAX_EXPAND 2000     /* rules entered in one expansion; deeper stacks are dropped */

typedef struct u32v {
    uint32_t *v;
    size_t    n, cap;
} u32v;

/* Partial UTF-8: val holds the bits so far, rem the continuation bytes still expected, len
 * the sequence length (for the overlong and range checks of RFC 3629). */
typedef struct utf8p {
    uint32_t val;
    uint8_t  rem, len;
} utf8p;

typedef struct tnode {
    uint32_t child, sibling;   /* first child, next sibling (NONE ends) */
    uint32_t tok;              /* first token whose bytes end here; chain in tok_next */
    uint8_t  byte;
} tnode;

struct llmr_gmatch {
    llmr_grammar     *g;
    const llmr_bytes *tok;
    int32_t           n_vocab;
    uint8_t          *eog;
    tnode            *trie;
    uint32_t          n_nodes;
    uint32_t         *tok_next;
    int32_t          *long_toks;
    uint32_t          n_long;

    u32v     cur;              /* the current state's stacks */
    uint32_t cur_n;
    utf8p    cur_p;
    bool     ended;            /* an EOG token was accepted */

    u32v      arena, scratch;
    uint32_t *htab, *hgen;     /* open addressing: arena offsets of this step's stacks */
    uint32_t  hcap, gen, hcount;
    uint32_t  out_off, emitted;
    bool      oom;

    /* One masking walk's memo (see advance_memo), valid while walk_gen stamps match. */
    struct memo_ent { uint64_t sig; uint32_t set, r_off, r_n, gen; } *memo;
    struct cons_ent { uint32_t hash, off, n, gen; } *cons;
    uint32_t memo_cap, memo_count, cons_cap, cons_count, walk_gen;
    struct { uint32_t set, r_off, r_n, gen; } ascii[128];   /* last result per ASCII byte */
    bool     memo_on;          /* inside llmri_gmatch_allowed's walk */
};

/* ---- buffers -------------------------------------------------------------------------- */

static bool reserve(llmr_gmatch *m, u32v *x, size_t extra)
{
    if (extra > SIZE_MAX - x->n || !LLMR_GROW(x->v, x->cap, x->n + extra)) {
        m->oom = true;
        return false;
    }
    return true;
}

static uint32_t hash_stack(const uint32_t *s, uint32_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 0xFF51AFD7ED558CCDull;
    return (uint32_t)(h ^ (h >> 29));
}

static void table_insert(llmr_gmatch *m, uint32_t off)
{
    const uint32_t *a = m->arena.v;
    uint32_t i = hash_stack(a + off + 1, a[off]) & (m->hcap - 1);
    while (m->hgen[i] == m->gen)
        i = (i + 1) & (m->hcap - 1);
    m->htab[i] = off;
    m->hgen[i] = m->gen;
    m->hcount++;
}

/* Doubles the dedup table and re-inserts this step's stacks (they follow out_off). */
static bool table_grow(llmr_gmatch *m)
{
    uint32_t nc = m->hcap ? m->hcap * 2 : 64;
    uint32_t *nt = malloc(nc * sizeof *nt), *ng = calloc(nc, sizeof *ng);
    if (!nt || !ng) {
        free(nt);
        free(ng);
        m->oom = true;
        return false;
    }
    free(m->htab);
    free(m->hgen);
    m->htab = nt;
    m->hgen = ng;
    m->hcap = nc;
    m->gen = 1;
    m->hcount = 0;
    uint32_t off = m->out_off;
    for (uint32_t k = 0; k < m->emitted; k++) {
        table_insert(m, off);
        off += m->arena.v[off] + 1;
    }
    return true;
}

static void new_step(llmr_gmatch *m)
{
    if (++m->gen == 0) {                       /* wrapped: forget every old stamp */
        memset(m->hgen, 0, m->hcap * sizeof *m->hgen);
        m->gen = 1;
    }
    m->hcount = 0;
    m->emitted = 0;
    m->out_off = (uint32_t)m->arena.n;
}

/* Adds scratch[base..base+len) to the set being built, unless it is already there. */
static void emit(llmr_gmatch *m, size_t base, uint32_t len)
{
    if ((m->hcount + 1) * 2 > m->hcap && !table_grow(m))
        return;
    /* An empty stack may come before scratch is allocated: no pointer arithmetic on NULL. */
    const uint32_t *s = m->scratch.v ? m->scratch.v + base : NULL;
    uint32_t i = hash_stack(s, len) & (m->hcap - 1);
    for (; m->hgen[i] == m->gen; i = (i + 1) & (m->hcap - 1)) {
        const uint32_t *a = m->arena.v + m->htab[i];
        if (a[0] == len && (len == 0 || memcmp(a + 1, s, len * sizeof *s) == 0))
            return;
    }
    if (!reserve(m, &m->arena, (size_t)len + 1))
        return;
    uint32_t off = (uint32_t)m->arena.n;
    m->arena.v[off] = len;
    if (len)                                   /* scratch may still be unallocated */
        memcpy(m->arena.v + off + 1, m->scratch.v + base, len * sizeof *s);
    m->arena.n += len + 1;
    m->htab[i] = off;
    m->hgen[i] = m->gen;
    m->hcount++;
    m->emitted++;
}

/* ---- the grammar ---------------------------------------------------------------------- */

static bool set_match(const gelem *el, uint32_t pos, uint32_t cp)
{
    bool found = false;
    for (uint32_t k = 1; k <= el[pos].a && !found; k++)
        found = el[pos + k].a <= cp && cp <= el[pos + k].b;
    return found != (el[pos].b != 0);
}

/* Whether set `pos` matches some code point in [lo, hi]. */
static bool set_meets(const gelem *el, uint32_t pos, uint32_t lo, uint32_t hi)
{
    uint32_t n = el[pos].a;
    if (!el[pos].b) {
        for (uint32_t k = 1; k <= n; k++)
            if (el[pos + k].a <= hi && lo <= el[pos + k].b)
                return true;
        return false;
    }
    /* negated: some point of [lo, hi] lies outside every range */
    uint64_t x = lo;
    for (bool moved = true; moved && x <= hi;) {
        moved = false;
        for (uint32_t k = 1; k <= n; k++)
            if (el[pos + k].a <= x && x <= el[pos + k].b) {
                x = (uint64_t)el[pos + k].b + 1;
                moved = true;
            }
    }
    return x <= hi;
}

/* Expands the stack scratch[base..base+len) until its top is a character set (or it is
 * empty), emitting each result: a rule reference on top is replaced by each alternative of
 * the rule, with the element after the reference kept below it when there is one. */
static void expand(llmr_gmatch *m, size_t base, uint32_t len, int depth)
{
    if (m->oom || depth > MAX_EXPAND)
        return;
    if (len == 0) {
        emit(m, base, 0);
        return;
    }
    const gelem *el = m->g->elems;
    uint32_t pos = m->scratch.v[base + len - 1];
    if (el[pos].type == GE_SET) {
        emit(m, base, len);
        return;
    }
    bool cont = !ge_is_end(&el[pos + 1]);
    for (uint32_t i = m->g->rule_start[el[pos].a];; i++) {
        if (!reserve(m, &m->scratch, (size_t)len + 1))
            return;
        size_t nb = m->scratch.n;
        uint32_t *s = m->scratch.v;
        memcpy(s + nb, s + base, (len - 1) * sizeof *s);
        uint32_t nl = len - 1;
        if (cont)
            s[nb + nl++] = pos + 1;
        if (!ge_is_end(&el[i]))
            s[nb + nl++] = i;
        m->scratch.n = nb + nl;
        expand(m, nb, nl, depth + 1);
        m->scratch.n = nb;
        while (!ge_is_end(&el[i]))
            i += el[i].type == GE_SET ? el[i].a + 1 : 1;
        if (el[i].type == GE_END)
            break;
    }
}

/* The set that follows (in_off, in_n) after code point cp; its count is returned and its
 * stacks start at *out_off. */
static uint32_t advance(llmr_gmatch *m, uint32_t in_off, uint32_t in_n, uint32_t cp,
                        uint32_t *out_off)
{
    const gelem *el = m->g->elems;
    new_step(m);
    *out_off = m->out_off;
    uint32_t walk = in_off;
    for (uint32_t k = 0; k < in_n && !m->oom; k++) {
        uint32_t len = m->arena.v[walk];
        uint32_t top = len ? m->arena.v[walk + len] : 0;
        if (len && set_match(el, top, cp) && reserve(m, &m->scratch, len)) {
            memcpy(m->scratch.v, m->arena.v + walk + 1, len * sizeof(uint32_t));
            m->scratch.n = len;
            uint32_t next = top + 1 + el[top].a;
            if (ge_is_end(&el[next])) {
                expand(m, 0, len - 1, 0);
            } else {
                m->scratch.v[len - 1] = next;
                expand(m, 0, len, 0);
            }
        }
        walk += len + 1;
    }
    return m->emitted;
}

/* Whether some stack of the set can match a code point that starts with the partial
 * sequence p (its value range, minus the overlong forms and the surrogates). */
static bool partial_ok(llmr_gmatch *m, uint32_t off, uint32_t n, utf8p p)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t shift = 6u * p.rem;
    uint32_t lo = p.val << shift, hi = lo | ((1u << shift) - 1);
    if (lo < min_cp[p.len])
        lo = min_cp[p.len];
    if (hi > 0x10FFFF)
        hi = 0x10FFFF;
    if (lo > hi)
        return false;
    const gelem *el = m->g->elems;
    for (uint32_t k = 0, walk = off; k < n; k++) {
        uint32_t len = m->arena.v[walk];
        if (len) {
            uint32_t top = m->arena.v[walk + len];
            if ((lo < 0xD800 && set_meets(el, top, lo, hi < 0xD7FF ? hi : 0xD7FF)) ||
                (hi > 0xDFFF && set_meets(el, top, lo > 0xE000 ? lo : 0xE000, hi)))
                return true;
        }
        walk += len + 1;
    }
    return false;
}

/* ---- the masking walk's memo --------------------------------------------------------------
 * Advancing a set by a code point depends only on which of its stacks match that code point
 * (a stack that matches continues the same way whatever the character). So within one walk
 * over the trie, the result for (set, bitmask of matching stacks) is computed once and reused
 * by every trie node that reaches it, and results equal to an existing set are merged into it
 * (hash-consing), so that, for example, every plain character inside a JSON string leads back
 * to one and the same set. The arena is then append-only for the walk. Sets of more than 64
 * stacks are advanced without the memo (their results are freed after their subtree). */

static uint32_t set_hash(const llmr_gmatch *m, uint32_t off, uint32_t words)
{
    return hash_stack(m->arena.v + off, words);
}

static bool grow_memo(llmr_gmatch *m)
{
    uint32_t nc = m->memo_cap ? m->memo_cap * 2 : 256;
    struct memo_ent *nm = calloc(nc, sizeof *nm);
    if (!nm) {
        m->oom = true;
        return false;
    }
    for (uint32_t i = 0; i < m->memo_cap; i++) {
        struct memo_ent *e = &m->memo[i];
        if (e->gen != m->walk_gen)
            continue;
        uint32_t h = hash_stack((const uint32_t[]){e->set, (uint32_t)e->sig,
                                                   (uint32_t)(e->sig >> 32)}, 3) & (nc - 1);
        while (nm[h].gen == m->walk_gen)
            h = (h + 1) & (nc - 1);
        nm[h] = *e;
    }
    free(m->memo);
    m->memo = nm;
    m->memo_cap = nc;
    return true;
}

static bool grow_cons(llmr_gmatch *m)
{
    uint32_t nc = m->cons_cap ? m->cons_cap * 2 : 256;
    struct cons_ent *nt = calloc(nc, sizeof *nt);
    if (!nt) {
        m->oom = true;
        return false;
    }
    for (uint32_t i = 0; i < m->cons_cap; i++) {
        struct cons_ent *e = &m->cons[i];
        if (e->gen != m->walk_gen)
            continue;
        uint32_t h = e->hash & (nc - 1);
        while (nt[h].gen == m->walk_gen)
            h = (h + 1) & (nc - 1);
        nt[h] = *e;
    }
    free(m->cons);
    m->cons = nt;
    m->cons_cap = nc;
    return true;
}

/* The canonical offset of the set at (off, n): an earlier identical set if there is one (the
 * new copy is then dropped from the arena top), else this one, now registered. */
static uint32_t cons_set(llmr_gmatch *m, uint32_t off, uint32_t n)
{
    uint32_t words = (uint32_t)m->arena.n - off;
    uint32_t hash = set_hash(m, off, words) ^ n;
    if ((m->cons_count + 1) * 2 > m->cons_cap && !grow_cons(m))
        return off;
    uint32_t h = hash & (m->cons_cap - 1);
    for (; m->cons[h].gen == m->walk_gen; h = (h + 1) & (m->cons_cap - 1)) {
        struct cons_ent *e = &m->cons[h];
        if (e->hash == hash && e->n == n && e->off + words <= off &&
            memcmp(m->arena.v + e->off, m->arena.v + off, words * sizeof(uint32_t)) == 0) {
            m->arena.n = off;
            return e->off;
        }
    }
    m->cons[h] = (struct cons_ent){hash, off, n, m->walk_gen};
    m->cons_count++;
    return off;
}

static void memo_begin(llmr_gmatch *m)
{
    if (++m->walk_gen == 0) {
        memset(m->memo, 0, m->memo_cap * sizeof *m->memo);
        memset(m->cons, 0, m->cons_cap * sizeof *m->cons);
        memset(m->ascii, 0, sizeof m->ascii);
        m->walk_gen = 1;
    }
    m->memo_count = m->cons_count = 0;
}

static uint32_t advance_memo(llmr_gmatch *m, uint32_t off, uint32_t n, uint32_t cp,
                             uint32_t *out_off)
{
    const gelem *el = m->g->elems;
    uint64_t sig = 0;
    for (uint32_t k = 0, w = off; k < n; k++) {
        uint32_t len = m->arena.v[w];
        if (len && set_match(el, m->arena.v[w + len], cp))
            sig |= 1ull << k;
        w += len + 1;
    }
    if (sig == 0)
        return 0;
    if ((m->memo_count + 1) * 2 > m->memo_cap && !grow_memo(m))
        return 0;
    uint32_t h = hash_stack((const uint32_t[]){off, (uint32_t)sig, (uint32_t)(sig >> 32)}, 3) &
                 (m->memo_cap - 1);
    for (; m->memo[h].gen == m->walk_gen; h = (h + 1) & (m->memo_cap - 1))
        if (m->memo[h].set == off && m->memo[h].sig == sig) {
            *out_off = m->memo[h].r_off;
            return m->memo[h].r_n;
        }
    uint32_t r_off, r_n = advance(m, off, n, cp, &r_off);
    if (r_n)
        r_off = cons_set(m, r_off, r_n);
    m->memo[h] = (struct memo_ent){sig, off, r_off, r_n, m->walk_gen};
    m->memo_count++;
    *out_off = r_off;
    return r_n;
}

static uint32_t step_cp(llmr_gmatch *m, uint32_t off, uint32_t n, uint32_t cp,
                        uint32_t *out_off)
{
    if (!m->memo_on || n > 64)
        return advance(m, off, n, cp, out_off);
    if (cp >= 128)
        return advance_memo(m, off, n, cp, out_off);
    /* most trie nodes are ASCII bytes from a handful of sets: skip even the memo lookup */
    if (m->ascii[cp].gen == m->walk_gen && m->ascii[cp].set == off) {
        *out_off = m->ascii[cp].r_off;
        return m->ascii[cp].r_n;
    }
    uint32_t r_n = advance_memo(m, off, n, cp, out_off);
    m->ascii[cp].set = off;
    m->ascii[cp].r_off = *out_off;
    m->ascii[cp].r_n = r_n;
    m->ascii[cp].gen = m->walk_gen;
    return r_n;
}

/* One byte of output: the set and partial sequence after byte b. False when no parse
 * survives (malformed UTF-8 included). */
static bool step_byte(llmr_gmatch *m, uint32_t off, uint32_t n, utf8p p, uint8_t b,
                      uint32_t *o_off, uint32_t *o_n, utf8p *op)
{
    if (p.rem == 0) {
        if (b < 0x80) {
            *op = p;
            *o_n = step_cp(m, off, n, b, o_off);
            return *o_n > 0;
        }
        if (b >= 0xC2 && b <= 0xDF)      p = (utf8p){b & 0x1Fu, 1, 2};
        else if (b >= 0xE0 && b <= 0xEF) p = (utf8p){b & 0x0Fu, 2, 3};
        else if (b >= 0xF0 && b <= 0xF4) p = (utf8p){b & 0x07u, 3, 4};
        else return false;
    } else {
        if ((b & 0xC0) != 0x80)
            return false;
        p.val = (p.val << 6) | (b & 0x3Fu);
        if (--p.rem == 0) {
            uint32_t cp = p.val;
            if ((p.len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
                (p.len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
                return false;
            *op = (utf8p){0, 0, 0};
            *o_n = step_cp(m, off, n, cp, o_off);
            return *o_n > 0;
        }
    }
    *op = p;
    *o_off = off;
    *o_n = n;
    return partial_ok(m, off, n, p);
}

/* ---- state ---------------------------------------------------------------------------- */

static uint32_t set_words(const llmr_gmatch *m, const u32v *x, uint32_t off, uint32_t n)
{
    uint32_t w = off;
    for (uint32_t k = 0; k < n; k++)
        w += x->v[w] + 1;
    return w - off;
}

/* Puts the current state at the start of the arena. */
static void load_cur(llmr_gmatch *m)
{
    m->arena.n = 0;
    uint32_t w = set_words(m, &m->cur, 0, m->cur_n);
    if (w && reserve(m, &m->arena, w)) {
        memcpy(m->arena.v, m->cur.v, w * sizeof(uint32_t));
        m->arena.n = w;
    }
}

static void store_cur(llmr_gmatch *m, uint32_t off, uint32_t n, utf8p p)
{
    uint32_t w = set_words(m, &m->arena, off, n);
    m->cur.n = 0;
    if (!reserve(m, &m->cur, w))
        return;
    if (w)
        memcpy(m->cur.v, m->arena.v + off, w * sizeof(uint32_t));
    m->cur.n = w;
    m->cur_n = n;
    m->cur_p = p;
}

void llmri_gmatch_reset(llmr_gmatch *m)
{
    const llmr_grammar *g = m->g;
    m->arena.n = 0;
    new_step(m);
    for (uint32_t i = g->rule_start[g->root];; i++) {
        m->scratch.n = 0;
        if (!ge_is_end(&g->elems[i])) {
            if (!reserve(m, &m->scratch, 1))
                break;
            m->scratch.v[0] = i;
            m->scratch.n = 1;
        }
        expand(m, 0, (uint32_t)m->scratch.n, 0);
        while (!ge_is_end(&g->elems[i]))
            i += g->elems[i].type == GE_SET ? g->elems[i].a + 1 : 1;
        if (g->elems[i].type == GE_END)
            break;
    }
    store_cur(m, 0, m->emitted, (utf8p){0, 0, 0});
    m->ended = false;
}

bool llmri_gmatch_can_end(const llmr_gmatch *m)
{
    if (m->ended)
        return true;
    if (m->cur_p.rem)
        return false;
    for (uint32_t k = 0, w = 0; k < m->cur_n; k++) {
        if (m->cur.v[w] == 0)
            return true;
        w += m->cur.v[w] + 1;
    }
    return false;
}

bool llmri_gmatch_done(const llmr_gmatch *m)
{
    return m->ended || (m->cur_p.rem == 0 && m->cur_n == 1 && m->cur.v[0] == 0);
}

/* Runs bytes from the current state; on success the final set is at *off (count *n). */
static bool run_bytes(llmr_gmatch *m, const char *p, size_t len, uint32_t *off, uint32_t *n,
                      utf8p *up)
{
    load_cur(m);
    *off = 0;
    *n = m->cur_n;
    *up = m->cur_p;
    for (size_t i = 0; i < len && !m->oom; i++)
        if (!step_byte(m, *off, *n, *up, (uint8_t)p[i], off, n, up))
            return false;
    return !m->oom;
}

bool llmri_gmatch_token_ok(llmr_gmatch *m, int32_t t)
{
    if (t < 0 || t >= m->n_vocab || m->ended)
        return false;
    if (m->eog[t])
        return llmri_gmatch_can_end(m);
    if (m->tok[t].len == 0)
        return false;
    uint32_t off, n;
    utf8p up;
    return run_bytes(m, m->tok[t].ptr, m->tok[t].len, &off, &n, &up);
}

int llmri_gmatch_accept_bytes(llmr_gmatch *m, const char *p, size_t len, llmr_err *err)
{
    if (m->ended)
        return llmri_err_set(err, LLMR_ERR_STATE, "grammar: already ended");
    uint32_t off, n;
    utf8p up;
    if (!run_bytes(m, p, len, &off, &n, &up))
        return m->oom ? llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory")
                      : llmri_err_set(err, LLMR_ERR_ARG,
                                     "grammar: the text does not continue a valid parse");
    store_cur(m, off, n, up);
    return m->oom ? llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory") : LLMR_OK;
}

int llmri_gmatch_accept(llmr_gmatch *m, int32_t t, llmr_err *err)
{
    if (t < 0 || t >= m->n_vocab)
        return llmri_err_set(err, LLMR_ERR_ARG, "grammar: token %d out of range", (int)t);
    if (m->eog[t]) {
        if (!llmri_gmatch_can_end(m))
            return llmri_err_set(err, LLMR_ERR_ARG,
                                "grammar: end of generation before the grammar is complete");
        m->ended = true;
        return LLMR_OK;
    }
    if (m->tok[t].len == 0)
        return llmri_err_set(err, LLMR_ERR_ARG, "grammar: token %d has no text", (int)t);
    int rc = llmri_gmatch_accept_bytes(m, m->tok[t].ptr, m->tok[t].len, err);
    if (rc == LLMR_ERR_ARG)
        llmri_err_set(err, rc, "grammar: token %d does not continue a valid parse", (int)t);
    return rc;
}

/* ---- masking through the trie --------------------------------------------------------- */

static void dfs(llmr_gmatch *m, uint32_t node, uint32_t off, uint32_t n, utf8p p,
                uint8_t *allowed, int32_t *count)
{
    for (uint32_t c = m->trie[node].child; c != NONE && !m->oom; c = m->trie[c].sibling) {
        size_t mark = m->arena.n;
        uint32_t o, on;
        utf8p op;
        if (step_byte(m, off, n, p, m->trie[c].byte, &o, &on, &op)) {
            for (uint32_t t = m->trie[c].tok; t != NONE; t = m->tok_next[t]) {
                allowed[t] = 1;
                (*count)++;
            }
            if (m->trie[c].child != NONE)
                dfs(m, c, o, on, op, allowed, count);
        }
        if (n > 64 && m->arena.n != mark) {    /* unmemoised: free it, forget the memo */
            m->arena.n = mark;
            memo_begin(m);
        }
    }
}

int32_t llmri_gmatch_allowed(llmr_gmatch *m, uint8_t *allowed)
{
    memset(allowed, 0, (size_t)m->n_vocab);
    if (m->ended)
        return 0;
    int32_t count = 0;
    load_cur(m);
    memo_begin(m);
    m->memo_on = true;
    if (m->cur_n)
        cons_set(m, 0, m->cur_n);
    dfs(m, 0, 0, m->cur_n, m->cur_p, allowed, &count);
    m->memo_on = false;
    for (uint32_t k = 0; k < m->n_long; k++)
        if (llmri_gmatch_token_ok(m, m->long_toks[k])) {
            allowed[m->long_toks[k]] = 1;
            count++;
        }
    if (llmri_gmatch_can_end(m))
        for (int32_t t = 0; t < m->n_vocab; t++)
            if (m->eog[t]) {
                allowed[t] = 1;
                count++;
            }
    return m->oom ? -LLMR_ERR_NOMEM : count;
}

/* ---- construction --------------------------------------------------------------------- */

/* Edges while building: an open-addressing table from (parent, byte) to the child, so that
 * adding a token costs O(its length) whatever the fan-out (sibling scans made building the
 * 32k Llama trie take tens of milliseconds). */
typedef struct tbuild {
    uint32_t *slot;        /* child node, NONE when empty */
    uint32_t *parent;      /* [node] */
    uint32_t  mask;
} tbuild;

static inline uint32_t edge_hash(uint32_t parent, uint8_t byte)
{
    return (uint32_t)((((uint64_t)parent << 8 | byte) * 0x9E3779B97F4A7C15ull) >> 32);
}

static void trie_add(llmr_gmatch *m, tbuild *tb, const uint8_t *s, size_t len, uint32_t t)
{
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t h = edge_hash(node, s[i]) & tb->mask, c;
        while ((c = tb->slot[h]) != NONE && !(tb->parent[c] == node && m->trie[c].byte == s[i]))
            h = (h + 1) & tb->mask;
        if (c == NONE) {                       /* capacity was sized for every byte */
            c = m->n_nodes++;
            m->trie[c] = (tnode){NONE, m->trie[node].child, NONE, s[i]};
            m->trie[node].child = c;
            tb->parent[c] = node;
            tb->slot[h] = c;
        }
        node = c;
    }
    m->tok_next[t] = m->trie[node].tok;
    m->trie[node].tok = t;
}

/* Copies the subtree at old[node] into nu[] in preorder: a node's first child is the next
 * node, so the masking walk reads the trie front to back instead of hopping around it. */
static uint32_t relayout(const tnode *old, uint32_t node, tnode *nu, uint32_t *pos)
{
    uint32_t me = (*pos)++, prev = NONE;
    nu[me] = (tnode){NONE, NONE, old[node].tok, old[node].byte};
    for (uint32_t c = old[node].child; c != NONE; c = old[c].sibling) {
        uint32_t nc = relayout(old, c, nu, pos);
        if (prev == NONE)
            nu[me].child = nc;
        else
            nu[prev].sibling = nc;
        prev = nc;
    }
    return me;
}

static int build_trie(llmr_gmatch *m, llmr_err *err)
{
    size_t total = 1;                          /* nodes: at most one per byte, plus the root */
    for (int32_t t = 0; t < m->n_vocab; t++) {
        const llmr_bytes *b = &m->tok[t];
        if (!m->eog[t] && b->len && b->len <= TRIE_MAX)
            total += b->len;
        if (!m->eog[t] && b->len && !b->ptr)
            return llmri_err_set(err, LLMR_ERR_ARG, "grammar: token %d has length %zu but no "
                                "bytes", (int)t, b->len);
    }
    if (total >= NONE / 2)
        return llmri_err_set(err, LLMR_ERR_TOO_BIG, "grammar: the vocabulary has %zu bytes of "
                            "token text", total);
    size_t cap = 1024;
    while (cap < 2 * total)
        cap *= 2;
    tbuild tb = {malloc(cap * sizeof *tb.slot), malloc(total * sizeof *tb.parent),
                 (uint32_t)cap - 1};
    m->trie = malloc(total * sizeof *m->trie);
    m->tok_next = malloc((size_t)m->n_vocab * sizeof *m->tok_next);
    m->long_toks = malloc((size_t)m->n_vocab * sizeof *m->long_toks);
    if (!tb.slot || !tb.parent || !m->trie || !m->tok_next || !m->long_toks) {
        free(tb.slot);
        free(tb.parent);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory for the token trie");
    }
    memset(tb.slot, 0xFF, cap * sizeof *tb.slot);
    m->trie[0] = (tnode){NONE, NONE, NONE, 0};
    m->n_nodes = 1;
    for (int32_t t = 0; t < m->n_vocab; t++) {
        const llmr_bytes *b = &m->tok[t];
        if (m->eog[t] || b->len == 0)
            continue;
        if (b->len > TRIE_MAX)
            m->long_toks[m->n_long++] = t;
        else
            trie_add(m, &tb, (const uint8_t *)b->ptr, b->len, (uint32_t)t);
    }
    free(tb.slot);
    free(tb.parent);
    tnode *nu = malloc(m->n_nodes * sizeof *nu);
    if (!nu)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory for the trie");
    uint32_t pos = 0;
    relayout(m->trie, 0, nu, &pos);
    free(m->trie);
    m->trie = nu;
    return LLMR_OK;
}

int llmri_gmatch_create(llmr_gmatch **out, llmr_grammar *g, const llmr_bytes *tok,
                       int32_t n_vocab, const int32_t *eog, size_t n_eog, llmr_err *err)
{
    *out = NULL;
    if (n_vocab <= 0 || !tok) {
        llmri_grammar_free(g);
        return llmri_err_set(err, LLMR_ERR_ARG, "grammar: needs the vocabulary's token bytes "
                            "(n_vocab %d)", (int)n_vocab);
    }
    llmr_gmatch *m = calloc(1, sizeof *m);
    if (!m) {
        llmri_grammar_free(g);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory");
    }
    m->g = g;
    m->tok = tok;
    m->n_vocab = n_vocab;
    m->eog = calloc((size_t)n_vocab, 1);
    if (!m->eog) {
        llmri_gmatch_free(m);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory");
    }
    for (size_t i = 0; i < n_eog; i++) {
        if (eog[i] < 0 || eog[i] >= n_vocab) {
            llmri_gmatch_free(m);
            return llmri_err_set(err, LLMR_ERR_ARG, "grammar: end-of-generation token %d is "
                                "outside the vocabulary (0..%d)", (int)eog[i], (int)n_vocab - 1);
        }
        m->eog[eog[i]] = 1;
    }
    int rc = build_trie(m, err);
    if (rc == LLMR_OK && !table_grow(m))
        rc = llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory");
    if (rc == LLMR_OK) {
        llmri_gmatch_reset(m);
        if (m->oom)
            rc = llmri_err_set(err, LLMR_ERR_NOMEM, "grammar: out of memory");
    }
    if (rc) {
        llmri_gmatch_free(m);
        return rc;
    }
    *out = m;
    return LLMR_OK;
}

void llmri_gmatch_free(llmr_gmatch *m)
{
    if (!m)
        return;
    llmri_grammar_free(m->g);
    free(m->eog);
    free(m->trie);
    free(m->tok_next);
    free(m->long_toks);
    free(m->cur.v);
    free(m->arena.v);
    free(m->scratch.v);
    free(m->htab);
    free(m->hgen);
    free(m->memo);
    free(m->cons);
    free(m);
}
