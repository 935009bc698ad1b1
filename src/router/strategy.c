/* strategy.c - candidate ranking (see strategy.h). */
#include "router/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[RT_N_STRATEGIES] = {
    "quality-first", "cost-optimized", "speed-priority", "balanced",
    "round-robin",   "least-loaded",   "capability-match", "random",
};

const char *rt_strategy_name(rt_strategy s)
{
    return (unsigned)s < RT_N_STRATEGIES ? NAMES[s] : "unknown";
}

const char *rt_strategy_list(void)
{
    return "quality-first, cost-optimized, speed-priority, balanced, round-robin, "
           "least-loaded, capability-match, random";
}

bool rt_strategy_parse(const char *name, rt_strategy *out)
{
    char buf[32];
    size_t n = strlen(name);
    if (n >= sizeof buf)
        return false;
    for (size_t i = 0; i <= n; i++)
        buf[i] = name[i] == '_' ? '-' : name[i];
    for (int i = 0; i < RT_N_STRATEGIES; i++)
        if (!strcmp(buf, NAMES[i])) {
            *out = (rt_strategy)i;
            return true;
        }
    return false;
}

rt_weights rt_weights_default(void)
{
    return (rt_weights){0.4, 0.2, 0.3, 0.1};
}

uint64_t rt_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double rt_rand01(uint64_t *s) { return (double)(rt_rand(s) >> 11) * (1.0 / 9007199254740992.0); }

/* Why a model cannot serve the request ("" when it can). */
static bool excluded(const rt_cand *c, const rt_need *n, char *why, size_t len)
{
    if (n->context && c->context < n->context) {
        snprintf(why, len, "excluded: context %u < %u needed", c->context, n->context);
        return true;
    }
    if (n->chat && !c->chat) {
        snprintf(why, len, "excluded: no chat capability");
        return true;
    }
    if (n->json && !c->json) {
        snprintf(why, len, "excluded: no JSON mode");
        return true;
    }
    if (n->local && c->remote) {
        snprintf(why, len, "excluded: log-probabilities need a local model");
        return true;
    }
    return false;
}

/* The sort context: qsort has no user pointer, so the comparator reads these. Ranking runs
 * under the router's lock, and tests are single-threaded; _Thread_local keeps it safe anyway. */
static _Thread_local const rt_cand *g_c;

static int cmp_desc(double a, double b) { return a > b ? -1 : a < b ? 1 : 0; }

static int cmp_rank(const void *pa, const void *pb)
{
    const rt_rank *a = pa, *b = pb;
    if (a->eligible != b->eligible)
        return a->eligible ? -1 : 1;
    bool ha = g_c[a->idx].healthy, hb = g_c[b->idx].healthy;
    if (ha != hb)
        return ha ? -1 : 1;
    int k = cmp_desc(a->score, b->score);
    if (k)
        return k;
    return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;   /* stable: config order */
}

/* min-max normalisation over the eligible candidates; all equal -> 1 (no preference). */
static double norm(double v, double lo, double hi) { return hi > lo ? (v - lo) / (hi - lo) : 1.0; }

static void fill_scores(rt_strategy s, const rt_weights *w, const rt_cand *c, rt_rank *r,
                        size_t n, uint64_t *turn, uint64_t *rng, size_t n_elig)
{
    double qlo = 1e300, qhi = -1e300, clo = 1e300, chi = -1e300, slo = 1e300, shi = -1e300;
    double llo = 1e300, lhi = -1e300;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].eligible)
            continue;
        const rt_cand *x = &c[r[i].idx];
        qlo = x->quality < qlo ? x->quality : qlo;
        qhi = x->quality > qhi ? x->quality : qhi;
        clo = x->cost < clo ? x->cost : clo;
        chi = x->cost > chi ? x->cost : chi;
        slo = x->speed < slo ? x->speed : slo;
        shi = x->speed > shi ? x->speed : shi;
        llo = x->active < llo ? x->active : llo;
        lhi = x->active > lhi ? x->active : lhi;
    }
    uint64_t start = n_elig ? (*turn)++ % n_elig : 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].eligible)
            continue;
        const rt_cand *x = &c[r[i].idx];
        char spd[32];
        if (x->speed > 0)
            snprintf(spd, sizeof spd, "%.0f t/s%s", x->speed, x->measured ? " measured" : "");
        else
            snprintf(spd, sizeof spd, "unknown");
        /* Secondary keys are folded in with small factors so one sort does the tie-breaks;
         * the primary key always dominates (its unit is >= 1e3 times the secondary's range). */
        switch (s) {
        case RT_QUALITY_FIRST:
            r[i].score = x->quality * 1e6 + x->speed / 1e3;
            snprintf(r[i].why, sizeof r[i].why, "quality %.2f (speed %s)", x->quality, spd);
            break;
        case RT_COST_OPTIMIZED:
            r[i].score = -x->cost * 1e6 + x->quality;
            snprintf(r[i].why, sizeof r[i].why, "cost %.4g (quality %.2f)", x->cost, x->quality);
            break;
        case RT_SPEED_PRIORITY:
            r[i].score = x->speed * 10 + (x->loaded ? 1 : 0);
            snprintf(r[i].why, sizeof r[i].why, "speed %s%s", spd,
                     x->loaded ? ", loaded" : ", not loaded");
            break;
        case RT_BALANCED: {
            /* each term in [0,1], 1 the best among the eligible (all equal: 1) */
            double q = norm(x->quality, qlo, qhi);
            double ch = chi > clo ? 1 - norm(x->cost, clo, chi) : 1;
            double sp = norm(x->speed, slo, shi);
            double ld = lhi > llo ? 1 - norm(x->active, llo, lhi) : 1;
            r[i].score = w->quality * q + w->cost * ch + w->speed * sp + w->load * ld;
            snprintf(r[i].why, sizeof r[i].why, "%.2f*quality %.2f + %.2f*cheapness %.2f + "
                     "%.2f*speed %.2f + %.2f*idleness %.2f", w->quality, q, w->cost, ch,
                     w->speed, sp, w->load, ld);
            break;
        }
        case RT_ROUND_ROBIN: {
            size_t pos = (k + n_elig - (size_t)start) % n_elig;   /* 0 for this turn's pick */
            r[i].score = -(double)pos;
            snprintf(r[i].why, sizeof r[i].why, "turn %llu: position %zu in the rotation",
                     (unsigned long long)start, pos + 1);
            break;
        }
        case RT_LEAST_LOADED:
            r[i].score = -x->active * 1e6 + (x->loaded ? 1e3 : 0) + x->quality;
            snprintf(r[i].why, sizeof r[i].why, "%d stream%s in flight%s", x->active,
                     x->active == 1 ? "" : "s", x->loaded ? ", loaded" : ", not loaded");
            break;
        case RT_CAPABILITY_MATCH:
            /* the smallest context that suffices keeps big models free for big requests */
            r[i].score = -(double)x->context + x->quality / 10;
            snprintf(r[i].why, sizeof r[i].why, "fits: context %u%s%s (quality %.2f)",
                     x->context, x->chat ? ", chat" : "", x->json ? ", json" : "", x->quality);
            break;
        case RT_RANDOM:
        default:
            r[i].score = rt_rand01(rng);
            snprintf(r[i].why, sizeof r[i].why, "random draw %.3f", r[i].score);
            break;
        }
        if (!x->healthy) {
            size_t l = strlen(r[i].why);
            snprintf(r[i].why + l, sizeof r[i].why - l, "; cooling down (%.0f s left): last "
                     "resort", x->cooldown_left_s);
        }
        k++;
    }
}

size_t rt_rank_models(rt_strategy s, const rt_weights *w, const rt_cand *c, size_t n,
                      const rt_need *need, uint64_t *turn, uint64_t *rng, rt_rank *out)
{
    rt_weights dw = rt_weights_default();
    rt_need none = {0};
    if (!w)
        w = &dw;
    if (!need)
        need = &none;
    size_t n_elig = 0;
    for (size_t i = 0; i < n; i++) {
        out[i].idx = i;
        out[i].score = 0;
        out[i].why[0] = 0;
        out[i].eligible = !excluded(&c[i], need, out[i].why, sizeof out[i].why);
        n_elig += out[i].eligible;
    }
    fill_scores(s, w, c, out, n, turn, rng, n_elig);
    g_c = c;
    qsort(out, n, sizeof *out, cmp_rank);
    g_c = NULL;
    return n_elig;
}
