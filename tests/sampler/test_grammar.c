/* test_grammar.c - GBNF parsing (errors with positions), matching over code points, token
 * masking with multi-byte and partial UTF-8 tokens, completion. */
#include "test_util.h"
#include "sampler/sampler.h"

/* ---- parse errors ---------------------------------------------------------------------- */

static void expect_parse_error(const char *text, const char *where, const char *what)
{
    llmr_grammar *g = NULL;
    llmr_err e;
    llmri_err_clear(&e);
    int rc = llmri_grammar_parse(text, &g, &e);
    assert_null(g);
    if (rc != LLMR_ERR_FORMAT)
        fail_msg("'%s': rc %d, expected LLMR_ERR_FORMAT", text, rc);
    if ((where && !strstr(e.msg, where)) || !strstr(e.msg, what))
        fail_msg("'%s': message \"%s\" lacks \"%s\" / \"%s\"", text, e.msg,
                 where ? where : "", what);
}

static void parse_errors_name_line_and_column(void **st)
{
    expect_parse_error("root ::= \"abc", "line 1, column 10", "unterminated string");
    expect_parse_error("root ::= a\na ::= [z-a]", "line 2, column 8", "reversed");
    expect_parse_error("root ::= a\n\n  a ::= [abc", "line 3, column 9", "unterminated");
    expect_parse_error("root ::= foo", "line 1, column 10", "not defined");
    expect_parse_error("# only a comment\nroot ::= \"a\" bar\n", "line 2, column 14",
                       "not defined");
    expect_parse_error("a ::= \"x\"", NULL, "no rule named 'root'");
    expect_parse_error("root ::= root \"a\" | \"b\"", NULL, "left-recursive");
    expect_parse_error("root ::= a \"x\"\na ::= b? root\nb ::= \"b\"", NULL, "left-recursive");
    /* rules that can never finish: the output could walk into them and never complete */
    expect_parse_error("root ::= \"x\" root", NULL, "rule 'root' can never finish");
    expect_parse_error("root ::= \"a\" | b\nb ::= \"(\" c \")\"\nc ::= \"[\" b \"]\"", NULL,
                       "can never finish");
    expect_parse_error("root ::= \"a\"{3,1}", "line 1, column 13", "m <= n");
    expect_parse_error("root ::= \"\\q\"", "line 1, column 11", "unknown escape");
    expect_parse_error("root = \"a\"", "line 1, column 6", "'::='");
    expect_parse_error("root ::= \"a\"\nroot ::= \"b\"", "line 2, column 1", "defined twice");
    expect_parse_error("root ::= ( \"a\" ", NULL, "expected ')'");
    expect_parse_error("root ::= \"a\" )", "line 1, column 14", "end of the rule");
    expect_parse_error("root ::= *", "line 1, column 10", "nothing before it");
    expect_parse_error("root ::= []", "line 1, column 10", "empty character set");
    expect_parse_error("root ::= \"a\"{99999}", NULL, "too large");
    char msg[200];
    assert_int_equal(llmr_grammar_validate("root ::= [0-9]+ (\".\" [0-9]+)?", msg, sizeof msg),
                     LLMR_OK);
    assert_int_equal(llmr_grammar_validate("root ::= x\n", msg, sizeof msg), LLMR_ERR_FORMAT);
    assert_non_null(strstr(msg, "line 1, column 10"));
}

/* ---- matching, with a vocabulary of the 256 single bytes -------------------------------- */

static char byte_store[256];
static llmr_bytes byte_vocab[257];            /* + one EOG token, id 256 */

static llmr_gmatch *matcher_from(llmr_grammar *g)
{
    for (int i = 0; i < 256; i++) {
        byte_store[i] = (char)i;
        byte_vocab[i] = (llmr_bytes){&byte_store[i], 1};
    }
    byte_vocab[256] = (llmr_bytes){NULL, 0};
    llmr_gmatch *m;
    llmr_err e;
    int32_t eog = 256;
    if (llmri_gmatch_create(&m, g, byte_vocab, 257, &eog, 1, &e))
        fail_msg("create: %s", e.msg);
    return m;
}

static llmr_gmatch *matcher(const char *gbnf)
{
    llmr_grammar *g;
    llmr_err e;
    if (llmri_grammar_parse(gbnf, &g, &e))
        fail_msg("parse '%s': %s", gbnf, e.msg);
    return matcher_from(g);
}

/* 1: the whole text is a sentence; 0: a valid prefix only; -1: rejected */
static int judge(const char *gbnf, const char *text)
{
    llmr_gmatch *m = matcher(gbnf);
    int r = llmri_gmatch_accept_bytes(m, text, strlen(text), NULL) ? -1
            : llmri_gmatch_can_end(m) ? 1 : 0;
    llmri_gmatch_free(m);
    return r;
}

#define YES(g, t) assert_int_equal(judge(g, t), 1)
#define PREFIX(g, t) assert_int_equal(judge(g, t), 0)
#define NO(g, t) assert_int_equal(judge(g, t), -1)

static void grammar_matches_the_syntax(void **st)
{
    YES("root ::= \"ab\" | \"cd\"", "cd");
    NO("root ::= \"ab\" | \"cd\"", "ad");
    PREFIX("root ::= \"ab\" | \"cd\"", "a");
    YES("root ::= [a-c]+ [^a-c]", "abcd");
    NO("root ::= [a-c]+ [^a-c]", "abcdd");
    NO("root ::= [a-c]+ [^a-c]", "d");
    YES("root ::= . \"x\"", "\xe2\x82\xacx");     /* `.` is one code point, here 3 bytes */
    YES("root ::= \"a\"{2,3}", "aa");
    YES("root ::= \"a\"{2,3}", "aaa");
    PREFIX("root ::= \"a\"{2,3}", "a");
    NO("root ::= \"a\"{2,3}", "aaaa");
    YES("root ::= \"a\"{2}", "aa");
    NO("root ::= \"a\"{2}", "aaa");
    YES("root ::= \"a\"{2,} \"b\"", "aaaaab");
    NO("root ::= \"a\"{2,} \"b\"", "ab");
    YES("root ::= \"a\"{,2} \"b\"", "b");
    NO("root ::= \"a\"{,2} \"b\"", "aaab");
    YES("root ::= \"ab\"* \"c\"", "ababc");     /* repetition applies to the whole literal */
    NO("root ::= \"ab\"* \"c\"", "abac");
    YES("root ::= (\"x\" | \"y\")? \"z\"", "z");
    YES("root ::= (\"x\" | \"y\")? \"z\"", "yz");
    YES("root ::= item (\",\" item)*\nitem ::= [0-9]+  # numbers\n", "1,22,333");
    YES("root ::= \"\\x41\\u00e9\\n\\\"\"", "A\xc3\xa9\n\"");
    YES("root ::= [\\u03b1-\\u03c9]+", "\xce\xb1\xce\xb2\xcf\x89");   /* Greek lower case */
    NO("root ::= [\\u03b1-\\u03c9]+", "\xce\x91");                    /* capital alpha */
    YES("root ::= (\n  \"a\"\n  | \"b\"\n)\n", "b");                  /* newlines in ( ) */
    YES("root ::=\n  \"a\" |\n  \"b\"", "b");                          /* after ::= and | */
    YES("root ::= \"\" | \"a\"", "");
    YES("root ::= a b\na ::= \"x\"?\nb ::= \"y\"?", "");                /* all nullable */
    NO("root ::= \"a\"", "\xc0\x81");                                  /* overlong UTF-8 */
}

static void completion_and_eog(void **st)
{
    llmr_gmatch *m = matcher("root ::= \"a\"+ \"b\"?");
    assert_false(llmri_gmatch_can_end(m));
    assert_false(llmri_gmatch_token_ok(m, 256));
    assert_int_equal(llmri_gmatch_accept(m, 256, NULL), LLMR_ERR_ARG);
    assert_int_equal(llmri_gmatch_accept(m, 'a', NULL), LLMR_OK);
    assert_true(llmri_gmatch_can_end(m));
    assert_false(llmri_gmatch_done(m));         /* more a's or a b may follow */
    assert_true(llmri_gmatch_token_ok(m, 256));
    assert_int_equal(llmri_gmatch_accept(m, 'b', NULL), LLMR_OK);
    assert_true(llmri_gmatch_done(m));          /* nothing can follow "ab" */
    uint8_t allowed[257];
    assert_int_equal(llmri_gmatch_allowed(m, allowed), 1);   /* only EOG */
    assert_int_equal(allowed[256], 1);
    assert_int_equal(llmri_gmatch_accept(m, 'x', NULL), LLMR_ERR_ARG);
    assert_int_equal(llmri_gmatch_accept(m, 256, NULL), LLMR_OK);
    assert_true(llmri_gmatch_done(m));
    llmri_gmatch_reset(m);
    assert_false(llmri_gmatch_can_end(m));
    assert_true(llmri_gmatch_token_ok(m, 'a'));
    llmri_gmatch_free(m);
}

/* ---- masking over multi-byte tokens ----------------------------------------------------- */

static const char *const toks[] = {
    "a", "b", "ab", "abc", "\xc3", "\xa9", "\xc3\xa9", "\xa9\x61", "e", "\xe2\x82", "\xac",
    "\xe2\x82\xac", "\xed\xa0", "\xed\x9f", "\xc0\xaf", "\xe0\x80", "\xf4\x90", "", "\xf0\x9f",
    "\x98\x80", "x\xc3",
};
enum { NT = sizeof toks / sizeof *toks };

static llmr_gmatch *tok_matcher(const char *gbnf, llmr_bytes *v)
{
    for (int i = 0; i < NT; i++)
        v[i] = (llmr_bytes){toks[i], strlen(toks[i])};
    llmr_grammar *g;
    llmr_err e;
    if (llmri_grammar_parse(gbnf, &g, &e))
        fail_msg("parse: %s", e.msg);
    llmr_gmatch *m;
    if (llmri_gmatch_create(&m, g, v, NT, NULL, 0, &e))
        fail_msg("create: %s", e.msg);
    return m;
}

static int tok_id(const char *s)
{
    for (int i = 0; i < NT; i++)
        if (strcmp(toks[i], s) == 0)
            return i;
    fail_msg("no token %s", s);
    return -1;
}

/* the mask must agree with checking every token on its own */
static void mask_agrees(llmr_gmatch *m)
{
    uint8_t allowed[NT];
    int32_t n = llmri_gmatch_allowed(m, allowed), count = 0;
    for (int i = 0; i < NT; i++) {
        if (allowed[i] != llmri_gmatch_token_ok(m, i))
            fail_msg("token %d: mask %d, direct check %d", i, allowed[i], !allowed[i]);
        count += allowed[i];
    }
    assert_int_equal(n, count);
}

static void partial_utf8_tokens_are_masked_by_what_can_follow(void **st)
{
    llmr_bytes v[NT];
    llmr_gmatch *m = tok_matcher("root ::= \"\\u00e9\" [a-z]", v);
    mask_agrees(m);
    assert_true(llmri_gmatch_token_ok(m, tok_id("\xc3")));       /* could become é */
    assert_true(llmri_gmatch_token_ok(m, tok_id("\xc3\xa9")));
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xa9")));      /* stray continuation */
    assert_false(llmri_gmatch_token_ok(m, tok_id("e")));
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xe2\x82")));  /* a 3-byte start */
    assert_int_equal(llmri_gmatch_accept(m, tok_id("\xc3"), NULL), LLMR_OK);
    mask_agrees(m);
    assert_false(llmri_gmatch_can_end(m));
    assert_true(llmri_gmatch_token_ok(m, tok_id("\xa9")));
    assert_true(llmri_gmatch_token_ok(m, tok_id("\xa9\x61")));   /* completes é, then a */
    assert_false(llmri_gmatch_token_ok(m, tok_id("a")));
    assert_int_equal(llmri_gmatch_accept(m, tok_id("\xa9\x61"), NULL), LLMR_OK);
    assert_true(llmri_gmatch_done(m));
    llmri_gmatch_free(m);

    /* a negated set: any 2-byte lead may start a code point it allows */
    m = tok_matcher("root ::= [^\\u00e9]", v);
    mask_agrees(m);
    assert_true(llmri_gmatch_token_ok(m, tok_id("\xc3")));
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xc3\xa9")));
    llmri_gmatch_free(m);

    /* anything: still never malformed UTF-8 or a surrogate */
    m = tok_matcher("root ::= .*", v);
    mask_agrees(m);
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xed\xa0")));  /* U+D800.. surrogates */
    assert_true(llmri_gmatch_token_ok(m, tok_id("\xed\x9f")));   /* U+D7C0.. fine */
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xc0\xaf")));  /* overlong */
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xe0\x80")));  /* overlong 3-byte */
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xf4\x90")));  /* beyond U+10FFFF */
    assert_false(llmri_gmatch_token_ok(m, tok_id("")));          /* no bytes: never */
    assert_true(llmri_gmatch_token_ok(m, tok_id("x\xc3")));
    assert_int_equal(llmri_gmatch_accept(m, tok_id("\xf0\x9f"), NULL), LLMR_OK);
    mask_agrees(m);
    assert_false(llmri_gmatch_can_end(m));      /* inside a code point */
    assert_int_equal(llmri_gmatch_accept(m, tok_id("\x98\x80"), NULL), LLMR_OK);   /* U+1F600 */
    assert_true(llmri_gmatch_can_end(m));
    llmri_gmatch_free(m);

    /* an emoji range: the 4-byte lead is allowed, a 2-byte lead is not */
    m = tok_matcher("root ::= [\\U0001F600-\\U0001F64F] \"a\"", v);
    mask_agrees(m);
    assert_true(llmri_gmatch_token_ok(m, tok_id("\xf0\x9f")));
    assert_false(llmri_gmatch_token_ok(m, tok_id("\xc3")));
    llmri_gmatch_free(m);
}

static void ambiguous_grammar_keeps_every_parse(void **st)
{
    /* "ab" may be one word or two: both parses stay alive until decided */
    const char *gb = "root ::= w (\" \" w)* \"!\"\nw ::= (\"a\" | \"ab\" | \"b\")+";
    YES(gb, "ab!");
    YES(gb, "ab ba!");
    NO(gb, "ab  !");
    llmr_bytes v[NT];
    llmr_gmatch *m = tok_matcher(gb, v);
    for (int k = 0; k < 5; k++) {
        mask_agrees(m);
        assert_int_equal(llmri_gmatch_accept(m, tok_id("ab"), NULL), LLMR_OK);
    }
    llmri_gmatch_free(m);
}

/* Hostile grammar text: random edits of valid grammars must give LLMR_OK or a clean error,
 * and whatever parses must run over random bytes without fault (ASan/UBSan builds check). */
static void mutated_grammars_never_crash(void **st)
{
    static const char *const seeds[] = {
        "root ::= [0-9]+ (\".\" [0-9]+)? | \"-\" root2\nroot2 ::= \"x\"{2,4} # c\n",
        "root ::= (\"a\" | [^b-d] | .)* \"\\u00e9\\x41\"\n",
        ("root ::= obj\nobj ::= \"{\" ws (kv (\",\" ws kv)*)? \"}\"\nkv ::= [a-z]+ \":\" ws obj\n"
         "ws ::= [ \\t\\n]{0,3}\n"),
    };
    const char alphabet[] = "root::=|()[]^-\"\\*+?{},.#\n abcxyz019u";
    llmr_rng r;
    llmri_rng_seed(&r, 11);
    int parsed = 0;
    for (int it = 0; it < 3000; it++) {
        char buf[512];
        const char *sd = seeds[it % 3];
        size_t n = strlen(sd);
        memcpy(buf, sd, n + 1);
        int edits = 1 + (int)(llmri_rng_next(&r) % 4);
        for (int k = 0; k < edits && n > 1 && n < sizeof buf - 2; k++) {
            size_t at = (size_t)(llmri_rng_next(&r) % n);
            char c = (llmri_rng_next(&r) % 8) ? alphabet[llmri_rng_next(&r) % (sizeof alphabet - 1)]
                                             : (char)(llmri_rng_next(&r) % 255 + 1);
            switch (llmri_rng_next(&r) % 3) {
            case 0: buf[at] = c; break;
            case 1: memmove(buf + at + 1, buf + at, n - at + 1); buf[at] = c; n++; break;
            default: memmove(buf + at, buf + at + 1, n - at); n--; break;
            }
        }
        llmr_grammar *g = NULL;
        llmr_err e;
        int rc = llmri_grammar_parse(buf, &g, &e);
        if (rc != LLMR_OK && rc != LLMR_ERR_FORMAT && rc != LLMR_ERR_TOO_BIG)
            fail_msg("rc %d for grammar:\n%s", rc, buf);
        if (rc)
            continue;
        parsed++;
        llmr_gmatch *m = matcher_from(g);
        for (int k = 0; k < 40 && !llmri_gmatch_done(m); k++) {
            uint8_t allowed[257];
            int32_t na = llmri_gmatch_allowed(m, allowed);
            if (na <= 0)
                break;
            int32_t pick = (int32_t)(llmri_rng_next(&r) % (uint64_t)na), t = 0;
            for (t = 0; t < 257; t++)
                if (allowed[t] && pick-- == 0)
                    break;
            assert_int_equal(llmri_gmatch_accept(m, t, NULL), LLMR_OK);
        }
        llmri_gmatch_free(m);
    }
    assert_true(parsed > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_errors_name_line_and_column),
        cmocka_unit_test(grammar_matches_the_syntax),
        cmocka_unit_test(completion_and_eog),
        cmocka_unit_test(partial_utf8_tokens_are_masked_by_what_can_follow),
        cmocka_unit_test(ambiguous_grammar_keeps_every_parse),
        cmocka_unit_test(mutated_grammars_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
