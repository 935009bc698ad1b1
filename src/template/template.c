/* template.c - the public chat-template API (llmr_template_* in llmr.h): parse once, render
 * message lists the way HF's apply_chat_template does, name a template's family. */
#include "template/jinja.h"
#include "core/json.h"
#include "core/error.h"
#include "core/grow.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_OUTPUT  (16u << 20)
#define DEFAULT_MAX_MEMORY  (256u << 20)
#define DEFAULT_MAX_STEPS   10000000u
#define DEFAULT_MAX_DEPTH   100         /* nested macro calls */

struct llmr_template {
    llmr_arena  ast_arena;      /* tokens and AST: live as long as the handle */
    jnodes  prog;
    bool    parsed;
    llmr_err err;
};

/* The documented plain fallback for models without a chat template (see llmr.h). */
static const char fallback_src[] =
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ message['role'] | capitalize }}: {{ message['content'] | trim }}\n\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}";

LLMR_API const char *llmr_template_fallback(void) { return fallback_src; }

LLMR_API llmr_template_opts llmr_template_defaults(void)
{
    llmr_template_opts o;
    memset(&o, 0, sizeof o);
    o.add_generation_prompt = true;
    o.bos_token = "";
    o.eos_token = "";
    return o;
}

LLMR_API int llmr_template_open(const char *source, llmr_template **out)
{
    if (!out)
        return LLMR_ERR_ARG;
    *out = NULL;
    llmr_template *t = calloc(1, sizeof *t);
    if (!t)
        return LLMR_ERR_NOMEM;
    *out = t;
    llmri_arena_init(&t->ast_arena, (size_t)64 << 20);
    if (!source)
        source = fallback_src;
    char msg[512];
    jtoks toks;
    if (!jinja_lex(&t->ast_arena, source, strlen(source), &toks, msg, sizeof msg)
        || !jinja_parse(&t->ast_arena, &toks, &t->prog, msg, sizeof msg))
        return llmri_err_set(&t->err, LLMR_ERR_TEMPLATE, "%s", msg);
    t->parsed = true;
    llmri_err_clear(&t->err);
    return LLMR_OK;
}

LLMR_API void llmr_template_close(llmr_template *t)
{
    if (!t)
        return;
    llmri_arena_free(&t->ast_arena);
    free(t);
}

LLMR_API const char *llmr_template_errmsg(const llmr_template *t)
{
    if (!t)
        return "out of memory";
    return t->err.msg;
}

/* ---- JSON -> values --------------------------------------------------------------------- */
/* Python's json makes "3" an int and "3.0" or "3e0" a float, and tojson prints them back that
 * way; cJSON keeps only a double. So the number tokens of the text are classified first, in
 * document order, which is also the order from_json visits them in. */
typedef struct jnums {
    uint8_t *is_float;
    size_t n, i;
} jnums;

static void jnums_scan(const char *s, jnums *k)
{
    memset(k, 0, sizeof *k);
    size_t cap = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '"') {   /* skip a string, escapes included */
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                break;
            continue;
        }
        if (*p != '-' && (*p < '0' || *p > '9'))
            continue;
        bool fl = false;
        while (*p && strchr("+-0123456789.eE", *p)) {
            fl |= *p == '.' || *p == 'e' || *p == 'E';
            p++;
        }
        if (!LLMR_GROW(k->is_float, cap, k->n + 1))
            break;   /* fall back to guessing from the value */
        k->is_float[k->n++] = fl;
        p--;
    }
}

static jv from_json(llmr_arena *a, const cJSON *j, int depth, jnums *k)
{
    if (depth > 1100)   /* cJSON refuses nesting past 1000, so this never cuts */
        return jv_undef();
    if (cJSON_IsNull(j))
        return jv_none();
    if (cJSON_IsBool(j))
        return jv_bool(cJSON_IsTrue(j));
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        bool fl = k && k->i < k->n ? k->is_float[k->i++]
                                   : !(d == floor(d) && fabs(d) < 9007199254740992.0);
        if (!fl && fabs(d) < 9.2e18)
            return jv_int((int64_t)d);
        return jv_float(d);
    }
    if (cJSON_IsString(j))
        return jv_str(a, j->valuestring ? j->valuestring : "");
    if (cJSON_IsArray(j)) {
        jv l = jv_list_new(a, (size_t)cJSON_GetArraySize(j));
        const cJSON *c;
        cJSON_ArrayForEach(c, j) if (l.type == JV_LIST) jv_list_push(a, l.u.l, from_json(a, c, depth + 1, k));
        return l;
    }
    if (cJSON_IsObject(j)) {
        jv d = jv_dict_new(a, (size_t)cJSON_GetArraySize(j));
        const cJSON *c;
        cJSON_ArrayForEach(c, j) if (d.type == JV_DICT)
            jv_dict_set(a, d.u.d, jv_str(a, c->string ? c->string : ""), from_json(a, c, depth + 1, k));
        return d;
    }
    return jv_undef();
}

static bool set_var(llmr_arena *a, jdict *g, const char *name, jv v)
{
    jv k = jv_str(a, name);
    return k.type == JV_STR && jv_dict_set(a, g, k, v);
}

static int parse_date(const char *s, int *y, int *m, int *d)
{
    if (!s)
        return 0;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", y, m, d, &tail) != 3 || *m < 1 || *m > 12 || *d < 1
        || *d > 31 || *y < 1)
        return -1;
    return 1;
}

/* Renders with globals built from messages (a jv list) and opts. */
static int render(llmr_template *t, llmr_arena *a, jv messages, const jdict *extra,
                  const llmr_template_opts *o, char **out, size_t *out_len)
{
    llmr_template_opts def = llmr_template_defaults();
    if (!o)
        o = &def;
    jinja_env env = {0};
    env.lim.max_output = o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT;
    env.lim.max_memory = DEFAULT_MAX_MEMORY;
    env.lim.max_steps = o->max_steps ? o->max_steps : DEFAULT_MAX_STEPS;
    env.lim.max_depth = DEFAULT_MAX_DEPTH;
    int pd = parse_date(o->date, &env.year, &env.month, &env.day);
    if (pd < 0)
        return llmri_err_set(&t->err, LLMR_ERR_ARG, "date '%s': expected YYYY-MM-DD", o->date);
    if (pd == 0)
        env.month = 0;
    jv g = jv_dict_new(a, 8);
    if (g.type != JV_DICT)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "out of memory");
    /* extra variables first, so the named ones below win */
    for (size_t i = 0; extra && i < extra->n; i++)
        if (!jv_is_str(extra->k[i], "messages"))
            jv_dict_set(a, g.u.d, extra->k[i], extra->v[i]);
    if (o->tools_json) {
        cJSON *tools = llmri_json_depth_ok(o->tools_json, strlen(o->tools_json),
                                          LLMR_JSON_MAX_DEPTH, NULL)
                           ? cJSON_Parse(o->tools_json)
                           : NULL;
        if (!tools)
            return llmri_err_set(&t->err, LLMR_ERR_FORMAT, "tools: not valid JSON");
        jnums k;
        jnums_scan(o->tools_json, &k);
        set_var(a, g.u.d, "tools", from_json(a, tools, 0, &k));
        free(k.is_float);
        cJSON_Delete(tools);
    }
    set_var(a, g.u.d, "messages", messages);
    set_var(a, g.u.d, "bos_token", jv_str(a, o->bos_token ? o->bos_token : ""));
    set_var(a, g.u.d, "eos_token", jv_str(a, o->eos_token ? o->eos_token : ""));
    set_var(a, g.u.d, "add_generation_prompt", jv_bool(o->add_generation_prompt));
    if (a->exhausted)
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "out of memory building the variables");
    env.globals = g.u.d;
    llmr_buf b = {0};
    char msg[512];
    if (!jinja_exec(a, &t->prog, &env, &b, msg, sizeof msg)) {
        llmri_buf_free(&b);
        return llmri_err_set(&t->err, LLMR_ERR_TEMPLATE, "%s", msg);
    }
    if (!b.p && !llmri_buf_append(&b, "", 0)) {
        llmri_buf_free(&b);
        return llmri_err_set(&t->err, LLMR_ERR_NOMEM, "out of memory");
    }
    *out = b.p;
    if (out_len)
        *out_len = b.len;
    llmri_err_clear(&t->err);
    return LLMR_OK;
}

static int check_handle(llmr_template *t, char **out)
{
    if (!t || !out)
        return LLMR_ERR_ARG;
    *out = NULL;
    if (!t->parsed)
        return LLMR_ERR_STATE;   /* the parse error stays in errmsg */
    return LLMR_OK;
}

LLMR_API int llmr_template_render(llmr_template *t, const llmr_chat_msg *msgs, size_t n_msgs,
                                  const llmr_template_opts *opts, char **out, size_t *out_len)
{
    int rc = check_handle(t, out);
    if (rc)
        return rc == LLMR_ERR_STATE ? t->err.code : rc;
    if (n_msgs && !msgs)
        return llmri_err_set(&t->err, LLMR_ERR_ARG, "messages is NULL but n_msgs is %zu", n_msgs);
    llmr_arena a;
    llmri_arena_init(&a, DEFAULT_MAX_MEMORY);
    jv list = jv_list_new(&a, n_msgs);
    for (size_t i = 0; list.type == JV_LIST && i < n_msgs; i++) {
        jv m = jv_dict_new(&a, 2);
        if (m.type != JV_DICT)
            break;
        set_var(&a, m.u.d, "role", jv_str(&a, msgs[i].role ? msgs[i].role : ""));
        set_var(&a, m.u.d, "content", msgs[i].content ? jv_str(&a, msgs[i].content) : jv_none());
        jv_list_push(&a, list.u.l, m);
    }
    if (a.exhausted)
        rc = llmri_err_set(&t->err, LLMR_ERR_NOMEM, "out of memory");
    else
        rc = render(t, &a, list, NULL, opts, out, out_len);
    llmri_arena_free(&a);
    return rc;
}

LLMR_API int llmr_template_render_json(llmr_template *t, const char *messages_json,
                                       const llmr_template_opts *opts, char **out,
                                       size_t *out_len)
{
    int rc = check_handle(t, out);
    if (rc)
        return rc == LLMR_ERR_STATE ? t->err.code : rc;
    if (!messages_json)
        return llmri_err_set(&t->err, LLMR_ERR_ARG, "messages JSON is NULL");
    size_t deep = 0;
    if (!llmri_json_depth_ok(messages_json, strlen(messages_json), LLMR_JSON_MAX_DEPTH, &deep))
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT, "messages: JSON nests deeper than %d "
                            "levels (at byte %zu)", LLMR_JSON_MAX_DEPTH, deep);
    cJSON *root = cJSON_Parse(messages_json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= messages_json ? (long)(at - messages_json) : -1;
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT,
                            "messages: not valid JSON (error near byte %ld)", off);
    }
    const cJSON *msgs = root;
    if (cJSON_IsObject(root))
        msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(msgs)) {
        cJSON_Delete(root);
        return llmri_err_set(&t->err, LLMR_ERR_FORMAT, "messages: expected a JSON array of "
                            "messages or an object with a \"messages\" array");
    }
    llmr_arena a;
    llmri_arena_init(&a, DEFAULT_MAX_MEMORY);
    jnums k;
    jnums_scan(messages_json, &k);
    jv all = from_json(&a, root, 0, &k);   /* the whole document, so k stays in step */
    free(k.is_float);
    jv list = all;
    const jdict *extra = NULL;
    if (all.type == JV_DICT) {
        jv *m = jv_dict_gets(all.u.d, "messages");
        list = m ? *m : jv_undef();
        extra = all.u.d;
    }
    if (a.exhausted || list.type != JV_LIST)
        rc = llmri_err_set(&t->err, LLMR_ERR_NOMEM, "out of memory reading the messages");
    else
        rc = render(t, &a, list, extra, opts, out, out_len);
    llmri_arena_free(&a);
    cJSON_Delete(root);
    return rc;
}

/* ---- families --------------------------------------------------------------------------- */
LLMR_API const char *llmr_template_family(const char *tmpl)
{
    if (!tmpl || !*tmpl)
        return "none";
    static const struct { const char *marker, *family; } rules[] = {
        /* most specific first: several families share the Llama 3 header tokens */
        {">>>all", "functionary"},
        {"<|start_header_id|>", "llama3"},
        {"<|START_OF_TURN_TOKEN|>", "command-r"},
        {"<start_of_turn>", "gemma"},
        {"<\xef\xbd\x9cUser\xef\xbd\x9c>", "deepseek"},          /* <｜User｜> (R1, V3) */
        {"<|User|>", "deepseek"},
        {"<|im_start|>", "chatml"},
        {"<|user|>", "phi3"},
        {"[AVAILABLE_TOOLS]", "mistral"},
        {"<<SYS>>", "llama2"},
        {"[INST]", "mistral"},
        {"### Instruction:", "deepseek-coder"},
        {"<|assistant|>", "phi3"},
        {"<|system|>", "zephyr"},
        {"GPT4 Correct User", "openchat"},
        {"<|endoftext|>", "chatml"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strstr(tmpl, rules[i].marker))
            return rules[i].family;
    return "unknown";
}
