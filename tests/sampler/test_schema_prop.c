/* test_schema_prop.c - property test: random schemas from the supported subset, sampled with
 * random logits through the grammar-constrained sampler; every finished output must parse,
 * and must validate with an independent validator, ajv (tests/npm/ajv_check.mjs). Skips
 * (77) when node or the ajv npm packages are absent (scripts/setup.sh installs them).
 *
 * LLMR_PROP_SCHEMAS (default 200), LLMR_PROP_SAMPLES (per schema, default 5) and
 * LLMR_PROP_SEED (default 1) scale and vary a run. */
#include "schema_util.h"

#include <unistd.h>

static llmr_rng R;
static cJSON *DEFS;
static int N_DEFS;

static unsigned pick(unsigned n) { return (unsigned)(llmri_rng_next(&R) % n); }
static bool chance(double p) { return llmri_rng_uniform(&R) < p; }

static cJSON *gen(int depth);

static cJSON *typed(const char *t)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", t);
    return s;
}

static cJSON *gen_integer(void)
{
    cJSON *s = typed("integer");
    static const double big[][2] = {{-1e18, -9.99e17}, {9007199254740993.0, 9007199254741100.0},
                                    {1e20, 1.0000000000001e20}, {-1e15, 1e15}};
    if (chance(0.15)) {
        int k = (int)pick(4);
        cJSON_AddNumberToObject(s, "minimum", big[k][0]);
        cJSON_AddNumberToObject(s, "maximum", big[k][1]);
        return s;
    }
    double lo = (double)((long long)pick(2000001) - 1000000) / (chance(0.5) ? 1000 : 1);
    lo = (double)(long long)lo;
    double hi = lo + (double)pick(chance(0.5) ? 20 : 100000) + 2;
    int sides = (int)pick(4);                  /* 0 none, 1 low, 2 high, 3 both */
    if (sides & 1)
        cJSON_AddNumberToObject(s, chance(0.5) ? "minimum" : "exclusiveMinimum", lo);
    if (sides & 2)
        cJSON_AddNumberToObject(s, chance(0.5) ? "maximum" : "exclusiveMaximum", hi);
    return s;
}

static cJSON *gen_number(void)
{
    static const double lows[] = {-100.5, -1, -0.001, 0, 0.1, 0.5, 2.25, 1e-5, 1234.5678, -3e6};
    static const double spans[] = {0.001, 0.5, 1, 10, 1e6, 0.3};
    cJSON *s = typed("number");
    double lo = lows[pick(10)], hi = lo + spans[pick(6)];
    int sides = (int)pick(4);
    if (sides & 1)
        cJSON_AddNumberToObject(s, chance(0.5) ? "minimum" : "exclusiveMinimum", lo);
    if (sides & 2)
        cJSON_AddNumberToObject(s, chance(0.5) ? "maximum" : "exclusiveMaximum", hi);
    return s;
}

static cJSON *gen_string(void)
{
    static const char *const patterns[] = {
        "^[a-z]+$", "^\\d{3}-\\d{4}$", "^(foo|bar)+baz?$", "ab+c", "^[^\"\\\\]{2,5}$",
        "^\\w+@\\w+\\.com$", "^(\\+|-)?\\d+(\\.\\d+)?$", "^[A-Z][a-z]*( [A-Z][a-z]*)*$", "x",
        "^\\s*\\S+\\s*$", "^[\\u00e9-\\u00ff]{1,3}$", "^.{0,4}$", "^(a+)+$",
        "^(?:[0-9a-f]{2}:){2}[0-9a-f]{2}$", "^\"q\"$", "[\\d.]+$", "^\\\\?[^\\n]*$",
    };
    static const char *const formats[] = {"date", "time", "date-time", "uuid", "email", "uri"};
    cJSON *s = typed("string");
    switch (pick(4)) {
    case 0:
        break;
    case 1: {
        int lo = (int)pick(4);
        if (chance(0.7))
            cJSON_AddNumberToObject(s, "minLength", lo);
        if (chance(0.7))
            cJSON_AddNumberToObject(s, "maxLength", lo + (int)pick(6));
        break;
    }
    case 2:
        cJSON_AddStringToObject(s, "pattern", patterns[pick(sizeof patterns / sizeof *patterns)]);
        break;
    default:
        cJSON_AddStringToObject(s, "format", formats[pick(6)]);
        break;
    }
    return s;
}

static cJSON *value(void)
{
    static const char *const pool[] = {"\"a\"", "\"b c\"", "\"\\u00e9\"", "\"\\\"q\\\"\"", "1",
                                       "-2.5", "true", "null", "[1,\"x\"]", "{\"k\":1}", "0",
                                       "\"\""};
    return cJSON_Parse(pool[pick(12)]);
}

static cJSON *gen_enum(bool one)
{
    cJSON *s = cJSON_CreateObject();
    if (one) {
        cJSON_AddItemToObject(s, "const", value());
        return s;
    }
    cJSON *e = cJSON_AddArrayToObject(s, "enum");
    int n = 1 + (int)pick(4);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(e, value());
    return s;
}

static cJSON *gen_array(int depth)
{
    cJSON *s = typed("array");
    int np = chance(0.3) ? 1 + (int)pick(2) : 0;
    if (np) {
        cJSON *p = cJSON_AddArrayToObject(s, "prefixItems");
        for (int i = 0; i < np; i++)
            cJSON_AddItemToArray(p, gen(depth + 1));
    }
    bool no_more = np && chance(0.4);
    if (no_more)
        cJSON_AddFalseToObject(s, "items");
    else if (chance(0.8))
        cJSON_AddItemToObject(s, "items", gen(depth + 1));
    int lo = (int)pick(3);
    if (no_more && lo > np)
        lo = np;
    if (chance(0.5))
        cJSON_AddNumberToObject(s, "minItems", lo);
    if (chance(0.6))
        cJSON_AddNumberToObject(s, "maxItems", lo + (int)pick(3));
    return s;
}

static const char *const NAMES[] = {"a", "b", "name", "x y", "\xc3\xa9", "q\"t", "back\\slash",
                                    "_id", "n1", "ab"};

static cJSON *props(int depth, unsigned used, unsigned *mine)
{
    cJSON *p = cJSON_CreateObject();
    int n = (int)pick(5);
    *mine = 0;
    for (int i = 0; i < n; i++) {
        unsigned k = pick(10);
        if ((used | *mine) & (1u << k))
            continue;
        *mine |= 1u << k;
        cJSON_AddItemToObject(p, NAMES[k], gen(depth + 1));
    }
    return p;
}

static cJSON *required_of(unsigned mine)
{
    cJSON *r = cJSON_CreateArray();
    for (unsigned k = 0; k < 10; k++)
        if (mine & (1u << k) && chance(0.5))
            cJSON_AddItemToArray(r, cJSON_CreateString(NAMES[k]));
    return r;
}

static cJSON *gen_object(int depth)
{
    cJSON *s = typed("object");
    unsigned mine;
    cJSON_AddItemToObject(s, "properties", props(depth, 0, &mine));
    cJSON_AddItemToObject(s, "required", required_of(mine));
    unsigned a = pick(10);
    if (a < 2)
        cJSON_AddFalseToObject(s, "additionalProperties");
    else if (a < 4)
        cJSON_AddItemToObject(s, "additionalProperties", gen(depth + 1));
    else if (a < 5)
        cJSON_AddTrueToObject(s, "additionalProperties");
    return s;
}

static cJSON *gen_typed(const char *t, int depth)
{
    if (!strcmp(t, "integer")) return gen_integer();
    if (!strcmp(t, "string")) return gen_string();
    if (!strcmp(t, "array")) return gen_array(depth);
    if (!strcmp(t, "object")) return gen_object(depth);
    return typed(t);
}

static cJSON *gen_choice(int depth, bool one)
{
    static const char *const types[] = {"string", "integer", "boolean", "null", "array",
                                        "object"};
    cJSON *s = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(s, one ? "oneOf" : "anyOf");
    int n = 2 + (int)pick(2);
    unsigned used = 0;
    for (int i = 0; i < n; i++) {
        if (!one) {
            cJSON_AddItemToArray(l, gen(depth + 1));
            continue;
        }
        unsigned k = pick(6);
        if (used & (1u << k))
            continue;
        used |= 1u << k;
        cJSON_AddItemToArray(l, gen_typed(types[k], depth + 1));
    }
    if (cJSON_GetArraySize(l) == 1)
        cJSON_AddItemToArray(l, typed(used & 8 ? "boolean" : "null"));
    return s;
}

static cJSON *gen_all_of(int depth)
{
    cJSON *s = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(s, "allOf");
    if (chance(0.4)) {
        double lo = (double)((int)pick(200) - 100);
        cJSON *a = typed("integer"), *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "minimum", lo);
        cJSON_AddNumberToObject(b, "maximum", lo + pick(50));
        cJSON_AddItemToArray(l, a);
        cJSON_AddItemToArray(l, b);
        return s;
    }
    unsigned m1, m2;
    cJSON *a = typed("object"), *b = cJSON_CreateObject(), *c = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "properties", props(depth, 0, &m1));
    cJSON_AddItemToObject(b, "properties", props(depth, m1, &m2));
    cJSON_AddItemToObject(c, "required", required_of(m1 | m2));
    cJSON_AddItemToArray(l, a);
    cJSON_AddItemToArray(l, b);
    cJSON_AddItemToArray(l, c);
    return s;
}

static cJSON *gen_ref(int depth)
{
    char name[16], ref[40];
    snprintf(name, sizeof name, "d%d", N_DEFS++);
    if (chance(0.3)) {                         /* a recursive tree */
        char txt[400];
        snprintf(txt, sizeof txt, "{\"type\":\"object\",\"properties\":{\"v\":{\"type\":"
                 "\"integer\",\"minimum\":0,\"maximum\":9},\"kids\":{\"type\":\"array\",\"items\":"
                 "{\"$ref\":\"#/$defs/%s\"},\"maxItems\":2}},\"required\":[\"v\"]}", name);
        cJSON_AddItemToObject(DEFS, name, cJSON_Parse(txt));
    } else {
        cJSON_AddItemToObject(DEFS, name, gen(depth + 1));
    }
    snprintf(ref, sizeof ref, "#/$defs/%s", name);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "$ref", ref);
    return s;
}

static cJSON *gen_nullable(void)
{
    static const char *const leaf[] = {"integer", "string", "boolean", "number"};
    const char *t = leaf[pick(4)];
    cJSON *s = gen_typed(!strcmp(t, "number") ? "integer" : t, 3);
    if (chance(0.5)) {
        cJSON_AddTrueToObject(s, "nullable");
        return s;
    }
    cJSON_DeleteItemFromObject(s, "type");
    cJSON *tl = cJSON_AddArrayToObject(s, "type");
    cJSON_AddItemToArray(tl, cJSON_CreateString(t));
    cJSON_AddItemToArray(tl, cJSON_CreateString("null"));
    if (!strcmp(t, "number"))
        cJSON_DeleteItemFromObject(s, "minimum");
    return s;
}

/* Combinators beside other keywords: an object whose anyOf/oneOf branches add required
 * sets or tag values, or an allOf of a $ref'd object and more constraints. */
static cJSON *gen_mixed(int depth)
{
    unsigned mine;
    cJSON *base = typed("object");
    cJSON_AddItemToObject(base, "properties", props(depth, 0, &mine));
    cJSON *p = cJSON_GetObjectItem(base, "properties");
    if (chance(0.5)) {                         /* anyOf of required sets */
        cJSON *l = cJSON_AddArrayToObject(base, "anyOf");
        for (int i = 0; i < 2; i++) {
            cJSON *b = cJSON_CreateObject();
            cJSON_AddItemToObject(b, "required", required_of(mine));
            cJSON_AddItemToArray(l, b);
        }
        return base;
    }
    if (chance(0.5)) {                         /* oneOf told apart by a const tag */
        cJSON_AddItemToObject(p, "tag", typed("string"));
        cJSON *l = cJSON_AddArrayToObject(base, "oneOf");
        for (int i = 0; i < 2; i++) {
            cJSON *b = cJSON_CreateObject(), *bp = cJSON_AddObjectToObject(b, "properties");
            cJSON *c = cJSON_AddObjectToObject(bp, "tag");
            cJSON_AddStringToObject(c, "const", i ? "two" : "one");
            cJSON *r = cJSON_AddArrayToObject(b, "required");
            cJSON_AddItemToArray(r, cJSON_CreateString("tag"));
            cJSON_AddItemToArray(l, b);
        }
        return base;
    }
    char name[16], ref[40];                    /* allOf: a $ref'd object, then required */
    snprintf(name, sizeof name, "d%d", N_DEFS++);
    cJSON_AddItemToObject(DEFS, name, base);
    snprintf(ref, sizeof ref, "#/$defs/%s", name);
    cJSON *s = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(s, "allOf");
    cJSON *a = cJSON_CreateObject(), *b = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "$ref", ref);
    cJSON_AddItemToObject(b, "required", required_of(mine));
    cJSON_AddItemToArray(l, a);
    cJSON_AddItemToArray(l, b);
    return s;
}

static cJSON *gen(int depth)
{
    unsigned k = depth >= 3 ? pick(9) : pick(18);
    switch (k) {
    case 0: return gen_integer();
    case 1: return gen_number();
    case 2: case 3: return gen_string();
    case 4: return typed("boolean");
    case 5: return typed("null");
    case 6: return gen_enum(false);
    case 7: return gen_enum(true);
    case 8: return gen_nullable();
    case 9: case 10: return gen_array(depth);
    case 11: case 12: return gen_object(depth);
    case 13: return gen_choice(depth, pick(2));
    case 14: return gen_all_of(depth);
    case 15: case 16: return gen_mixed(depth);
    default: return gen_ref(depth);
    }
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

static const char *src_dir(void)
{
    const char *s = getenv("LLMR_SRC");
    return s ? s : ".";
}

static void random_schemas_validate_with_ajv(void **st)
{
    int n_schemas = env_int("LLMR_PROP_SCHEMAS", 200), n_samples = env_int("LLMR_PROP_SAMPLES", 5);
    llmri_rng_seed(&R, (uint64_t)env_int("LLMR_PROP_SEED", 1));
    char path[] = "/tmp/llmr_schema_prop_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    int outputs = 0, unfinished = 0;
    for (int i = 0; i < n_schemas; i++) {
        DEFS = cJSON_CreateObject();
        N_DEFS = 0;
        cJSON *schema = gen(0);
        if (N_DEFS)
            cJSON_AddItemToObject(schema, "$defs", DEFS);
        else
            cJSON_Delete(DEFS);
        char *text = cJSON_PrintUnformatted(schema), msg[512];
        if (su_compile(text, msg, sizeof msg) != LLMR_OK)
            fail_msg("schema %d does not compile: %s\n%s", i, msg, text);
        cJSON *line = cJSON_CreateObject();
        cJSON_AddItemToObject(line, "schema", schema);
        cJSON *outs = cJSON_AddArrayToObject(line, "outputs");
        for (int k = 0; k < n_samples; k++) {
            char *t = su_sample(text, (uint64_t)i * 1000 + (uint64_t)k, 3000);
            if (!t) {
                unfinished++;
                continue;
            }
            cJSON *v = cJSON_ParseWithOpts(t, NULL, true);
            if (!v)
                fail_msg("schema %d: output is not JSON: %s\n%s", i, t, text);
            cJSON_Delete(v);
            cJSON_AddItemToArray(outs, cJSON_CreateString(t));
            outputs++;
            free(t);
        }
        char *l = cJSON_PrintUnformatted(line);
        fprintf(f, "%s\n", l);
        cJSON_free(l);
        cJSON_Delete(line);
        cJSON_free(text);
    }
    fclose(f);
    print_message("%d schemas, %d samples: %d finished outputs, %d ran past 3000 tokens\n",
                  n_schemas, n_schemas * n_samples, outputs, unfinished);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "node '%s/tests/npm/ajv_check.mjs' '%s' 2>&1", src_dir(), path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char buf[4096];
    while (fgets(buf, sizeof buf, p))
        print_message("%s", buf);
    int status = pclose(p);
    if (!getenv("LLMR_PROP_KEEP"))
        unlink(path);
    assert_int_equal(status, 0);
    assert_true(outputs > n_schemas * n_samples * 3 / 4);
}

int main(void)
{
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/tests/npm/node_modules/ajv-formats/package.json",
             src_dir());
    if (system("node --version >/dev/null 2>&1") != 0 || access(probe, R_OK) != 0) {
        printf("skipped: needs node and the ajv, ajv-formats npm packages (scripts/setup.sh "
               "installs them in tests/npm)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_schemas_validate_with_ajv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
