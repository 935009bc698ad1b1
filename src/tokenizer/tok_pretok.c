/* tok_pretok.c - the pre-tokenizers of byte-level BPE vocabularies, as hand-written matchers.
 *
 * Each vocabulary's tokenizer.json names a list of regexes (llama.cpp's llm_tokenizer_bpe
 * lists them per tokenizer.ggml.pre). They are applied in order: each one splits every piece
 * left by the previous ones into its matches and the gaps between them (both kept), searching
 * left to right as regex_iterator does. Every distinct regex is one matcher below: it is tried
 * at a position and returns the length of the match there (0: none), reading characters with
 * their Unicode classes (tok_unicode.c). No regex engine is involved.
 *
 * The regexes, with the matcher for each:
 *  gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *  llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+          (qwen2: \p{N} alone)
 *  punct:  [\p{P}\$\+<=>\^~\|`]+ (falcon; the default set has no backtick)
 *  digits: \p{N}+ , \p{N} , [0-9][0-9][0-9]
 *  deepseek-llm:   [\r\n] , \s?[A-Za-zµÀ-ÖØ-öø-ƺ...]+ , \s?[!-/:-~！-／：-～‘-‟　-。]+ , \s+$ ,
 *                  [一-龥ࠀ-一가-퟿]+ , \p{N}+
 *  deepseek-coder: [\r\n] , \s?\p{L}+ , \s?\p{P}+ , [一-龥ࠀ-一가-퟿]+ , \p{N}
 *
 * \s is the White_Space property. In the regexes written with literal ranges, llama.cpp
 * first turns every non-ASCII white space into U+000B, so such characters never fall in a
 * literal range (U+3000 is white space, not the "　-。" punctuation); the same holds here.
 */
#include "tokenizer/tok_impl.h"
#include "core/grow.h"
#include "tokenizer/tok_unicode.h"

#include <stdlib.h>
#include <string.h>

#define OOR 0xFFFFFFFFu   /* "no character": past the end of the piece being matched */

typedef struct pt {
    const char *s;
    size_t end;           /* end of the piece being matched (a regex sees only the piece) */
} pt;

/* The code point at byte pos (the text is valid UTF-8: tok_encode sanitized it). */
static inline uint32_t cp_at(const pt *x, size_t pos, int *len)
{
    if (pos >= x->end) {
        *len = 0;
        return OOR;
    }
    uint8_t b = (uint8_t)x->s[pos];
    if (b < 0x80) {
        *len = 1;
        return b;
    }
    uint32_t cp;
    int l = uc_decode((const uint8_t *)x->s + pos, x->end - pos, &cp);
    if (l == 0) {   /* cannot happen after sanitizing; treat the byte as unassigned */
        *len = 1;
        return 0xFFFD;
    }
    *len = l;
    return cp;
}

static inline uint8_t fl(uint32_t cp) { return cp == OOR ? 0 : uc_flags(cp); }

#define LNS (UC_LETTER | UC_NUMBER | UC_SPACE)

/* ---- GPT-2 ---------------------------------------------------------------------------------- */

/* 's|'t|'re|'ve|'m|'ll|'d (case_insensitive: the (?i:...) of Llama 3) */
static size_t contraction(const pt *x, size_t pos, bool ci)
{
    int l;
    if (cp_at(x, pos, &l) != '\'')
        return 0;
    uint32_t a = cp_at(x, pos + 1, &l), b = OOR;
    int l2 = 0;
    if (a != OOR)
        b = cp_at(x, pos + 2, &l2);
    if (ci) {
        if (a >= 'A' && a <= 'Z') a += 32;
        if (b >= 'A' && b <= 'Z') b += 32;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* The length of the run of characters from pos whose flags satisfy (f & want) && !(f & deny)
 * (want == 0: any non-zero flags). */
static size_t run(const pt *x, size_t pos, uint8_t want, uint8_t deny)
{
    size_t p = pos;
    for (;;) {
        int l;
        uint8_t f = fl(cp_at(x, p, &l));
        if (!f || (want && !(f & want)) || (f & deny))
            break;
        p += (size_t)l;
    }
    return p - pos;
}

/* \s+(?!\S)|\s+ at pos: a run of white space, less its last character when a non-space
 * follows (so that the space goes with the next word). */
static size_t spaces(const pt *x, size_t pos)
{
    size_t p = pos, last = pos;
    int n = 0, l;
    while (fl(cp_at(x, p, &l)) & UC_SPACE) {
        last = p;
        p += (size_t)l;
        n++;
    }
    if (n == 0)
        return 0;
    if (n > 1 && p < x->end)
        return last - pos;
    return p - pos;
}

static size_t m_gpt2(const pt *x, size_t pos, size_t *skip)
{
    size_t m = contraction(x, pos, false);
    if (m)
        return m;
    int l, l2;
    uint32_t c = cp_at(x, pos, &l);
    size_t sp = c == ' ' ? 1 : 0;
    uint8_t f2 = fl(sp ? cp_at(x, pos + 1, &l2) : c);
    if (f2 & UC_LETTER)
        return sp + run(x, pos + sp, UC_LETTER, 0);
    if (f2 & UC_NUMBER)
        return sp + run(x, pos + sp, UC_NUMBER, 0);
    if (f2 && !(f2 & LNS))
        return sp + run(x, pos + sp, 0, LNS);
    m = spaces(x, pos);
    (void)skip;
    return m ? m : (size_t)l;
}

/* ---- Llama 3 / Qwen2 ------------------------------------------------------------------------ */

static size_t m_llama3_n(const pt *x, size_t pos, size_t max_digits)
{
    size_t m = contraction(x, pos, true);
    if (m)
        return m;
    int l, l2;
    uint32_t c = cp_at(x, pos, &l);
    uint8_t f = fl(c);
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c != '\r' && c != '\n' && !(f & UC_NUMBER)) {
        if (f & UC_LETTER)
            return run(x, pos, UC_LETTER, 0);
        if (fl(cp_at(x, pos + (size_t)l, &l2)) & UC_LETTER)
            return (size_t)l + run(x, pos + (size_t)l, UC_LETTER, 0);
    }
    /* \p{N}{1,3} */
    if (f & UC_NUMBER) {
        size_t p = pos, k = 0;
        while (k < max_digits && (fl(cp_at(x, p, &l2)) & UC_NUMBER)) {
            p += (size_t)l2;
            k++;
        }
        return p - pos;
    }
    /* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
    size_t sp = c == ' ' ? 1 : 0;
    uint8_t f2 = sp ? fl(cp_at(x, pos + 1, &l2)) : f;
    if (f2 && !(f2 & LNS)) {
        size_t p = pos + sp;
        p += run(x, p, 0, LNS);
        for (;;) {
            uint32_t d = cp_at(x, p, &l2);
            if (d != '\r' && d != '\n')
                break;
            p++;
        }
        return p - pos;
    }
    /* \s*[\r\n]+ : up to the last \r or \n of the white-space run */
    size_t p = pos, last_nl = 0;
    while (fl(cp_at(x, p, &l2)) & UC_SPACE) {
        uint32_t d = cp_at(x, p, &l2);
        p += (size_t)l2;
        if (d == '\r' || d == '\n')
            last_nl = p;
    }
    if (last_nl)
        return last_nl - pos;
    m = spaces(x, pos);
    return m ? m : (size_t)l;
}

static size_t m_llama3(const pt *x, size_t pos, size_t *skip) { (void)skip; return m_llama3_n(x, pos, 3); }
static size_t m_qwen2(const pt *x, size_t pos, size_t *skip) { (void)skip; return m_llama3_n(x, pos, 1); }

/* ---- single-class runs ---------------------------------------------------------------------- */

static bool is_punct_sym(uint32_t c, bool backtick)
{
    if (c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' ||
        c == '|' || (backtick && c == '`'))
        return true;
    return (fl(c) & (UC_PUNCT | UC_SPACE)) == UC_PUNCT;
}

static size_t punct_run(const pt *x, size_t pos, bool backtick)
{
    size_t p = pos;
    int l;
    uint32_t c;
    while ((c = cp_at(x, p, &l)) != OOR && is_punct_sym(c, backtick))
        p += (size_t)l;
    return p - pos;
}

static size_t m_punct(const pt *x, size_t pos, size_t *skip) { (void)skip; return punct_run(x, pos, false); }
static size_t m_punct_bt(const pt *x, size_t pos, size_t *skip) { (void)skip; return punct_run(x, pos, true); }
static size_t m_nums(const pt *x, size_t pos, size_t *skip) { (void)skip; return run(x, pos, UC_NUMBER, 0); }

static size_t m_num1(const pt *x, size_t pos, size_t *skip)
{
    int l;
    (void)skip;
    return (fl(cp_at(x, pos, &l)) & UC_NUMBER) ? (size_t)l : 0;
}

static size_t m_digits3(const pt *x, size_t pos, size_t *skip)
{
    (void)skip;
    if (pos + 3 > x->end)
        return 0;
    for (int i = 0; i < 3; i++)
        if (x->s[pos + (size_t)i] < '0' || x->s[pos + (size_t)i] > '9')
            return 0;
    return 3;
}

static size_t m_crlf(const pt *x, size_t pos, size_t *skip)
{
    (void)skip;
    return x->s[pos] == '\r' || x->s[pos] == '\n' ? 1 : 0;
}

/* ---- DeepSeek's literal ranges (from its tokenizer.json, as listed in llama.cpp) ------------ */

typedef struct { uint32_t lo, hi; } cp_range;

/* \p{L&}-like list of cased letters; a few entries are written in the regex with characters
 * that have canonical singletons (U+1F7D, U+1FBE, U+1FD3, U+1FDB, U+2126, U+212A): the ranges
 * use the code points as written. */
static const cp_range ds_letters[] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
    {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
    {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
    {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
    {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
    {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
    {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
    {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
    {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
    {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
    {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
    {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
static const cp_range ds_punct[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F},
    {0xFF1A, 0xFF5E},
};
static const cp_range ds_cjk[] = { {0x800, 0x4E00}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7FF} };

/* The tables are in increasing order of lo (the regexes list them in another order, which a
 * character class does not care about), so the scan stops at the first range past c. */
static bool in_ranges(uint32_t c, const cp_range *r, size_t n)
{
    if (c == OOR || (c > 0x7F && (uc_flags(c) & UC_SPACE)))
        return false;
    for (size_t i = 0; i < n && r[i].lo <= c; i++)
        if (c <= r[i].hi)
            return true;
    return false;
}

#define NR(a) (sizeof(a) / sizeof((a)[0]))

static size_t range_run(const pt *x, size_t pos, const cp_range *r, size_t n)
{
    size_t p = pos;
    int l;
    uint32_t c;
    while (in_ranges(c = cp_at(x, p, &l), r, n))
        p += (size_t)l;
    return p - pos;
}

/* \s?[class]+ */
static size_t opt_space_then(const pt *x, size_t pos, const cp_range *r, size_t n)
{
    int l;
    uint32_t c = cp_at(x, pos, &l);
    if (fl(c) & UC_SPACE) {
        size_t m = range_run(x, pos + (size_t)l, r, n);
        return m ? (size_t)l + m : 0;
    }
    return range_run(x, pos, r, n);
}

static size_t m_ds_letters(const pt *x, size_t pos, size_t *skip) { (void)skip; return opt_space_then(x, pos, ds_letters, NR(ds_letters)); }
static size_t m_ds_punct(const pt *x, size_t pos, size_t *skip) { (void)skip; return opt_space_then(x, pos, ds_punct, NR(ds_punct)); }
static size_t m_ds_cjk(const pt *x, size_t pos, size_t *skip) { (void)skip; return range_run(x, pos, ds_cjk, NR(ds_cjk)); }

/* \s+$ : white space reaching the end of the piece. A run that stops short cannot match from
 * any of its positions, so the search skips it whole. */
static size_t m_trailing_space(const pt *x, size_t pos, size_t *skip)
{
    size_t p = pos;
    int l;
    while (fl(cp_at(x, p, &l)) & UC_SPACE)
        p += (size_t)l;
    if (p == pos)
        return 0;
    if (p == x->end)
        return p - pos;
    *skip = p - pos;
    return 0;
}

/* \s?\p{L}+ and \s?\p{P}+ (deepseek-coder) */
static size_t opt_space_class(const pt *x, size_t pos, uint8_t cls)
{
    int l;
    uint32_t c = cp_at(x, pos, &l);
    size_t sp = (fl(c) & UC_SPACE) ? (size_t)l : 0;
    size_t m = run(x, pos + sp, cls, UC_SPACE);
    return m ? sp + m : 0;
}

static size_t m_sp_letters(const pt *x, size_t pos, size_t *skip) { (void)skip; return opt_space_class(x, pos, UC_LETTER); }
static size_t m_sp_punct(const pt *x, size_t pos, size_t *skip) { (void)skip; return opt_space_class(x, pos, UC_PUNCT); }

/* ---- the sets ------------------------------------------------------------------------------- */

typedef size_t (*matcher)(const pt *x, size_t pos, size_t *skip);

static const struct {
    const char *names;     /* tokenizer.ggml.pre values, '|'-separated */
    matcher m[7];
} sets[PRE_COUNT] = {
    [PRE_DEFAULT] = {"default", {m_punct, m_gpt2, m_nums, m_digits3}},
    [PRE_GPT2] = {"gpt-2|gpt2|phi-2|mpt|olmo|jais|roberta-bpe|jina-es|jina-de|gigachat|"
                  "jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|trillion|granite-docling",
                  {m_gpt2}},
    [PRE_LLAMA3] = {"llama-bpe|llama3|llama-v3|falcon3|dbrx|smaug-bpe|chatglm-bpe|pixtral|"
                    "tekken-llama3", {m_llama3}},
    [PRE_QWEN2] = {"qwen2|stablelm2|hunyuan|megrez|deepseek-r1-qwen|grok-2", {m_qwen2}},
    [PRE_DEEPSEEK_LLM] = {"deepseek-llm",
                          {m_crlf, m_ds_letters, m_ds_punct, m_trailing_space, m_ds_cjk,
                           m_nums}},
    [PRE_DEEPSEEK_CODER] = {"deepseek-coder",
                            {m_crlf, m_sp_letters, m_sp_punct, m_ds_cjk, m_num1}},
    [PRE_FALCON] = {"falcon", {m_punct_bt, m_gpt2, m_digits3}},
    [PRE_STARCODER] = {"starcoder|refact|command-r|smollm|codeshell|exaone|minerva",
                       {m_num1, m_gpt2}},
};

tok_pre pretok_from_name(const char *name, bool *known)
{
    size_t n = strlen(name);
    for (int p = 0; p < PRE_COUNT; p++) {
        const char *s = sets[p].names;
        while (*s) {
            const char *e = strchr(s, '|');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            if (l == n && memcmp(s, name, n) == 0) {
                *known = true;
                return (tok_pre)p;
            }
            s += l + (e ? 1 : 0);
        }
    }
    *known = false;
    return PRE_DEFAULT;
}

/* ---- splitting ------------------------------------------------------------------------------ */

typedef struct range { size_t a, b; } range;

typedef struct range_list {
    range *v;
    size_t n, cap;
} range_list;

static int range_push(range_list *l, size_t a, size_t b)
{
    if (!LLMR_GROW(l->v, l->cap, l->n + 1))
        return LLMR_ERR_NOMEM;
    l->v[l->n++] = (range){a, b};
    return LLMR_OK;
}

typedef struct sink {
    range_list   *list;   /* the next pattern's input, or NULL: */
    pretok_word_fn fn;    /* the words themselves */
    void         *user;
    const char   *s;
} sink;

static inline int emit(sink *k, size_t a, size_t b)
{
    if (a == b)
        return 0;
    return k->list ? range_push(k->list, a, b) : k->fn(k->user, k->s + a, b - a);
}

/* One regex over one piece [a, b): matches and the gaps between them, in order. */
static int split_piece(matcher m, const char *s, size_t a, size_t b, sink *k)
{
    pt x = {s, b};
    size_t pos = a, gap = a;
    int rc = 0;
    while (pos < b) {
        size_t skip = 0;
        size_t len = m(&x, pos, &skip);
        if (len) {
            if ((rc = emit(k, gap, pos)) || (rc = emit(k, pos, pos + len)))
                return rc;
            pos += len;
            gap = pos;
        } else if (skip) {
            pos += skip;
        } else {
            pos += (size_t)uc_lead_len((uint8_t)s[pos]);
        }
    }
    if (pos > b)
        pos = b;
    return emit(k, gap, b);
}

int pretok_split(tok_pre pre, const char *text, size_t len, pretok_word_fn fn, void *user)
{
    if (len == 0)
        return 0;
    const matcher *ms = sets[pre < PRE_COUNT ? pre : PRE_DEFAULT].m;
    int nm = 0;
    while (nm < 7 && ms[nm])
        nm++;
    range_list in = {0}, out = {0};
    int rc = range_push(&in, 0, len);
    for (int i = 0; rc == 0 && i < nm; i++) {
        bool last = i == nm - 1;
        sink k = {last ? NULL : &out, fn, user, text};
        out.n = 0;
        for (size_t j = 0; rc == 0 && j < in.n; j++)
            rc = split_piece(ms[i], text, in.v[j].a, in.v[j].b, &k);
        range_list t = in;
        in = out;
        out = t;
    }
    free(in.v);
    free(out.v);
    return rc;
}
