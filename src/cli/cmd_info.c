/* cmd_info.c - `llmr info [--json] [--tensors] MODEL`: what a GGUF file holds.
 *
 * Hyper-parameters live under "<architecture>.<name>" keys (llama.context_length, ...), per
 * ggml's docs/gguf.md; the file type is general.file_type (llama.cpp's llama_ftype ids). */
#include "cli/cli.h"
#include "gguf/gguf.h"
#include "llmr.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct facts {
    const char *arch, *name, *tok_model, *tok_pre, *tmpl, *rope_scaling;
    int64_t n_ctx, n_embd, n_ff, n_head, n_head_kv, n_layer, n_rot, n_vocab;
    int64_t head_dim, n_swa, n_expert, n_expert_used;   /* -1 when the file does not say */
    int64_t bos, eos, eot, pad, unk;
    int64_t pooling;       /* <arch>.pooling_type (embedding models), -1 when absent */
    float rope_base, rope_scale, rms_eps;
    bool has_rope_base, has_rope_scale, has_rms_eps;
    /* per type: a plain id at its id, llmr's repacked ids (gguf.h) at LLMR_TYPE_COUNT + their
     * plain id; type_id says which id a slot counts */
    uint64_t n_params, type_count[2 * LLMR_TYPE_COUNT], type_bytes[2 * LLMR_TYPE_COUNT];
    uint32_t type_id[2 * LLMR_TYPE_COUNT];
} facts;

/* "<arch>.<key>" as an integer; -1 when absent. */
static int64_t arch_int(const gguf_file *f, const char *arch, const char *key)
{
    char k[256];
    int64_t v;
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return gguf_get_i64(f, k, &v) ? v : -1;
}

static bool arch_float(const gguf_file *f, const char *arch, const char *key, float *v)
{
    char k[256];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return gguf_get_f32(f, k, v);
}

static int64_t key_int(const gguf_file *f, const char *key)
{
    int64_t v;
    return gguf_get_i64(f, key, &v) ? v : -1;
}

/* <arch>.pooling_type as llama.cpp numbers it */
static const char *pooling_name(int64_t p)
{
    static const char *const names[] = {"none", "mean", "cls", "last", "rank"};
    return p >= 0 && p < 5 ? names[p] : "unknown";
}

static void gather(const gguf_file *f, facts *x)
{
    memset(x, 0, sizeof *x);
    x->arch = gguf_get_str(f, "general.architecture");
    const char *a = x->arch ? x->arch : "";
    x->name = gguf_get_str(f, "general.name");
    x->tok_model = gguf_get_str(f, "tokenizer.ggml.model");
    x->tok_pre = gguf_get_str(f, "tokenizer.ggml.pre");
    x->tmpl = gguf_get_str(f, "tokenizer.chat_template");
    x->n_ctx = arch_int(f, a, "context_length");
    x->n_embd = arch_int(f, a, "embedding_length");
    x->n_ff = arch_int(f, a, "feed_forward_length");
    x->n_head = arch_int(f, a, "attention.head_count");
    x->n_head_kv = arch_int(f, a, "attention.head_count_kv");
    if (x->n_head_kv < 0)
        x->n_head_kv = x->n_head;   /* absent means no grouping (llama.cpp's default) */
    x->n_layer = arch_int(f, a, "block_count");
    x->n_rot = arch_int(f, a, "rope.dimension_count");
    x->head_dim = arch_int(f, a, "attention.key_length");
    x->n_swa = arch_int(f, a, "attention.sliding_window");
    x->n_expert = arch_int(f, a, "expert_count");
    x->n_expert_used = arch_int(f, a, "expert_used_count");
    if (x->n_rot < 0 && x->n_head > 0 && x->n_embd > 0)
        x->n_rot = x->n_embd / x->n_head;
    x->has_rope_base = arch_float(f, a, "rope.freq_base", &x->rope_base);
    x->has_rope_scale = arch_float(f, a, "rope.scaling.factor", &x->rope_scale);
    {
        char k[256];
        snprintf(k, sizeof k, "%s.rope.scaling.type", a);
        x->rope_scaling = gguf_get_str(f, k);
    }
    x->has_rms_eps = arch_float(f, a, "attention.layer_norm_rms_epsilon", &x->rms_eps);
    x->pooling = arch_int(f, a, "pooling_type");
    uint64_t n_tok = 0;
    x->n_vocab = arch_int(f, a, "vocab_size");
    if (x->n_vocab < 0 && gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_STRING, &n_tok))
        x->n_vocab = (int64_t)n_tok;
    x->bos = key_int(f, "tokenizer.ggml.bos_token_id");
    x->eos = key_int(f, "tokenizer.ggml.eos_token_id");
    x->eot = key_int(f, "tokenizer.ggml.eot_token_id");
    x->pad = key_int(f, "tokenizer.ggml.padding_token_id");
    x->unk = key_int(f, "tokenizer.ggml.unknown_token_id");
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        x->n_params += t->n_elements;
        uint32_t plain, slot = t->type;   /* gguf_open accepts no other ids */
        if (gguf_type_is_repacked(t->type, &plain, NULL))
            slot = LLMR_TYPE_COUNT + plain;
        if (slot >= 2 * LLMR_TYPE_COUNT)
            continue;
        x->type_id[slot] = t->type;
        x->type_count[slot]++;
        x->type_bytes[slot] += t->nbytes;
    }
}

static const char *type_name(uint32_t type)
{
    llmr_type_info ti;
    return llmr_type_get(type, &ti) ? ti.name : "?";
}

static void add_int(cJSON *o, const char *k, int64_t v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, (double)v);
}

static cJSON *tensor_json(const gguf_tensor *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name.ptr);
    cJSON_AddStringToObject(o, "type", type_name(t->type));
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    for (uint32_t d = 0; d < t->n_dims; d++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->ne[d]));
    cJSON_AddNumberToObject(o, "offset", (double)t->offset);
    cJSON_AddNumberToObject(o, "bytes", (double)t->nbytes);
    return o;
}

static int print_json(const gguf_file *f, const facts *x, bool tensors)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", f->path);
    cJSON_AddNumberToObject(o, "gguf_version", f->version);
    cJSON_AddNumberToObject(o, "file_size", (double)f->size);
    cJSON_AddNumberToObject(o, "alignment", (double)f->alignment);
    cJSON_AddNumberToObject(o, "n_kv", (double)f->n_kv);
    cJSON_AddNumberToObject(o, "n_tensors", (double)f->n_tensors);
    if (x->arch) cJSON_AddStringToObject(o, "architecture", x->arch);
    else cJSON_AddNullToObject(o, "architecture");
    if (x->name) cJSON_AddStringToObject(o, "name", x->name);
    else cJSON_AddNullToObject(o, "name");
    cJSON_AddStringToObject(o, "file_type", cli_ftype_name(f));
    cJSON_AddNumberToObject(o, "n_params", (double)x->n_params);
    add_int(o, "n_vocab", x->n_vocab);
    add_int(o, "n_ctx_train", x->n_ctx);
    add_int(o, "n_embd", x->n_embd);
    add_int(o, "n_layer", x->n_layer);
    add_int(o, "n_head", x->n_head);
    add_int(o, "n_head_kv", x->n_head_kv);
    add_int(o, "n_ff", x->n_ff);
    add_int(o, "n_rot", x->n_rot);
    if (x->head_dim >= 0) add_int(o, "head_dim", x->head_dim);
    if (x->n_swa >= 0) add_int(o, "sliding_window", x->n_swa);
    if (x->n_expert >= 0) add_int(o, "n_expert", x->n_expert);
    if (x->n_expert_used >= 0) add_int(o, "n_expert_used", x->n_expert_used);
    if (x->has_rope_base) cJSON_AddNumberToObject(o, "rope_freq_base", x->rope_base);
    if (x->rope_scaling) cJSON_AddStringToObject(o, "rope_scaling_type", x->rope_scaling);
    if (x->has_rope_scale) cJSON_AddNumberToObject(o, "rope_scaling_factor", x->rope_scale);
    if (x->has_rms_eps) cJSON_AddNumberToObject(o, "rms_norm_eps", x->rms_eps);
    if (x->pooling >= 0) cJSON_AddStringToObject(o, "pooling", pooling_name(x->pooling));
    if (x->tok_model) cJSON_AddStringToObject(o, "tokenizer_model", x->tok_model);
    else cJSON_AddNullToObject(o, "tokenizer_model");
    if (x->tok_pre) cJSON_AddStringToObject(o, "tokenizer_pre", x->tok_pre);
    add_int(o, "bos_token_id", x->bos);
    add_int(o, "eos_token_id", x->eos);
    if (x->eot >= 0) add_int(o, "eot_token_id", x->eot);
    if (x->pad >= 0) add_int(o, "padding_token_id", x->pad);
    if (x->unk >= 0) add_int(o, "unknown_token_id", x->unk);
    cJSON_AddBoolToObject(o, "has_chat_template", x->tmpl != NULL);
    cJSON_AddStringToObject(o, "chat_template_family", llmr_template_family(x->tmpl));
    cJSON *types = cJSON_AddObjectToObject(o, "tensor_types");
    cJSON *bytes = cJSON_AddObjectToObject(o, "tensor_bytes");
    for (int t = 0; t < 2 * LLMR_TYPE_COUNT; t++)
        if (x->type_count[t]) {
            cJSON_AddNumberToObject(types, type_name(x->type_id[t]), (double)x->type_count[t]);
            cJSON_AddNumberToObject(bytes, type_name(x->type_id[t]), (double)x->type_bytes[t]);
        }
    if (tensors) {
        cJSON *list = cJSON_AddArrayToObject(o, "tensors");
        for (uint64_t i = 0; i < f->n_tensors; i++)
            cJSON_AddItemToArray(list, tensor_json(&f->tensors[i]));
    }
    char *s = cJSON_PrintUnformatted(o);
    int rc = s ? CLI_OK : cli_fail("info", "out of memory");
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(o);
    return rc;
}

static void line_int(const char *label, int64_t v)
{
    if (v >= 0)
        printf("%-22s %" PRId64 "\n", label, v);
    else
        printf("%-22s -\n", label);
}

static void print_text(const gguf_file *f, const facts *x, bool tensors)
{
    printf("%-22s %s\n", "file", f->path);
    printf("%-22s %u\n", "gguf version", f->version);
    printf("%-22s %s%s\n", "architecture", x->arch ? x->arch : "-",
           x->arch && (!strcmp(x->arch, "bert") || !strcmp(x->arch, "nomic-bert"))
               ? " (encoder: embeddings)" : "");
    if (x->pooling >= 0)
        printf("%-22s %s\n", "pooling", pooling_name(x->pooling));
    printf("%-22s %s\n", "name", x->name ? x->name : "-");
    printf("%-22s %.2fM (%" PRIu64 ")\n", "parameters", (double)x->n_params / 1e6, x->n_params);
    printf("%-22s %s\n", "file type", cli_ftype_name(f));
    printf("%-22s %.2f MiB\n", "file size", (double)f->size / (1024.0 * 1024.0));
    line_int("context length", x->n_ctx);
    line_int("embedding length", x->n_embd);
    line_int("feed-forward length", x->n_ff);
    line_int("heads", x->n_head);
    line_int("kv heads", x->n_head_kv);
    line_int("layers", x->n_layer);
    line_int("rope dimensions", x->n_rot);
    if (x->head_dim >= 0)
        line_int("head size", x->head_dim);
    if (x->n_swa >= 0)
        line_int("sliding window", x->n_swa);
    if (x->n_expert >= 0)
        printf("%-22s %" PRId64 " (%" PRId64 " used per token)\n", "experts", x->n_expert,
               x->n_expert_used);
    if (x->has_rope_base)
        printf("%-22s %g\n", "rope freq base", x->rope_base);
    if (x->rope_scaling)
        printf("%-22s %s (factor %g)\n", "rope scaling", x->rope_scaling,
               x->has_rope_scale ? x->rope_scale : 1.0f);
    if (x->has_rms_eps)
        printf("%-22s %g\n", "rms norm eps", x->rms_eps);
    printf("%-22s %s%s%s\n", "tokenizer", x->tok_model ? x->tok_model : "-",
           x->tok_pre ? " / " : "", x->tok_pre ? x->tok_pre : "");
    line_int("vocab size", x->n_vocab);
    line_int("bos token", x->bos);
    line_int("eos token", x->eos);
    if (x->eot >= 0)
        line_int("eot token", x->eot);
    if (x->tmpl)
        printf("%-22s yes (%s)\n", "chat template", llmr_template_family(x->tmpl));
    else
        printf("%-22s no\n", "chat template");
    printf("%-22s %" PRIu64 "\n", "tensors", f->n_tensors);
    for (int t = 0; t < 2 * LLMR_TYPE_COUNT; t++)
        if (x->type_count[t])
            printf("  %-20s %" PRIu64 " tensors, %.2f MiB\n", type_name(x->type_id[t]),
                   x->type_count[t], (double)x->type_bytes[t] / (1024.0 * 1024.0));
    if (!tensors)
        return;
    printf("\n%-40s %-8s %-28s %s\n", "name", "type", "shape", "offset");
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char shape[96] = "";
        size_t n = 0;
        for (uint32_t d = 0; d < t->n_dims && n < sizeof shape; d++)
            n += (size_t)snprintf(shape + n, sizeof shape - n, d ? " x %" PRId64 : "%" PRId64,
                                  t->ne[d]);
        printf("%-40s %-8s %-28s %" PRIu64 "\n", t->name.ptr, type_name(t->type), shape,
               t->offset);
    }
}

int cmd_info(int argc, char **argv)
{
    bool json = false, tensors = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--tensors"))
            tensors = true;
        else if (!strcmp(argv[i], "-m") && i + 1 < argc && !path)
            path = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage_error("info", "unknown flag '%s'", argv[i]);
        else if (path)
            return cli_usage_error("info", "more than one model file given");
        else
            path = argv[i];
    }
    if (!path)
        return cli_usage_error("info", "no model file given");
    char file[4096];
    if (!cli_model_path("info", path, file, sizeof file))
        return CLI_BAD_INPUT;
    gguf_file *f;
    llmr_err err = {0};
    if (gguf_open(file, &f, &err))
        return cli_fail("info", "%s", err.msg);
    facts x;
    gather(f, &x);
    int rc = CLI_OK;
    if (json)
        rc = print_json(f, &x, tensors);
    else
        print_text(f, &x, tensors);
    gguf_close(f);
    return rc;
}
