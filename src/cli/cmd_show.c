/* cmd_show.c - `llmr show NAME`: what a model is, as ollama's `show` prints it, from the GGUF
 * file alone: architecture, parameters, context, quantization, chat template, licence
 * (general.license), and the raw key/value metadata on request. */
#include "cli/cli.h"
#include "gguf/gguf.h"
#include "llmr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SHOW_ALL, SHOW_TEMPLATE, SHOW_PARAMETERS, SHOW_METADATA, SHOW_LICENSE } show_what;

static int64_t arch_int(const gguf_file *f, const char *key)
{
    const char *arch = gguf_get_str(f, "general.architecture");
    char k[256];
    int64_t v;
    snprintf(k, sizeof k, "%s.%s", arch ? arch : "", key);
    return gguf_get_i64(f, k, &v) ? v : -1;
}

static void human_params(uint64_t p, char *out, size_t n)
{
    if (p >= 1000000000ULL)
        snprintf(out, n, "%.2fB", (double)p / 1e9);
    else if (p >= 1000000ULL)
        snprintf(out, n, "%.2fM", (double)p / 1e6);
    else
        snprintf(out, n, "%.2fK", (double)p / 1e3);
}

/* A string as a quoted literal on one line (a stop token may hold a newline). */
static void print_quoted(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c < 0x20)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* The parameters llmr runs the model with: its end-of-generation tokens as stop sequences,
 * its context, and the sampling defaults (llmr_gen_defaults). */
static void print_parameters(const gguf_file *f, const char *path, const char *indent)
{
    llmr_tokenizer *t = NULL;
    if (llmr_tokenizer_open(path, &t) == LLMR_OK) {
        const char *keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"};
        int64_t seen = -1;
        for (int k = 0; k < 2; k++) {
            int64_t id;
            const char *p;
            size_t len;
            if (!gguf_get_i64(f, keys[k], &id) || id == seen || id < 0 ||
                id >= llmr_tokenizer_n_vocab(t) ||
                llmr_token_to_piece(t, (llmr_token)id, true, &p, &len) != LLMR_OK)
                continue;
            printf("%s%-20s ", indent, "stop");
            print_quoted(p, len);
            putchar('\n');
            seen = id;
        }
    }
    llmr_tokenizer_close(t);
    llmr_gen_opts o = llmr_gen_defaults();
    int64_t ctx = arch_int(f, "context_length");
    if (ctx > 0)
        printf("%s%-20s %" PRId64 "\n", indent, "num_ctx", ctx > 4096 ? 4096 : ctx);
    printf("%s%-20s %g\n%s%-20s %d\n%s%-20s %g\n%s%-20s %g\n%s%-20s %g\n", indent,
           "temperature", (double)o.sampling.temperature, indent, "top_k", o.sampling.top_k,
           indent, "top_p", (double)o.sampling.top_p, indent, "min_p", (double)o.sampling.min_p,
           indent, "repeat_penalty", (double)o.sampling.repeat_penalty);
}

/* One element of a numeric array, little-endian as GGUF stores it. */
static void print_elem(gguf_vtype t, const uint8_t *p)
{
    uint64_t u = 0;
    size_t n = gguf_vtype_size(t);
    for (size_t i = 0; i < n; i++)
        u |= (uint64_t)p[i] << (8 * i);
    switch (t) {
    case GGUF_I8: printf("%d", (int8_t)u); break;
    case GGUF_I16: printf("%d", (int16_t)u); break;
    case GGUF_I32: printf("%d", (int32_t)u); break;
    case GGUF_I64: printf("%" PRId64, (int64_t)u); break;
    case GGUF_F32: { uint32_t b = (uint32_t)u; float f; memcpy(&f, &b, 4); printf("%g", (double)f); break; }
    case GGUF_F64: { double d; memcpy(&d, &u, 8); printf("%g", d); break; }
    case GGUF_BOOL: fputs(u ? "true" : "false", stdout); break;
    default: printf("%" PRIu64, u); break;
    }
}

static void print_value(const gguf_value *v)
{
    switch (v->type) {
    case GGUF_STRING:
        print_quoted(v->str.ptr, v->str.len > 200 ? 200 : (size_t)v->str.len);
        if (v->str.len > 200)
            printf(" ... (%" PRIu64 " bytes)", v->str.len);
        break;
    case GGUF_ARRAY: {
        size_t es = gguf_vtype_size(v->arr.type);
        printf("[%" PRIu64 " %s", v->arr.n, gguf_vtype_name(v->arr.type));
        for (uint64_t i = 0; es && i < v->arr.n && i < 8; i++) {
            fputs(i ? ", " : ": ", stdout);
            print_elem(v->arr.type, (const uint8_t *)v->arr.data + i * es);
        }
        fputs(es && v->arr.n > 8 ? ", ...]" : "]", stdout);
        break;
    }
    case GGUF_F32: case GGUF_F64: printf("%g", v->f64); break;
    case GGUF_BOOL: fputs(v->u64 ? "true" : "false", stdout); break;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: printf("%" PRId64, v->i64); break;
    default: printf("%" PRIu64, v->u64); break;
    }
}

static void print_all(const gguf_file *f, const char *path)
{
    uint64_t np = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        np += f->tensors[i].n_elements;
    char params[32];
    human_params(np, params, sizeof params);
    const char *arch = gguf_get_str(f, "general.architecture");
    printf("  Model\n    %-20s %s\n    %-20s %s\n", "architecture", arch ? arch : "-",
           "parameters", params);
    int64_t ctx = arch_int(f, "context_length"), embd = arch_int(f, "embedding_length");
    if (ctx >= 0)
        printf("    %-20s %" PRId64 "\n", "context length", ctx);
    if (embd >= 0)
        printf("    %-20s %" PRId64 "\n", "embedding length", embd);
    printf("    %-20s %s\n", "quantization", cli_ftype_name(f));
    const char *tmpl = gguf_get_str(f, "tokenizer.chat_template");
    printf("    %-20s %s\n\n  Parameters\n", "chat template",
           tmpl ? llmr_template_family(tmpl) : "none (a plain fallback)");
    print_parameters(f, path, "    ");
    const char *lic = gguf_get_str(f, "general.license");
    if (lic) {
        printf("\n  License\n    ");
        const char *nl = strchr(lic, '\n');
        printf("%.*s%s\n", nl ? (int)(nl - lic) : (int)strlen(lic), lic,
               nl ? " ... (`llmr show --license` prints all of it)" : "");
    }
}

int cmd_show(int argc, char **argv)
{
    const char *name = NULL;
    show_what what = SHOW_ALL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        show_what w = !strcmp(a, "--template") ? SHOW_TEMPLATE
                    : !strcmp(a, "--parameters") ? SHOW_PARAMETERS
                    : !strcmp(a, "--metadata") || !strcmp(a, "--modelfile") ? SHOW_METADATA
                    : !strcmp(a, "--license") ? SHOW_LICENSE : SHOW_ALL;
        if (w != SHOW_ALL) {
            if (what != SHOW_ALL)
                return cli_usage_error("show", "give one of --template, --parameters, "
                                       "--metadata, --license");
            what = w;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("show", "unknown flag '%s'", a);
        } else if (name) {
            return cli_usage_error("show", "one NAME at a time");
        } else {
            name = a;
        }
    }
    if (!name)
        return cli_usage_error("show", "no NAME given (a file, a name from `llmr ls`, ...)");
    char path[4096];
    if (!cli_model_path("show", name, path, sizeof path))
        return CLI_BAD_INPUT;
    gguf_file *f;
    llmr_err err = {0};
    if (gguf_open(path, &f, &err))
        return cli_fail("show", "%s", err.msg);
    int rc = CLI_OK;
    const char *s;
    switch (what) {
    case SHOW_TEMPLATE:
        if ((s = gguf_get_str(f, "tokenizer.chat_template")))
            fputs(s, stdout);
        else
            fprintf(stderr, "llmr show: %s has no chat template (llmr chat uses a plain "
                    "fallback)\n", name);
        break;
    case SHOW_PARAMETERS:
        print_parameters(f, path, "");
        break;
    case SHOW_LICENSE:
        if ((s = gguf_get_str(f, "general.license")))
            puts(s);
        else
            fprintf(stderr, "llmr show: %s names no licence (general.license)\n", name);
        break;
    case SHOW_METADATA:
        for (uint64_t i = 0; i < f->n_kv; i++) {
            printf("%-40s ", f->kv[i].key.ptr);
            print_value(&f->kv[i].val);
            putchar('\n');
        }
        break;
    default:
        print_all(f, path);
    }
    gguf_close(f);
    return rc;
}
