/* sampler.c - the sampling chain (order and formulas: llama.cpp's common sampler, see
 * sampler.h and the llmr_sampling section of llmr.h). */
#include "sampler/sampler.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cand {
    float   logit;
    int32_t id;
} cand;

struct llmr_sampler {
    int32_t         n_vocab;
    llmr_sampling   o;             /* borrowed pointers cleared; bias copied below */
    llmr_logit_bias *bias;
    uint64_t        seed;
    llmr_rng        rng;

    float    *work;                /* logits after penalties and bias, [n_vocab] */
    cand     *cand;                /* candidates, [n_vocab] */
    cand     *tmp;                 /* radix sort buffer, [n_vocab] */
    float    *aux;                 /* per-candidate scratch (typical-p), [n_vocab] */

    int32_t  *hist;                /* ring of the last penalty_last_n tokens */
    int32_t   hist_n, hist_pos;
    uint32_t *count;               /* occurrences in the ring, [n_vocab] */
    uint32_t *stamp, stamp_gen;    /* "already penalised this step", [n_vocab] */

    llmr_gmatch *gm;               /* NULL without a grammar */
    uint8_t     *allowed;          /* [n_vocab] */
};

/* ---- PRNG ------------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void llmri_rng_seed(llmr_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t llmri_rng_next(llmr_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double llmri_rng_uniform(llmr_rng *r) { return (double)(llmri_rng_next(r) >> 11) * 0x1.0p-53; }

/* ---- ordering: higher logit first, then lower id, so every sort is one total order ------ */

static inline bool before(const cand *a, const cand *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static inline void swap(cand *a, cand *b)
{
    cand t = *a;
    *a = *b;
    *b = t;
}

/* The float's bits mapped so that unsigned order is descending float order. */
static inline uint32_t desc_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);   /* ascending as unsigned */
    return ~u;
}

/* Sorts c[0..n) into the order (logit descending, id ascending). Large arrays: an LSD radix
 * sort, 8 bits a pass over s->tmp, on the key (descending logit bits, id): the id's bytes
 * first (only those the vocabulary size needs), then the logit's 4 (about 10x faster than
 * qsort on 32k candidates, linear even when every logit is equal, and allocation-free). */
static void sort_cands(llmr_sampler *s, cand *c, int32_t n)
{
    if (n < 64) {                              /* insertion sort; no qsort: glibc's may malloc */
        for (int32_t i = 1; i < n; i++) {
            cand x = c[i];
            int32_t j = i;
            for (; j > 0 && before(&x, &c[j - 1]); j--)
                c[j] = c[j - 1];
            c[j] = x;
        }
        return;
    }
    cand *a = c, *b = s->tmp;
    int id_bytes = 1;
    while (id_bytes < 4 && ((uint32_t)s->n_vocab - 1) >> (8 * id_bytes))
        id_bytes++;
    for (int pass = 0; pass < id_bytes + 4; pass++) {
        bool on_id = pass < id_bytes;
        int shift = 8 * (on_id ? pass : pass - id_bytes);
        uint32_t count[257] = {0};
        for (int32_t i = 0; i < n; i++) {
            uint32_t k = on_id ? (uint32_t)a[i].id : desc_key(a[i].logit);
            count[((k >> shift) & 0xFF) + 1]++;
        }
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (int32_t i = 0; i < n; i++) {
            uint32_t k = on_id ? (uint32_t)a[i].id : desc_key(a[i].logit);
            b[count[(k >> shift) & 0xFF]++] = a[i];
        }
        cand *t = a;
        a = b;
        b = t;
    }
    if (a != c)
        memcpy(c, a, (size_t)n * sizeof *c);
}

/* Moves the k first elements of the order to c[0..k) (unsorted): quickselect with a
 * median-of-three pivot, expected O(n), so top-k never sorts the whole vocabulary. */
static void select_top(cand *c, int32_t n, int32_t k)
{
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (before(&c[mid], &c[lo])) swap(&c[mid], &c[lo]);
        if (before(&c[hi], &c[lo])) swap(&c[hi], &c[lo]);
        if (before(&c[hi], &c[mid])) swap(&c[hi], &c[mid]);
        cand pivot = c[mid];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (before(&c[i], &pivot)) i++;
            while (before(&pivot, &c[j])) j--;
            if (i <= j) {
                swap(&c[i], &c[j]);
                i++;
                j--;
            }
        }
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            return;
    }
}

/* The k first tokens of the order, straight from s->work into s->cand[0..k) (unsorted):
 * a min-heap of the best k seen so far, whose root (the worst kept) is the bar a newcomer
 * must pass. One float compare per token, so top-k costs about one pass over the logits. */
static int32_t top_k_heap(llmr_sampler *s, int32_t k)
{
    cand *h = s->cand;
    int32_t n = 0;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float x = s->work[i];
        if (!(x > -INFINITY))
            continue;
        int32_t j;
        if (n < k) {                           /* sift up */
            j = n++;
            while (j > 0 && before(&h[(j - 1) / 2], &(cand){x, i})) {
                h[j] = h[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            h[j] = (cand){x, i};
            continue;
        }
        if (!(x > h[0].logit))                 /* equal logits: the lower id already won */
            continue;
        cand c = {x, i};
        j = 0;                                 /* sift down from the root */
        for (;;) {
            int32_t l = 2 * j + 1, w = j;
            cand *best = &c;
            if (l < k && before(best, &h[l])) { w = l; best = &h[l]; }
            if (l + 1 < k && before(best, &h[l + 1])) { w = l + 1; best = &h[l + 1]; }
            if (w == j)
                break;
            h[j] = h[w];
            j = w;
        }
        h[j] = c;
    }
    return n;
}

/* ---- the filters ------------------------------------------------------------------------ */

/* llama.cpp's penalties: a token seen `count` times in the window gets
 * logit / r (logit > 0) or logit * r (logit <= 0), minus count * frequency + presence. */
static bool penalties_active(const llmr_sampler *s)
{
    const llmr_sampling *o = &s->o;
    return s->hist_n > 0 && (o->repeat_penalty != 1.0f || o->presence_penalty != 0.0f ||
                             o->frequency_penalty != 0.0f);
}

static void apply_penalties(llmr_sampler *s)
{
    const llmr_sampling *o = &s->o;
    if (!penalties_active(s))
        return;
    if (++s->stamp_gen == 0) {
        memset(s->stamp, 0, (size_t)s->n_vocab * sizeof *s->stamp);
        s->stamp_gen = 1;
    }
    for (int32_t i = 0; i < s->hist_n; i++) {
        int32_t t = s->hist[i];
        if (s->stamp[t] == s->stamp_gen)
            continue;
        s->stamp[t] = s->stamp_gen;
        float l = s->work[t];
        l = l <= 0 ? l * o->repeat_penalty : l / o->repeat_penalty;
        s->work[t] = l - (float)s->count[t] * o->frequency_penalty - o->presence_penalty;
    }
}

static int32_t argmax(const float *w, int32_t n)
{
    int32_t best = -1;
    for (int32_t i = 0; i < n; i++)
        if (w[i] > -INFINITY && (best < 0 || w[i] > w[best]))
            best = i;      /* strict >: ties keep the lowest id; NaN never compares greater */
    return best;
}

/* Locally typical sampling (Meister et al. 2022, as llama.cpp): keep the tokens whose
 * surprise -log p is closest to the entropy H until their mass reaches typical_p. */
static int32_t typical(llmr_sampler *s, int32_t n)
{
    cand *c = s->cand;
    float mx = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        mx = fmaxf(mx, c[i].logit);
    double z = 0, h = 0;
    for (int32_t i = 0; i < n; i++)
        z += exp((double)c[i].logit - mx);
    for (int32_t i = 0; i < n; i++) {
        double lp = (double)c[i].logit - mx - log(z);
        h -= exp(lp) * lp;
    }
    /* sort by |(-log p) - H| ascending: store the key in logit's place temporarily */
    for (int32_t i = 0; i < n; i++) {
        double lp = (double)c[i].logit - mx - log(z);
        s->aux[c[i].id] = c[i].logit;
        c[i].logit = -(float)fabs(-lp - h);    /* "before" sorts by larger first */
    }
    sort_cands(s, c, n);
    int32_t keep = n;
    double cum = 0;
    for (int32_t i = 0; i < n; i++) {
        c[i].logit = s->aux[c[i].id];
        cum += exp((double)c[i].logit - mx) / z;
        if (keep == n && cum >= s->o.typical_p && i + 1 >= s->o.min_keep)
            keep = i + 1;
    }
    return keep;
}

/* Buckets of the distance below the best logit, for top-p on large sets (llama.cpp's
 * bucket idea): the bucket where the mass from the top reaches p bounds the cut, so only
 * the candidates above it are sorted. Distances past SPAN share the last bucket. */
enum { NB = 256 };
#define SPAN 32.0f

static inline int bucket(float logit, float mx)
{
    float d = (mx - logit) * (NB / SPAN);
    return d < (float)(NB - 1) ? (int)d : NB - 1;
}

/* top-p then min-p. Both keep a prefix of the sorted order, so they are applied as one
 * filter before sorting: min-p as a logit bound (p >= min_p * p_max  <=>  logit >= max +
 * log(min_p)), top-p as the bucket bound above; then the survivors are sorted and top-p's
 * exact cut taken, its mass always over the normaliser of the whole current set. */
static int32_t nucleus(llmr_sampler *s, int32_t n)
{
    const llmr_sampling *o = &s->o;
    cand *c = s->cand;
    float mx = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        mx = fmaxf(mx, c[i].logit);
    bool use_buckets = o->top_p < 1.0f && n >= 1024;
    double z = 0, mass[NB] = {0};
    for (int32_t i = 0; i < n; i++) {
        double e = expf(c[i].logit - mx);     /* float exp: 3x faster, ample here */
        z += e;
        if (use_buckets)
            mass[bucket(c[i].logit, mx)] += e;
    }
    int last = NB;                             /* highest bucket kept; NB = no bound */
    double cum = 0;
    for (int b = 0; use_buckets && b < NB - 1; b++)
        if ((cum += mass[b]) >= o->top_p * z) {
            last = b;
            break;
        }
    float bound = o->min_p > 0 ? mx + logf(o->min_p) : -INFINITY;
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        m += c[i].logit >= bound && (last == NB || bucket(c[i].logit, mx) <= last);
    if (m >= o->min_keep) {
        int32_t k = 0;
        for (int32_t i = 0; i < n; i++)
            if (c[i].logit >= bound && (last == NB || bucket(c[i].logit, mx) <= last))
                c[k++] = c[i];
    } else {                                   /* too few pass: keep the min_keep best */
        m = o->min_keep < n ? o->min_keep : n;
        select_top(c, n, m);
    }
    if (o->top_p >= 1.0f)
        return m;
    sort_cands(s, c, m);
    cum = 0;
    for (int32_t i = 0; i < m; i++) {
        cum += exp((double)c[i].logit - mx) / z;
        if (cum >= o->top_p && i + 1 >= o->min_keep)
            return i + 1;
    }
    return m;
}

/* The filters after penalties and bias, on s->work: the survivors are s->cand[0..n). With
 * temperature 0 the only survivor is the argmax. 0 when every token is banned. */
static int32_t run_filters(llmr_sampler *s)
{
    const llmr_sampling *o = &s->o;
    if (o->temperature == 0.0f) {
        int32_t best = argmax(s->work, s->n_vocab);
        if (best < 0)
            return 0;
        s->cand[0] = (cand){s->work[best], best};
        return 1;
    }
    int32_t n;
    if (o->top_k > 0 && o->top_k < s->n_vocab) {
        n = top_k_heap(s, o->top_k > o->min_keep ? o->top_k : o->min_keep);
    } else {
        n = 0;
        for (int32_t i = 0; i < s->n_vocab; i++)
            if (s->work[i] > -INFINITY)        /* also drops NaN */
                s->cand[n++] = (cand){s->work[i], i};
    }
    if (n == 0)
        return 0;
    if (o->typical_p < 1.0f && n > 1)
        n = typical(s, n);
    if ((o->top_p < 1.0f || o->min_p > 0.0f) && n > 1)
        n = nucleus(s, n);
    return n;
}

/* softmax(logit / T) weight of each survivor, relative to the largest. */
static double weight(const llmr_sampler *s, int32_t i, float mx)
{
    if (s->o.temperature == 0.0f)
        return 1.0;
    return exp(((double)s->cand[i].logit - mx) / s->o.temperature);
}

static float max_logit(const llmr_sampler *s, int32_t n)
{
    float mx = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        mx = fmaxf(mx, s->cand[i].logit);
    return mx;
}

/* The whole chain on s->work: filters, temperature, a draw. -1 when every token is banned. */
static int32_t run_chain(llmr_sampler *s)
{
    int32_t n = run_filters(s);
    if (n <= 1)
        return n ? s->cand[0].id : -1;
    float mx = max_logit(s, n);
    double total = 0;
    for (int32_t i = 0; i < n; i++)
        total += weight(s, i, mx);
    double u = llmri_rng_uniform(&s->rng) * total, acc = 0;
    for (int32_t i = 0; i < n; i++) {
        acc += weight(s, i, mx);
        if (u < acc)
            return s->cand[i].id;
    }
    return s->cand[n - 1].id;                  /* rounding left u at the very top */
}

static void prepare(llmr_sampler *s, const float *logits)
{
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof *s->work);
    apply_penalties(s);
    for (size_t i = 0; i < s->o.n_logit_bias; i++)
        s->work[s->bias[i].token] += s->bias[i].bias;
}

int32_t llmri_sampler_candidates(llmr_sampler *s, const float *logits, int32_t *ids,
                                float *probs, int32_t cap)
{
    prepare(s, logits);
    int32_t n = run_filters(s);
    sort_cands(s, s->cand, n);
    float mx = max_logit(s, n);
    double total = 0;
    for (int32_t i = 0; i < n; i++)
        total += weight(s, i, mx);
    for (int32_t i = 0; i < n && i < cap; i++) {
        ids[i] = s->cand[i].id;
        probs[i] = (float)(weight(s, i, mx) / total);
    }
    return n;
}

int32_t llmri_sampler_sample(llmr_sampler *s, const float *logits, llmr_err *err)
{
    int32_t t;
    if (s->o.temperature == 0.0f && !s->gm && !s->o.n_logit_bias && !penalties_active(s)) {
        t = argmax(logits, s->n_vocab);        /* plain greedy: nothing to copy or change */
        if (t < 0)
            llmri_err_set(err, LLMR_ERR_STATE, "sampler: every token is banned (-inf logits)");
        return t;
    }
    prepare(s, logits);
    t = run_chain(s);
    if (t >= 0 && s->gm && !llmri_gmatch_token_ok(s->gm, t)) {
        int32_t n = llmri_gmatch_allowed(s->gm, s->allowed);
        if (n < 0) {
            llmri_err_set(err, LLMR_ERR_NOMEM, "sampler: out of memory in the grammar");
            return -1;
        }
        for (int32_t i = 0; i < s->n_vocab; i++)
            if (!s->allowed[i])
                s->work[i] = -INFINITY;
        t = n ? run_chain(s) : -1;
        if (t < 0) {
            llmri_err_set(err, LLMR_ERR_STATE, n ? "sampler: every token the grammar allows "
                         "is banned (logit bias or -inf logits)" : "sampler: the grammar "
                         "allows no token of this vocabulary here");
            return -1;
        }
    } else if (t < 0) {
        llmri_err_set(err, LLMR_ERR_STATE, "sampler: every token is banned (-inf logits)");
    }
    return t;
}

/* ---- history and state ------------------------------------------------------------------ */

static void push_history(llmr_sampler *s, int32_t t)
{
    int32_t cap = s->o.penalty_last_n;
    if (cap <= 0)
        return;
    if (s->hist_n == cap) {
        s->count[s->hist[s->hist_pos]]--;
        s->hist[s->hist_pos] = t;
        s->hist_pos = (s->hist_pos + 1) % cap;
    } else {
        s->hist[s->hist_n++] = t;
    }
    s->count[t]++;
}

void llmri_sampler_add_history(llmr_sampler *s, const int32_t *toks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (toks[i] >= 0 && toks[i] < s->n_vocab)
            push_history(s, toks[i]);
}

int llmri_sampler_accept(llmr_sampler *s, int32_t t, llmr_err *err)
{
    if (t < 0 || t >= s->n_vocab)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampler: token %d outside the vocabulary "
                            "(0..%d)", (int)t, (int)s->n_vocab - 1);
    if (s->gm) {
        int rc = llmri_gmatch_accept(s->gm, t, err);
        if (rc)
            return rc;
    }
    push_history(s, t);
    return LLMR_OK;
}

bool llmri_sampler_grammar_done(const llmr_sampler *s) { return s->gm && llmri_gmatch_done(s->gm); }
bool llmri_sampler_has_grammar(const llmr_sampler *s) { return s->gm != NULL; }
uint64_t llmri_sampler_seed(const llmr_sampler *s) { return s->seed; }

void llmri_sampler_reset(llmr_sampler *s)
{
    if (s->hist_n)
        memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
    s->hist_n = s->hist_pos = 0;
    llmri_rng_seed(&s->rng, s->seed);
    if (s->gm)
        llmri_gmatch_reset(s->gm);
}

/* ---- creation ----------------------------------------------------------------------------- */

static int check_bias(const llmr_sampling *o, int32_t n_vocab, llmr_err *err)
{
    if (o->n_logit_bias && !o->logit_bias)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampling: n_logit_bias is %zu but logit_bias "
                            "is NULL", o->n_logit_bias);
    for (size_t i = 0; i < o->n_logit_bias; i++) {
        const llmr_logit_bias *b = &o->logit_bias[i];
        if (b->token < 0 || b->token >= n_vocab)
            return llmri_err_set(err, LLMR_ERR_ARG, "sampling: logit_bias[%zu]: token %d is "
                                "outside the vocabulary (0..%d)", i, (int)b->token,
                                (int)n_vocab - 1);
    }
    return LLMR_OK;
}

static uint64_t random_seed(void)
{
    uint64_t x = (uint64_t)(llmri_now() * 1e9) ^ ((uint64_t)getpid() << 32);
    x ^= (uint64_t)(uintptr_t)&x;
    return splitmix64(&x);
}

static int alloc_buffers(llmr_sampler *s, llmr_err *err)
{
    size_t n = (size_t)s->n_vocab;
    s->work = malloc(n * sizeof *s->work);
    s->cand = malloc(n * sizeof *s->cand);
    s->tmp = malloc(n * sizeof *s->tmp);
    s->aux = malloc(n * sizeof *s->aux);
    s->count = calloc(n, sizeof *s->count);
    s->stamp = calloc(n, sizeof *s->stamp);
    s->hist = malloc(((size_t)s->o.penalty_last_n + 1) * sizeof *s->hist);
    s->bias = malloc((s->o.n_logit_bias + 1) * sizeof *s->bias);
    if (!s->work || !s->cand || !s->tmp || !s->aux || !s->count || !s->stamp || !s->hist ||
        !s->bias)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "sampler: out of memory for %zu tokens", n);
    return LLMR_OK;
}

static int attach_grammar(llmr_sampler *s, const char *text, const llmr_bytes *tok,
                          const int32_t *eog, size_t n_eog, llmr_err *err)
{
    if (!tok)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampler: a grammar needs the tokens' bytes");
    llmr_grammar *g;
    int rc = llmri_grammar_parse(text, &g, err);
    if (rc)
        return rc;
    s->allowed = malloc((size_t)s->n_vocab);
    if (!s->allowed) {
        llmri_grammar_free(g);
        return llmri_err_set(err, LLMR_ERR_NOMEM, "sampler: out of memory");
    }
    return llmri_gmatch_create(&s->gm, g, tok, s->n_vocab, eog, n_eog, err);
}

int llmri_sampler_create(llmr_sampler **out, int32_t n_vocab, const llmr_sampling *opts,
                        const char *gbnf, const llmr_bytes *tok, const int32_t *eog,
                        size_t n_eog, llmr_err *err)
{
    *out = NULL;
    llmr_sampling o = opts ? *opts : llmr_sampling_defaults();
    int rc;
    if (n_vocab <= 0)
        return llmri_err_set(err, LLMR_ERR_ARG, "sampler: n_vocab %d", (int)n_vocab);
    if ((rc = llmri_sampling_check(&o, err)) || (rc = check_bias(&o, n_vocab, err)))
        return rc;
    llmr_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "sampler: out of memory");
    s->n_vocab = n_vocab;
    if (o.min_keep < 1)
        o.min_keep = 1;
    s->o = o;
    s->seed = o.seed == LLMR_SEED_RANDOM ? random_seed() : o.seed;
    char *text = NULL;
    if (!(rc = alloc_buffers(s, err))) {
        if (o.n_logit_bias)
            memcpy(s->bias, o.logit_bias, o.n_logit_bias * sizeof *s->bias);
        s->o.logit_bias = NULL;
        s->o.grammar = s->o.json_schema = NULL;
        if (gbnf)
            rc = attach_grammar(s, gbnf, tok, eog, n_eog, err);
        else if (!(rc = llmri_sampling_grammar_text(&o, &text, err)) && text)
            rc = attach_grammar(s, text, tok, eog, n_eog, err);
    }
    free(text);
    if (rc) {
        llmri_sampler_free(s);
        return rc;
    }
    llmri_rng_seed(&s->rng, s->seed);
    *out = s;
    return LLMR_OK;
}

void llmri_sampler_free(llmr_sampler *s)
{
    if (!s)
        return;
    free(s->work);
    free(s->cand);
    free(s->tmp);
    free(s->aux);
    free(s->count);
    free(s->stamp);
    free(s->hist);
    free(s->bias);
    free(s->allowed);
    llmri_gmatch_free(s->gm);
    free(s);
}

/* ---- log-probabilities ------------------------------------------------------------------ */

void llmri_logprobs(const float *logits, int32_t n_vocab, int32_t chosen, int n_top,
                    llmr_token_logprob *out)
{
    /* log p_i = l_i - (m + log sum_j exp(l_j - m)), summed in double: exp(l - m) <= 1, so
     * nothing overflows, and -inf logits (banned by the model itself) add 0 */
    float m = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] > m)
            m = logits[i];
    double sum = 0;
    for (int32_t i = 0; i < n_vocab; i++)
        sum += exp((double)logits[i] - m);
    double lse = (double)m + log(sum);
    if (n_top > n_vocab)
        n_top = n_vocab;
    if (n_top > LLMR_MAX_TOP_LOGPROBS)
        n_top = LLMR_MAX_TOP_LOGPROBS;
    /* the n_top largest by insertion into a sorted list: n_vocab * n_top at worst, and most
     * tokens are rejected by one comparison with the list's last */
    int32_t n = 0;
    for (int32_t i = 0; i < n_vocab && n_top > 0; i++) {
        float l = logits[i];
        if (n == n_top && !(l > out->top[n - 1].logprob))
            continue;
        int32_t at = n < n_top ? n++ : n - 1;
        while (at > 0 && l > out->top[at - 1].logprob) {
            out->top[at] = out->top[at - 1];
            at--;
        }
        out->top[at] = (llmr_top_logprob){i, l, "", 0};
    }
    for (int32_t k = 0; k < n; k++) {
        double lp = (double)out->top[k].logprob - lse;
        out->top[k].logprob = lp < 0 ? (float)lp : 0.0f;
    }
    out->n_top = n;
    double lc = chosen >= 0 && chosen < n_vocab ? (double)logits[chosen] - lse : -INFINITY;
    out->token = chosen;
    out->logprob = lc < 0 ? (float)lc : 0.0f;
    out->bytes = "";
    out->len = 0;
}
