/* strategy.h - ranking candidate models for a request, by the seed's strategy names.
 *
 * Pure functions over a snapshot of the candidates, so they are table-tested without models.
 * Every strategy first applies the request's needs (context length, chat, JSON mode): a model
 * that cannot serve the request is excluded, with the reason. Healthy models rank before
 * cooling-down ones (those stay as a last resort). Each ranked entry says why it is there. */
#ifndef LLMR_ROUTER_STRATEGY_H
#define LLMR_ROUTER_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rt_strategy {
    RT_QUALITY_FIRST = 0,   /* highest declared quality; ties: faster */
    RT_COST_OPTIMIZED,      /* lowest cost; ties: higher quality */
    RT_SPEED_PRIORITY,      /* highest speed (measured, else declared); ties: already loaded */
    RT_BALANCED,            /* weighted sum of normalised quality, cheapness, speed, idleness */
    RT_ROUND_ROBIN,         /* rotate over the eligible models, request by request */
    RT_LEAST_LOADED,        /* fewest streams in flight; ties: loaded, then quality */
    RT_CAPABILITY_MATCH,    /* the tightest fit: smallest sufficient context; ties: quality */
    RT_RANDOM,              /* a random order (seeded) */
    RT_N_STRATEGIES
} rt_strategy;

/* "quality-first", "cost-optimized", ... (the seed's names). */
const char *rt_strategy_name(rt_strategy s);
/* The strategy of a name (also accepts '_' for '-'); false when unknown. */
bool rt_strategy_parse(const char *name, rt_strategy *out);
/* "quality-first, cost-optimized, ..." for messages. */
const char *rt_strategy_list(void);

typedef struct rt_weights {
    double quality, cost, speed, load;   /* balanced's weights (default 0.4 0.2 0.3 0.1) */
} rt_weights;

rt_weights rt_weights_default(void);

/* What the ranking sees of one model. */
typedef struct rt_cand {
    const char *id;
    double   quality;     /* 0..1 */
    double   cost;        /* >= 0 */
    double   speed;       /* tokens/s: measured if any, else declared (0: unknown) */
    bool     measured;    /* speed was measured, not declared */
    uint32_t context;
    bool     chat, json;
    int      active;      /* streams in flight */
    bool     loaded;      /* local and in memory, or remote */
    bool     healthy;     /* not cooling down */
    double   cooldown_left_s;
    bool     remote;
} rt_cand;

/* What the request needs. */
typedef struct rt_need {
    uint32_t context;     /* prompt tokens (estimated) + max_tokens; 0: no need */
    bool     chat;
    bool     json;
    bool     local;       /* log-probabilities: only local models compute them */
} rt_need;

typedef struct rt_rank {
    size_t idx;           /* into the candidate array */
    bool   eligible;      /* false: excluded, see why */
    double score;         /* the strategy's key (higher is better), for the explanation */
    char   why[192];
} rt_rank;

/* Ranks n candidates into out[0..n): eligible ones first in the strategy's order (healthy
 * before cooling down), then the excluded ones. `turn` is round-robin's counter and `rng` the
 * random strategy's state (both advanced). Returns the number of eligible candidates. */
size_t rt_rank_models(rt_strategy s, const rt_weights *w, const rt_cand *c, size_t n,
                      const rt_need *need, uint64_t *turn, uint64_t *rng, rt_rank *out);

/* A 64-bit PRNG step (splitmix64), for random ranking and retry jitter. */
uint64_t rt_rand(uint64_t *state);
/* A uniform double in [0, 1). */
double rt_rand01(uint64_t *state);

#endif
