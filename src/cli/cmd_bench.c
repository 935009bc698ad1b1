/* cmd_bench.c - `llmr bench`, in the manner of llama.cpp's llama-bench: prompt processing
 * (ppN: N random tokens in one eval) and generation (tgN: N single-token evals) tests,
 * repeated, reported as tokens per second with the standard deviation.
 *
 * Method as llama-bench (b4748): one warm-up run per test, then -r timed runs; t/s of each run
 * = tokens / seconds; avg_ts and stddev_ts over the runs. The --json keys are llama-bench's,
 * so tools that read its output read ours. -d N (later llama-bench's n_depth) puts N random
 * tokens in the cache first: they are evaluated once per (depth, test), untimed, and every run
 * evaluates its tokens from position N on, overwriting the previous run's (an eval at
 * position N drops what the cache held from N on), so each run sees exactly N cached tokens.
 */
#include "cli/cli.h"
#include "cli/gen_flags.h"
#include "core/util.h"
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LIST 16

typedef struct int_list { int v[MAX_LIST]; int n; } int_list;

static bool parse_list(const char *s, int lo, int_list *out)
{
    out->n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < lo || v > (1 << 20) || (*end && *end != ',') || out->n == MAX_LIST)
            return false;
        out->v[out->n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return out->n > 0;
}

typedef struct result {
    const char *model_path;
    char model_type[96], ftype[16];
    uint64_t size, n_params;
    int threads, n_prompt, n_gen, n_depth, reps;
    double *ns;                /* reps samples */
    char when[32];
} result;

static void size_label(uint64_t n, char *buf, size_t cap)
{
    if (n >= 1000000000ull)
        snprintf(buf, cap, "%lluB", (unsigned long long)(n / 1000000000ull));
    else if (n >= 1000000ull)
        snprintf(buf, cap, "%lluM", (unsigned long long)(n / 1000000ull));
    else
        snprintf(buf, cap, "%lluK", (unsigned long long)(n / 1000ull));
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A sequence for the tests at depth d: room for d + the longest test, d random tokens
 * evaluated (untimed). */
static int depth_seq(llmr_model *m, int d, int room, uint64_t *rng, int32_t *toks, llmr_seq **out,
                     char *errbuf, size_t errcap)
{
    const int nv = llmri_model_n_vocab(m);
    if (llmri_seq_new(m, d + room, out)) {
        snprintf(errbuf, errcap, "%s", llmr_model_errmsg(m));
        return 1;
    }
    for (int i = 0; i < d; i++)
        toks[i] = i == 0 ? 1 % nv : (int32_t)(rng_next(rng) % (uint64_t)nv);
    const float *logits;
    if (d > 0 && llmri_seq_eval(*out, toks, d, 0, false, &logits)) {
        snprintf(errbuf, errcap, "%s", llmri_seq_errmsg(*out));
        llmri_seq_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

/* One timed run on s (holding d tokens): n_prompt tokens in one eval at position d, then
 * n_gen single tokens. */
static int run_once(llmr_model *m, llmr_seq *s, int d, int n_prompt, int n_gen, uint64_t *rng, int32_t *toks,
                    double *ns, char *errbuf, size_t errcap)
{
    const int nv = llmri_model_n_vocab(m);
    for (int i = 0; i < n_prompt; i++)
        toks[i] = i == 0 && d == 0 ? 1 % nv : (int32_t)(rng_next(rng) % (uint64_t)nv);
    const float *logits;
    int rc = 0;
    double t0 = llmri_now();
    if (n_prompt > 0)
        rc = llmri_seq_eval(s, toks, n_prompt, d, false, &logits);
    int32_t tok = 1 % nv;
    for (int i = 0; i < n_gen && !rc; i++) {
        rc = llmri_seq_eval(s, &tok, 1, d + n_prompt + i, false, &logits);
        tok = (int32_t)(rng_next(rng) % (uint64_t)nv);
    }
    *ns = (llmri_now() - t0) * 1e9;
    if (rc)
        snprintf(errbuf, errcap, "%s", llmri_seq_errmsg(s));
    return rc;
}

static void stats(const result *r, double *avg_ns, double *sd_ns, double *avg_ts, double *sd_ts)
{
    const int n = r->reps, tok = r->n_prompt + r->n_gen;
    double a = 0, b = 0;
    for (int i = 0; i < n; i++) {
        a += r->ns[i];
        b += tok * 1e9 / r->ns[i];
    }
    *avg_ns = a / n;
    *avg_ts = b / n;
    double va = 0, vb = 0;
    for (int i = 0; i < n; i++) {
        va += (r->ns[i] - *avg_ns) * (r->ns[i] - *avg_ns);
        double ts = tok * 1e9 / r->ns[i];
        vb += (ts - *avg_ts) * (ts - *avg_ts);
    }
    *sd_ns = n > 1 ? sqrt(va / (n - 1)) : 0;
    *sd_ts = n > 1 ? sqrt(vb / (n - 1)) : 0;
}

static void print_md_header(void)
{
    printf("| model                          |       size |     params | type   | threads "
           "|          test |                  t/s |\n");
    printf("| ------------------------------ | ---------: | ---------: | ------ | ------: "
           "| ------------: | -------------------: |\n");
}

static void print_md(const result *r)
{
    double an, sn, at, st;
    stats(r, &an, &sn, &at, &st);
    char size[32], params[32], test[32], ts[48];
    snprintf(size, sizeof size, "%.2f MiB", (double)r->size / (1024.0 * 1024.0));
    if (r->n_params >= 1000000000ull)
        snprintf(params, sizeof params, "%.2f B", (double)r->n_params / 1e9);
    else
        snprintf(params, sizeof params, "%.2f M", (double)r->n_params / 1e6);
    if (r->n_prompt && r->n_gen)
        snprintf(test, sizeof test, "pp%d+tg%d", r->n_prompt, r->n_gen);
    else if (r->n_prompt)
        snprintf(test, sizeof test, "pp%d", r->n_prompt);
    else
        snprintf(test, sizeof test, "tg%d", r->n_gen);
    if (r->n_depth) {   /* llama-bench's label for a test at depth */
        size_t l = strlen(test);
        snprintf(test + l, sizeof test - l, " @ d%d", r->n_depth);
    }
    snprintf(ts, sizeof ts, "%.2f ± %.2f", at, st);
    printf("| %-30s | %10s | %10s | %-6s | %7d | %13s | %20s |\n", r->model_type, size, params,
           r->ftype, r->threads, test, ts);
    fflush(stdout);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_json(const result *r, bool first, const char *cpu, const char *kv,
                       const char *kv_v)
{
    double an, sn, at, st;
    stats(r, &an, &sn, &at, &st);
    printf("%s  {\n", first ? "" : ",\n");
    printf("    \"build_commit\": \"llmr\",\n    \"build_number\": 0,\n");
    printf("    \"cpu_info\": ");
    json_str(cpu);
    printf(",\n    \"gpu_info\": \"\",\n    \"backends\": \"CPU\",\n    \"model_filename\": ");
    json_str(r->model_path);
    printf(",\n    \"model_type\": ");
    json_str(r->model_type);
    printf(",\n    \"model_size\": %llu,\n    \"model_n_params\": %llu,\n",
           (unsigned long long)r->size, (unsigned long long)r->n_params);
    printf("    \"n_batch\": %d,\n    \"n_ubatch\": %d,\n    \"n_threads\": %d,\n", LLMR_UBATCH,
           LLMR_UBATCH, r->threads);
    printf("    \"type_k\": \"%s\",\n    \"type_v\": \"%s\",\n    \"n_gpu_layers\": 0,\n", kv, kv_v);
    printf("    \"flash_attn\": false,\n    \"use_mmap\": true,\n    \"embeddings\": false,\n");
    printf("    \"n_prompt\": %d,\n    \"n_gen\": %d,\n    \"n_depth\": %d,\n"
           "    \"test_time\": \"%s\",\n", r->n_prompt, r->n_gen, r->n_depth, r->when);
    printf("    \"avg_ns\": %.0f,\n    \"stddev_ns\": %.0f,\n    \"avg_ts\": %.6f,\n"
           "    \"stddev_ts\": %.6f,\n", an, sn, at, st);
    printf("    \"samples_ns\": [ ");
    for (int i = 0; i < r->reps; i++)
        printf(i ? ", %.0f" : "%.0f", r->ns[i]);
    printf(" ],\n    \"samples_ts\": [ ");
    for (int i = 0; i < r->reps; i++)
        printf(i ? ", %.6f" : "%.6f", (r->n_prompt + r->n_gen) * 1e9 / r->ns[i]);
    printf(" ]\n  }");
    fflush(stdout);
}

static void cpu_name(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c += 1 + (c[1] == ' ');
                c[strcspn(c, "\n")] = 0;
                snprintf(buf, cap, "%s", c);
            }
            break;
        }
    fclose(f);
}

/* The timed runs of one test at depth r->n_depth on s, after one warm-up. */
static int run_test(llmr_model *m, llmr_seq *s, result *r, uint64_t *rng, int32_t *toks,
                    char *errbuf, size_t errcap)
{
    double warm;
    time_t now = time(NULL);
    strftime(r->when, sizeof r->when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (run_once(m, s, r->n_depth, r->n_prompt, r->n_gen ? 1 : 0, rng, toks, &warm, errbuf,
                 errcap))
        return 1;
    char label[64];
    snprintf(label, sizeof label, "%s%d, %d threads", r->n_prompt ? "pp" : "tg",
             r->n_prompt ? r->n_prompt : r->n_gen, r->threads);
    int rc = 0;
    for (int i = 0; i < r->reps && !rc; i++) {
        cli_progress_line(stderr, label, i, r->reps);
        rc = run_once(m, s, r->n_depth, r->n_prompt, r->n_gen, rng, toks, &r->ns[i], errbuf,
                      errcap);
    }
    cli_progress_clear(stderr);
    return rc;
}

/* Runs every (depth, prompt, gen) test for one model at one thread count. */
static int bench_model(const char *path, int threads, const int_list *pp, const int_list *tg,
                       const int_list *dd, int reps, llmr_kv_type kv, llmr_kv_type kv_v, bool json,
                       bool *first, const char *cpu)
{
    llmr_model_opts o = llmr_model_defaults();
    o.n_threads = threads;
    o.kv_type = kv;
    o.kv_type_v = kv_v;
    llmr_model *m;
    if (llmr_model_open(path, &o, &m)) {
        int rc = cli_fail("bench", "%s", llmr_model_errmsg(m));
        llmr_model_close(m);
        return rc;
    }
    result r = {.model_path = path, .threads = threads, .reps = reps};
    const llmr_hparams *hp = llmri_model_hparams(m);
    r.size = llmri_model_size(m);
    r.n_params = llmri_model_n_params(m);
    snprintf(r.ftype, sizeof r.ftype, "%s", cli_ftype_name(llmri_model_gguf(m)));
    char lab[16];
    size_label(r.n_params, lab, sizeof lab);
    snprintf(r.model_type, sizeof r.model_type, "%s %s %s",
             llmri_arch_name(hp->arch), lab, r.ftype);
    int max_p = 0, max_t = 0, max_d = 0;
    for (int i = 0; i < pp->n; i++)
        max_p = pp->v[i] > max_p ? pp->v[i] : max_p;
    for (int i = 0; i < tg->n; i++)
        max_t = tg->v[i] > max_t ? tg->v[i] : max_t;
    for (int i = 0; i < dd->n; i++)
        max_d = dd->v[i] > max_d ? dd->v[i] : max_d;
    const int room = max_p > max_t ? max_p : max_t;
    int32_t *toks = malloc(((size_t)(max_p > max_d ? max_p : max_d) + 1) * sizeof *toks);
    r.ns = malloc((size_t)reps * sizeof *r.ns);
    int rc = toks && r.ns ? CLI_OK : cli_fail("bench", "out of memory");
    uint64_t rng = 88172645463325252ull;
    char errbuf[600];
    for (int di = 0; di < dd->n && rc == CLI_OK; di++) {
        r.n_depth = dd->v[di];
        llmr_seq *s = NULL;
        if (depth_seq(m, r.n_depth, room, &rng, toks, &s, errbuf, sizeof errbuf)) {
            rc = cli_fail("bench", "%s", errbuf);
            break;
        }
        /* llama-bench's order: the prompt tests, then the generation tests */
        for (int k = 0; k < pp->n + tg->n && rc == CLI_OK; k++) {
            r.n_prompt = k < pp->n ? pp->v[k] : 0;
            r.n_gen = k < pp->n ? 0 : tg->v[k - pp->n];
            if (r.n_prompt + r.n_gen == 0)
                continue;
            if (run_test(m, s, &r, &rng, toks, errbuf, sizeof errbuf)) {
                rc = cli_fail("bench", "%s", errbuf);
                break;
            }
            if (json)
                print_json(&r, *first, cpu, llmr_kv_type_name(kv),
                           llmr_kv_type_name(kv_v == LLMR_KV_SAME ? kv : kv_v));
            else
                print_md(&r);
            *first = false;
        }
        llmri_seq_free(s);
    }
    free(toks);
    free(r.ns);
    llmr_model_close(m);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    const char *models[MAX_LIST];
    int n_models = 0;
    int_list pp = {{512}, 1}, tg = {{128}, 1}, th = {{llmri_physical_cores()}, 1};
    int_list dd = {{0}, 1};
    long reps = 5;
    bool json = false;
    llmr_kv_type kv = LLMR_KV_F16, kv_v = LLMR_KV_SAME;
    bool v_side;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool has = i + 1 < argc;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has) {
            if (n_models == MAX_LIST)
                return cli_usage_error("bench", "at most %d models", MAX_LIST);
            models[n_models++] = argv[++i];
        } else if ((!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) && has) {
            if (!parse_list(argv[++i], 0, &pp))
                return cli_usage_error("bench", "-p wants a list like 512 or 128,512");
        } else if ((!strcmp(a, "-n") || !strcmp(a, "--n-gen")) && has) {
            if (!parse_list(argv[++i], 0, &tg))
                return cli_usage_error("bench", "-n wants a list like 128 or 16,128");
        } else if ((!strcmp(a, "-d") || !strcmp(a, "--n-depth")) && has) {
            if (!parse_list(argv[++i], 0, &dd))
                return cli_usage_error("bench", "-d wants a list like 0 or 0,1024,4096");
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && has) {
            if (!parse_list(argv[++i], 1, &th))
                return cli_usage_error("bench", "-t wants a list like 1,2");
            for (int k = 0; k < th.n; k++)
                th.v[k] = (int)cli_cap_threads("bench", a, th.v[k]);
        } else if ((!strcmp(a, "-r") || !strcmp(a, "--repetitions")) && has) {
            if (!cli_parse_long(argv[++i], 1, 1000, &reps))
                return cli_usage_error("bench", "-r wants a count in [1, 1000]");
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "-o") && has) {
            const char *f = argv[++i];
            if (strcmp(f, "json") && strcmp(f, "md"))
                return cli_usage_error("bench", "-o wants md or json");
            json = !strcmp(f, "json");
        } else if (!strcmp(a, "--kv") && has) {   /* both caches */
            if (!cli_parse_kv_type("bench", a, argv[++i], &kv))
                return CLI_USAGE;
            kv_v = LLMR_KV_SAME;
        } else if (cli_is_kv_flag(a, &v_side) && has) {
            if (!cli_parse_kv_type("bench", a, argv[++i], v_side ? &kv_v : &kv))
                return CLI_USAGE;
        } else
            return cli_usage_error("bench", "unexpected argument '%s'", a);
    }
    if (!n_models)
        return cli_usage_error("bench", "-m MODEL is required");
    bool any = false;
    for (int k = 0; k < pp.n; k++)
        any = any || pp.v[k] > 0;
    for (int k = 0; k < tg.n; k++)
        any = any || tg.v[k] > 0;
    if (!any)
        return cli_usage_error("bench", "-p 0 and -n 0 leave nothing to measure: give a prompt "
                               "or generation length above 0");
    static char paths[MAX_LIST][4096];
    for (int i = 0; i < n_models; i++)
        if (!cli_model_path("bench", models[i], paths[i], sizeof paths[i]))
            return CLI_BAD_INPUT;
    char cpu[128];
    cpu_name(cpu, sizeof cpu);
    bool first = true;
    if (json)
        printf("[\n");
    else
        print_md_header();
    int rc = CLI_OK;
    for (int i = 0; i < n_models && rc == CLI_OK; i++)
        for (int t = 0; t < th.n && rc == CLI_OK; t++)
            rc = bench_model(paths[i], th.v[t], &pp, &tg, &dd, (int)reps, kv, kv_v, json, &first,
                             cpu);
    if (json)
        printf("\n]\n");
    return rc;
}
