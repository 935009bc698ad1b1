#!/usr/bin/env python3
"""Writes pretok_cases.h: how each pre-tokenizer splits a set of strings, computed with the
Python `regex` module from the regex lists that llama.cpp's llm_tokenizer_bpe uses for each
tokenizer.ggml.pre (applied in order; each regex splits every piece into its matches and the
gaps between them). Like llama.cpp, non-ASCII white space is read as U+000B before matching,
so it never falls in a literal range. Run: python3 gen_pretok_cases.py > pretok_cases.h
"""
import regex

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
          r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")

def cls(ranges):
    return "".join(regex.escape(chr(a)) if a == b else regex.escape(chr(a)) + "-" + regex.escape(chr(b))
                   for a, b in ranges)

DS_LETTERS = [(0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA),
    (0x1BC, 0x1BF), (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x377), (0x37B, 0x37D),
    (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C), (0x38E, 0x3A1), (0x3A3, 0x3F5),
    (0x3F7, 0x481), (0x48A, 0x52F), (0x531, 0x556), (0x10A0, 0x10C5), (0x13A0, 0x13F5),
    (0x13F8, 0x13FD), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF), (0x1D00, 0x1D2B), (0x1D6B, 0x1D77),
    (0x1D79, 0x1D9A), (0x1E00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D),
    (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D),
    (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC),
    (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC),
    (0x2102, 0x2102), (0x2107, 0x2107), (0x210A, 0x2113), (0x2115, 0x2115), (0x2119, 0x211D),
    (0x2124, 0x2124), (0x2126, 0x2126), (0x2128, 0x2128), (0x212A, 0x212D), (0x212F, 0x2134),
    (0x2139, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149), (0x214E, 0x214E), (0x2183, 0x2184),
    (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF3), (0xA640, 0xA66D),
    (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787), (0xA78B, 0xA78E), (0xAB70, 0xABBF),
    (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x10400, 0x1044F),
    (0x104B0, 0x104D3), (0x104D8, 0x104FB), (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2),
    (0x118A0, 0x118DF), (0x1E900, 0x1E943)]
DS_PUNCT = [(0x21, 0x2F), (0x3A, 0x7E), (0xFF01, 0xFF0F), (0xFF1A, 0xFF5E), (0x2018, 0x201F), (0x3000, 0x3002)]
DS_CJK = [(0x4E00, 0x9FA5), (0x800, 0x4E00), (0xAC00, 0xD7FF)]

SETS = [
    ("PRE_DEFAULT", [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"]),
    ("PRE_GPT2", [GPT2]),
    ("PRE_LLAMA3", [LLAMA3]),
    ("PRE_QWEN2", [QWEN2]),
    ("PRE_DEEPSEEK_LLM", [r"[\r\n]", r"\s?[" + cls(DS_LETTERS) + "]+", r"\s?[" + cls(DS_PUNCT) + "]+",
                          r"\s+$", "[" + cls(DS_CJK) + "]+", r"\p{N}+"]),
    ("PRE_DEEPSEEK_CODER", [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[" + cls(DS_CJK) + "]+", r"\p{N}"]),
    ("PRE_FALCON", [r"[\p{P}\$\+<=>\^~\|`]+", GPT2, r"[0-9][0-9][0-9]"]),
    ("PRE_STARCODER", [r"\p{N}", GPT2]),
]

STRINGS = [
    "Hello world", " Hello  World!", "I'll be there, won't you? We'VE DON'T 'S 'll",
    "12345678 and 3.14159 and 1,000,000", "abc123def 7 77 777 7777",
    "   leading\n\n\ntrailing   ", "\r\n\r\n x \n\t y\t\t", "a  \n\n b", "tab\there\n",
    "!!!??? $+<=>^~|` ... --- ===", "(parens) [brackets] {braces} <angle>",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m", "\u0393\u03b5\u03b9\u03b1 \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u6211\u662f\u8c01",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\u3053\u3093\u306b\u3061\u306f\u3001\u30ab\u30bf\u30ab\u30ca",
    "\u0661\u0662\u0663 \u00bd \u2460\u2461 \u2167", "e\u0301 a\u0308\u0301 \u0915\u093f\u0924\u093e\u092c",
    "\U0001F680 rocket \U0001F469\u200d\U0001F469\u200d\U0001F467 family \u2705\U0001F999",
    "nbsp\u00a0here\u2028line\u3000ideo\u0085nel", "x\u00a0\u00a0y", "  ", " ", "\n", "a",
    "snake_case camelCase kebab-case CONSTANT_CASE", "http://example.com/a?b=c&d=e#f",
    "\u1780\u17b6\u1793\u17cb \u1781\u17d2\u1798\u17c2\u179a", "\uff21\uff22\uff23\uff4b\uff4c \uff01\uff1f",
    "'quoted' \"double\" \u2018curly\u2019 \u201cdouble\u201d", "C\u1eeda Vi\u1ec7t",
    "3333333 33 3", "end with spaces  ", "\u00b5\u212b\u2126 \u1f7d\u1fbe", "mixed\u4e2d\u6587text123",
]

WS = set(c for c in range(0x80, 0x110000) if regex.match(r"\s", chr(c)))

def split(text, exprs):
    view = "".join("\x0b" if ord(c) in WS else c for c in text)
    pieces = [(0, len(text))]
    for e in exprs:
        rx = regex.compile(e)
        out = []
        for a, b in pieces:
            pos = a
            for m in rx.finditer(view[a:b]):
                s, t = a + m.start(), a + m.end()
                if t == s:
                    continue
                if s > pos:
                    out.append((pos, s))
                out.append((s, t))
                pos = t
            if pos < b:
                out.append((pos, b))
        pieces = out
    return [len(text[a:b].encode()) for a, b in pieces]

def c_str(s):
    # each escape ends its literal ("\xe9" "a"), so a following hex digit is not read into it
    out = ""
    for c in s:
        if 32 <= ord(c) < 127 and c not in '"\\?':
            out += c
        else:
            out += "".join('\\x%02x""' % x for x in c.encode())
    return ('"' + out + '"').replace('""""', '""')

print("/* pretok_cases.h - generated by gen_pretok_cases.py (Python regex %s); do not edit. */" % regex.__version__)
print("static const char *const pretok_strings[] = {")
for s in STRINGS:
    print("    %s," % c_str(s))
print("};")
print("#define PRETOK_N_STRINGS %d" % len(STRINGS))
print("/* for each set, for each string: the byte lengths of its pieces, then -1 */")
print("static const struct { int pre; const char *name; int lens[%d]; } pretok_expected[] = {" %
      (max(len(split(s, e)) for s in STRINGS for _, e in SETS) * len(STRINGS) + len(STRINGS) + 1))
for name, exprs in SETS:
    lens = []
    for s in STRINGS:
        lens += split(s, exprs) + [-1]
    print("    {%s, \"%s\", {%s}}," % (name, name, ", ".join(map(str, lens))))
print("};")
