/* cmd_vocab.c - `llmr vocab --from-hf tokenizer.json [--config tokenizer_config.json]
 * [--name NAME] -o OUT.gguf`: a vocabulary-only GGUF file from a Hugging Face tokenizer.
 *
 * The GGUF keys are those llama.cpp's converter writes for a model of the same family, so
 * llmr reads the result as it reads a converted model:
 *  - a byte-level BPE tokenizer.json (a ByteLevel pre-tokenizer: GPT-2, Llama 3, Qwen) becomes
 *    tokenizer.ggml.model "gpt2": tokens, token types, merges "A B" in rank order, and the
 *    pre-tokenizer named by its split regex (llama-bpe, qwen2, gpt-2);
 *  - a SentencePiece-style BPE (spaces written U+2581, byte fallback: Llama 2, Gemma) becomes
 *    "llama" with scores: a token that merges make gets minus the rank of the first merge
 *    that makes it, so that merging the best-scored pair first (SentencePiece's rule) merges
 *    in the merges' order; add_space_prefix follows the normalizer's Prepend "▁" (or a
 *    Metaspace that prepends).
 * Added tokens are control tokens when marked special or named like one (<|...|>, <unused..>,
 * <pad>, <mask>), otherwise user-defined (SentencePiece: U+2581 written as a space, as
 * llama.cpp does). Ids no token has are "[PADn]", unused. BOS/EOS/UNK/PAD, add_bos_token,
 * add_eos_token and the chat template come from tokenizer_config.json; without one, BOS/EOS
 * and the add flags come from tokenizer.json's TemplateProcessing post-processor.
 */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/strmap.h"
#include "core/util.h"
#include "gguf/gguf.h"

#include <stdlib.h>
#include <string.h>

/* A vocabulary larger than this is not a tokenizer anyone ships (the largest are ~260k); the
 * bound keeps a hostile id from making millions of [PADn] holes. */
#define MAX_VOCAB (1 << 21)

enum { T_NORMAL = 1, T_UNKNOWN = 2, T_CONTROL = 3, T_USER = 4, T_UNUSED = 5, T_BYTE = 6 };

typedef struct conv {
    const char *path;
    cJSON      *tj, *cfg;       /* tokenizer.json, tokenizer_config.json (may be NULL) */
    bool        spm;            /* SentencePiece-style (else byte-level BPE) */
    const char *pre;            /* tokenizer.ggml.pre */
    int32_t     n;              /* vocabulary size */
    char      **tok;            /* [n], owned */
    float      *score;          /* [n] */
    int32_t    *type;           /* [n] */
    char      **merges;         /* byte-level BPE: "A B", owned */
    uint64_t    n_merges;
} conv;

static void conv_free(conv *c)
{
    for (int32_t i = 0; c->tok && i < c->n; i++)
        free(c->tok[i]);
    for (uint64_t i = 0; c->merges && i < c->n_merges; i++)
        free(c->merges[i]);
    free(c->tok);
    free(c->score);
    free(c->type);
    free(c->merges);
    cJSON_Delete(c->tj);
    cJSON_Delete(c->cfg);
}

static cJSON *load_json(const char *path)
{
    llmr_buf b = {0};
    if (llmri_buf_read_path(&b, path)) {
        cli_fail("vocab", "%s: cannot read the file", path);
        return NULL;
    }
    char err[256];
    cJSON *j = llmri_json_parse(b.p, b.len, 0, path, NULL, err, sizeof err);
    llmri_buf_free(&b);
    if (!j)
        cli_fail("vocab", "%s", err);
    else if (!cJSON_IsObject(j)) {
        cli_fail("vocab", "%s: expected a JSON object at the top", path);
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

/* True when v, or anything inside it, is an object with "type": type. */
static bool has_type(const cJSON *v, const char *type)
{
    if (!v)
        return false;
    if (cJSON_IsObject(v)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "type");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, type))
            return true;
    }
    if (cJSON_IsObject(v) || cJSON_IsArray(v))
        for (const cJSON *e = v->child; e; e = e->next)
            if (has_type(e, type))
                return true;
    return false;
}

/* The first object of `type` inside v (depth first), or NULL. */
static const cJSON *find_type(const cJSON *v, const char *type)
{
    if (!v)
        return NULL;
    if (cJSON_IsObject(v)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "type");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, type))
            return v;
    }
    if (cJSON_IsObject(v) || cJSON_IsArray(v))
        for (const cJSON *e = v->child; e; e = e->next) {
            const cJSON *r = find_type(e, type);
            if (r)
                return r;
        }
    return NULL;
}

static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The pre-tokenizer of a byte-level BPE, named as llama.cpp names it, from its split regex
 * (llama.cpp hashes the tokens of a probe text instead; the regex is what differs). */
static const char *byte_level_pre(const conv *c)
{
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(c->tj, "pre_tokenizer");
    const cJSON *split = find_type(pt, "Split");
    const cJSON *pat = split ? cJSON_GetObjectItemCaseSensitive(split, "pattern") : NULL;
    const char *re = pat ? str_at(pat, "Regex") : NULL;
    if (!re) {
        const cJSON *bl = find_type(pt, "ByteLevel");
        const cJSON *ur = bl ? cJSON_GetObjectItemCaseSensitive(bl, "use_regex") : NULL;
        return bl && !cJSON_IsFalse(ur) ? "gpt-2" : NULL;   /* ByteLevel's own regex */
    }
    static const struct { const char *regex, *name; } known[] = {
        {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}"
         "\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "llama-bpe"},
        {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}"
         "\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "qwen2"},
        {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
         "gpt-2"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(re, known[i].regex))
            return known[i].name;
    cli_fail("vocab", "%s: the pre-tokenizer's split regex is not one llmr knows: %.200s",
             c->path, re);
    return NULL;
}

/* Added tokens that llama.cpp's converter treats as control tokens even when the file does
 * not mark them special. */
static bool looks_special(const char *s)
{
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") ||
        !strcmp(s, "[@BOS@]"))
        return true;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>"))
        return true;
    /* U+FF5C FULLWIDTH VERTICAL LINE (DeepSeek's <｜...｜>) */
    if (n >= 8 && !strncmp(s, "<\xEF\xBD\x9C", 4) && !strcmp(s + n - 4, "\xEF\xBD\x9C>"))
        return true;
    return n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>';
}

/* SentencePiece's user-defined tokens are matched in the text before it is normalized, so
 * their U+2581 are spaces there. */
static char *spaces_for_u2581(const char *s)
{
    char *o = llmri_strdup(s);
    if (!o)
        return NULL;
    size_t w = 0;
    for (size_t r = 0; s[r];) {
        if (!strncmp(s + r, "\xE2\x96\x81", 3)) {
            o[w++] = ' ';
            r += 3;
        } else {
            o[w++] = s[r++];
        }
    }
    o[w] = 0;
    return o;
}

static bool is_byte_token(const char *s)
{
    return strlen(s) == 6 && !strncmp(s, "<0x", 3) && s[5] == '>' &&
           strchr("0123456789ABCDEF", s[3]) && strchr("0123456789ABCDEF", s[4]) && s[3] &&
           s[4];
}

static bool id_ok(const cJSON *v, int32_t *id)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= MAX_VOCAB ||
        v->valuedouble != (double)(int32_t)v->valuedouble)
        return false;
    *id = (int32_t)v->valuedouble;
    return true;
}

static int set_token(conv *c, int32_t id, const char *text, int32_t type)
{
    char *s = type == T_USER && c->spm ? spaces_for_u2581(text) : llmri_strdup(text);
    if (!s)
        return cli_fail("vocab", "out of memory");
    free(c->tok[id]);
    c->tok[id] = s;
    c->type[id] = type;
    return CLI_OK;
}

/* Tokens and types from model.vocab and added_tokens. */
static int read_tokens(conv *c, const cJSON *vocab, const cJSON *added)
{
    int32_t max = -1, id;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        if (!id_ok(e, &id))
            return cli_fail("vocab", "%s: model.vocab[\"%.40s\"] is not an id in [0, %d)",
                            c->path, e->string, MAX_VOCAB);
        max = id > max ? id : max;
    }
    for (const cJSON *e = added ? added->child : NULL; e; e = e->next) {
        if (!id_ok(cJSON_GetObjectItemCaseSensitive(e, "id"), &id) || !str_at(e, "content"))
            return cli_fail("vocab", "%s: added_tokens: an entry without an id in [0, %d) "
                            "and a content string", c->path, MAX_VOCAB);
        max = id > max ? id : max;
    }
    if (max < 0)
        return cli_fail("vocab", "%s: model.vocab is empty", c->path);
    c->n = max + 1;
    c->tok = calloc((size_t)c->n, sizeof *c->tok);
    c->score = calloc((size_t)c->n, sizeof *c->score);
    c->type = calloc((size_t)c->n, sizeof *c->type);
    if (!c->tok || !c->score || !c->type)
        return cli_fail("vocab", "out of memory");
    for (const cJSON *e = vocab->child; e; e = e->next) {
        id_ok(e, &id);
        int rc = set_token(c, id, e->string, c->spm && is_byte_token(e->string) ? T_BYTE
                                                                                 : T_NORMAL);
        if (rc)
            return rc;
    }
    const char *unk = str_at(cJSON_GetObjectItemCaseSensitive(c->tj, "model"), "unk_token");
    for (const cJSON *e = added ? added->child : NULL; e; e = e->next) {
        id_ok(cJSON_GetObjectItemCaseSensitive(e, "id"), &id);
        const char *s = str_at(e, "content");
        bool special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "special"));
        int32_t type = special || looks_special(s) ? T_CONTROL : T_USER;
        if (unk && !strcmp(s, unk))
            type = T_UNKNOWN;
        int rc = set_token(c, id, s, type);
        if (rc)
            return rc;
    }
    for (int32_t i = 0; i < c->n; i++) {
        if (c->tok[i])
            continue;
        char pad[32];
        snprintf(pad, sizeof pad, "[PAD%d]", i);
        int rc = set_token(c, i, pad, T_UNUSED);
        if (rc)
            return rc;
    }
    return CLI_OK;
}

/* One merge as "A B": tokenizer.json writes either that string or the pair ["A", "B"]. */
static char *merge_text(const cJSON *m)
{
    if (cJSON_IsString(m))
        return strchr(m->valuestring, ' ') ? llmri_strdup(m->valuestring) : NULL;
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsString(m->child) ||
        !cJSON_IsString(m->child->next))
        return NULL;
    const char *a = m->child->valuestring, *b = m->child->next->valuestring;
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (s) {
        memcpy(s, a, na);
        s[na] = ' ';
        memcpy(s + na + 1, b, nb + 1);
    }
    return s;
}

/* Byte-level BPE: the merges as GGUF keeps them. SentencePiece: the scores (see the top). */
static int read_merges(conv *c, const cJSON *merges)
{
    uint64_t n = (uint64_t)cJSON_GetArraySize(merges);
    llmr_strmap ids = {0};
    if (c->spm) {
        if (!llmri_strmap_init(&ids, (size_t)c->n))
            return cli_fail("vocab", "out of memory");
        for (int32_t i = 0; i < c->n; i++)
            if (c->type[i] == T_NORMAL &&
                llmri_strmap_put(&ids, c->tok[i], strlen(c->tok[i]), i, NULL) < 0) {
                llmri_strmap_free(&ids);
                return cli_fail("vocab", "out of memory");
            }
        /* below every merge: a token no merge makes is never preferred to one a merge makes;
         * the rest (bytes, control, user-defined) lowest of all */
        for (int32_t i = 0; i < c->n; i++)
            c->score[i] = c->type[i] == T_NORMAL ? -(float)(n + (uint64_t)i) : -1e9f;
    } else {
        c->merges = calloc(n ? n : 1, sizeof *c->merges);
        if (!c->merges)
            return cli_fail("vocab", "out of memory");
    }
    uint64_t r = 0;
    int rc = CLI_OK;
    for (const cJSON *m = merges ? merges->child : NULL; m; m = m->next, r++) {
        char *s = merge_text(m);
        if (!s) {
            rc = cli_fail("vocab", "%s: model.merges[%llu] is neither \"A B\" nor [\"A\", "
                          "\"B\"]", c->path, (unsigned long long)r);
            break;
        }
        if (!c->spm) {
            c->merges[c->n_merges++] = s;
            continue;
        }
        /* the result of merge r is A and B joined: the string without its first space */
        char *sp = strchr(s, ' ');
        memmove(sp, sp + 1, strlen(sp + 1) + 1);
        int64_t id;
        if (llmri_strmap_get(&ids, s, strlen(s), &id) && -c->score[id] > (float)r)
            c->score[id] = -(float)r;
        free(s);
    }
    llmri_strmap_free(&ids);
    return rc;
}

/* A special token named in tokenizer_config.json: "text", or {"content": "text", ...}. */
static int32_t config_token(const conv *c, const char *key)
{
    const cJSON *v = c->cfg ? cJSON_GetObjectItemCaseSensitive(c->cfg, key) : NULL;
    const char *s = cJSON_IsString(v) ? v->valuestring : cJSON_IsObject(v) ? str_at(v, "content")
                                                                          : NULL;
    for (int32_t i = 0; s && i < c->n; i++)
        if (c->type[i] != T_UNUSED && !strcmp(c->tok[i], s))
            return i;
    return -1;
}

/* From the TemplateProcessing post-processor: the special token before (first) or after the
 * sequence of a single text, or -1. */
static int32_t template_token(const conv *c, bool first)
{
    const cJSON *tp = find_type(cJSON_GetObjectItemCaseSensitive(c->tj, "post_processor"),
                                "TemplateProcessing");
    const cJSON *single = tp ? cJSON_GetObjectItemCaseSensitive(tp, "single") : NULL;
    int n = cJSON_GetArraySize(single);
    if (n < 2)
        return -1;
    const cJSON *e = cJSON_GetArrayItem(single, first ? 0 : n - 1);
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
    const char *s = sp ? str_at(sp, "id") : NULL;
    for (int32_t i = 0; s && i < c->n; i++)
        if (!strcmp(c->tok[i], s))
            return i;
    return -1;
}

static bool config_flag(const conv *c, const char *key, bool def)
{
    const cJSON *v = c->cfg ? cJSON_GetObjectItemCaseSensitive(c->cfg, key) : NULL;
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* The chat template: a string, or a list of {"name", "template"} of which "default". */
static const char *chat_template(const conv *c)
{
    const cJSON *v = c->cfg ? cJSON_GetObjectItemCaseSensitive(c->cfg, "chat_template") : NULL;
    if (cJSON_IsString(v))
        return v->valuestring;
    for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e; e = e->next)
        if (str_at(e, "name") && !strcmp(str_at(e, "name"), "default"))
            return str_at(e, "template");
    return NULL;
}

/* SentencePiece writes a leading U+2581 when the normalizer prepends one, or a Metaspace
 * pre-tokenizer does (prepend_scheme "always"/"first", or the older add_prefix_space). */
static bool adds_space_prefix(const conv *c)
{
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(c->tj, "normalizer");
    const cJSON *pp = find_type(norm, "Prepend");
    if (pp && str_at(pp, "prepend") && !strcmp(str_at(pp, "prepend"), "\xE2\x96\x81"))
        return true;
    const cJSON *ms = find_type(cJSON_GetObjectItemCaseSensitive(c->tj, "pre_tokenizer"),
                                "Metaspace");
    if (!ms)
        return false;
    const char *scheme = str_at(ms, "prepend_scheme");
    if (scheme)
        return strcmp(scheme, "never") != 0;
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ms, "add_prefix_space"));
}

static int write_gguf(conv *c, const char *name, const char *out)
{
    gguf_writer *w = gguf_writer_new();
    if (!w)
        return cli_fail("vocab", "out of memory");
    int32_t bos = config_token(c, "bos_token"), eos = config_token(c, "eos_token");
    int32_t tb = template_token(c, true), te = template_token(c, false);
    bos = bos >= 0 ? bos : tb;
    eos = eos >= 0 ? eos : te;
    int32_t unk = config_token(c, "unk_token"), pad = config_token(c, "pad_token");
    bool add_bos = config_flag(c, "add_bos_token", tb >= 0);
    bool add_eos = config_flag(c, "add_eos_token", te >= 0 && te != tb);
    const char *tmpl = chat_template(c);
    int rc = gguf_writer_set_str(w, "general.architecture", "llama");
    if (!rc && name)
        rc = gguf_writer_set_str(w, "general.name", name);
    if (!rc)
        rc = gguf_writer_set_str(w, "tokenizer.ggml.model", c->spm ? "llama" : "gpt2");
    if (!rc)
        rc = gguf_writer_set_str(w, "tokenizer.ggml.pre", c->pre);
    if (!rc)
        rc = gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", (const char *const *)c->tok,
                                     (uint64_t)c->n);
    if (!rc && c->spm)
        rc = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_F32, c->score,
                                 (uint64_t)c->n);
    if (!rc)
        rc = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, c->type,
                                 (uint64_t)c->n);
    if (!rc && !c->spm)
        rc = gguf_writer_set_str_arr(w, "tokenizer.ggml.merges",
                                     (const char *const *)c->merges, c->n_merges);
    if (!rc && bos >= 0)
        rc = gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos);
    if (!rc && eos >= 0)
        rc = gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
    if (!rc && unk >= 0)
        rc = gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)unk);
    if (!rc && pad >= 0)
        rc = gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)pad);
    if (!rc)
        rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", add_bos && bos >= 0);
    if (!rc)
        rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", add_eos && eos >= 0);
    if (!rc && c->spm)
        rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", adds_space_prefix(c));
    if (!rc && tmpl)
        rc = gguf_writer_set_str(w, "tokenizer.chat_template", tmpl);
    llmr_err err;
    llmri_err_clear(&err);
    if (!rc)
        rc = gguf_writer_write(w, out, 3, &err);
    gguf_writer_free(w);
    if (rc)
        return cli_fail("vocab", "%s: %s", out, err.msg[0] ? err.msg : "out of memory");
    return CLI_OK;
}

static int convert(conv *c, const char *name, const char *out)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(c->tj, "model");
    const char *mtype = model ? str_at(model, "type") : NULL;
    if (!mtype || strcmp(mtype, "BPE"))
        return cli_fail("vocab", "%s: model.type is \"%s\"; only BPE tokenizers (byte-level or "
                        "SentencePiece-style) are converted", c->path, mtype ? mtype : "");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(c->tj, "added_tokens");
    if (!cJSON_IsObject(vocab) || (merges && !cJSON_IsArray(merges)) ||
        (added && !cJSON_IsArray(added)))
        return cli_fail("vocab", "%s: expected model.vocab (object), model.merges (array) and "
                        "added_tokens (array)", c->path);
    bool byte_level = has_type(cJSON_GetObjectItemCaseSensitive(c->tj, "pre_tokenizer"),
                               "ByteLevel") ||
                      has_type(cJSON_GetObjectItemCaseSensitive(c->tj, "decoder"), "ByteLevel");
    c->spm = !byte_level;
    if (c->spm && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback")) &&
        !has_type(cJSON_GetObjectItemCaseSensitive(c->tj, "pre_tokenizer"), "Metaspace") &&
        !has_type(cJSON_GetObjectItemCaseSensitive(c->tj, "normalizer"), "Replace"))
        return cli_fail("vocab", "%s: a BPE that is neither byte-level nor SentencePiece-style "
                        "(no ByteLevel, byte_fallback, Metaspace or Replace)", c->path);
    c->pre = c->spm ? "default" : byte_level_pre(c);
    if (!c->pre)
        return CLI_BAD_INPUT;
    int rc = read_tokens(c, vocab, added);
    if (!rc)
        rc = read_merges(c, merges);
    if (!rc)
        rc = write_gguf(c, name, out);
    return rc;
}

int cmd_vocab(int argc, char **argv)
{
    const char *hf = NULL, *cfg = NULL, *out = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--from-hf") ? &hf : !strcmp(a, "--config") ? &cfg
                         : !strcmp(a, "-o") ? &out : !strcmp(a, "--name") ? &name : NULL;
        if (!dst)
            return cli_usage_error("vocab", "unknown argument %s", a);
        if (i + 1 >= argc)
            return cli_usage_error("vocab", "%s needs a value", a);
        *dst = argv[++i];
    }
    if (!hf || !out)
        return cli_usage_error("vocab", "--from-hf and -o are required");
    conv c = {.path = hf};
    int rc = CLI_BAD_INPUT;
    if ((c.tj = load_json(hf)) && (!cfg || (c.cfg = load_json(cfg))))
        rc = convert(&c, name, out);
    conv_free(&c);
    return rc;
}
