#!/usr/bin/env python3
# jinja_diff.py - developer tool (not run by CTest: it needs Python's jinja2): renders random
# templates with Python's jinja2 set up as HF's apply_chat_template does and with
# `llmr template`, and prints where they disagree. Usage:
#   LLMR_BIN=build/llmr python3 tests/template/jinja_diff.py SEED COUNT
# Known, accepted differences: the address in "<generator object ... at 0x...>"; jinja2's
# compile-time constant folding (a slice of a literal that fails gives Undefined instead of a
# TypeError); dict.items()/keys() print as lists, not dict_items(...); a variable assigned
# later at top level is undefined inside an earlier loop in jinja2.
import warnings; warnings.filterwarnings("ignore")
import random, json, subprocess, sys, datetime, os, tempfile
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols
def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters['tojson'] = tojson
env.globals['raise_exception'] = raise_exception
env.globals['strftime_now'] = lambda f: datetime.datetime(2024, 7, 26).strftime(f)
seed = int(sys.argv[1]); N = int(sys.argv[2])
R = random.Random(seed)
VARS = {"messages": [{"role": "system", "content": " Sys. "}, {"role": "user", "content": "Hi <b> & 'q' \"d\""},
        {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1, "b": [1.5, "x"]}}}]},
        {"role": "user", "content": "ünï 日本\nline2"}],
        "x": 3, "f": 2.5, "s": "Hello World", "l": [3, 1, 2], "d": {"b": 2, "a": 1, "items": 9}, "e": [], "n": None, "t": True}
def lit():
    return R.choice(["1", "0", "-2", "2.5", "1e3", "'a'", "'Ab c'", "\"x'y\"", "''", "none", "true", "false", "[1, 2]", "{'k': 'v'}", "(1, 'a')", "'  pad '"])
def var():
    return R.choice(["x", "f", "s", "l", "d", "e", "n", "t", "messages", "messages[0]", "messages[-1].content", "messages[2].tool_calls", "zz", "d.b", "d['a']", "l[0]", "l[-1]", "s[1:4]", "l[::-1]", "messages[1]['role']", "loop.index" ])
FILTERS = ["trim", "length", "count", "upper", "lower", "title", "capitalize", "first", "last", "list", "string", "int", "float", "tojson", "tojson(indent=2)", "join(', ')", "join", "default('D')", "default('D', true)", "replace('l', 'L')", "indent(2)", "indent(2, true)", "sort", "reverse", "unique", "sum", "max", "min", "abs", "round", "items", "dictsort", "safe", "e", "wordcount", "select('odd')", "reject", "map('string')", "map(attribute='role')", "selectattr('role', 'equalto', 'user')", "rejectattr('content')", "batch(2)", "center(9)", "trim('H')"]
TESTS = ["defined", "undefined", "none", "string", "number", "mapping", "iterable", "sequence", "odd", "even", "true", "false", "integer", "float", "boolean", "eq 3", "gt 1", "in [1, 2, 3]", "divisibleby 2", "lower", "upper"]
METHODS = ["strip()", "upper()", "lower()", "split()", "split('l')", "startswith('H')", "endswith('d')", "replace('o', '0')", "title()", "find('o')", "count('l')", "items()", "keys()", "values()", "get('a')", "get('z', 5)", "lstrip('H')", "rstrip('d')", "capitalize()", "splitlines()", "isdigit()", "index(1)"]
def expr(d=0):
    if d > 3: return R.choice([lit, var])()
    k = R.randrange(14)
    if k < 2: return lit()
    if k < 4: return var()
    if k == 4: return expr(d+1) + " | " + R.choice(FILTERS)
    if k == 5: return expr(d+1) + " is " + R.choice(["", "not "]) + R.choice(TESTS)
    if k == 6: return expr(d+1) + " " + R.choice(["+", "-", "*", "/", "//", "%", "~", "**"]) + " " + expr(d+1)
    if k == 7: return expr(d+1) + " " + R.choice(["==", "!=", "<", ">", "<=", ">=", "in", "not in"]) + " " + expr(d+1)
    if k == 8: return R.choice(["not ", "-", ""]) + expr(d+1) + " " + R.choice(["and", "or"]) + " " + expr(d+1)
    if k == 9: return expr(d+1) + " if " + expr(d+1) + (" else " + expr(d+1) if R.random() < .7 else "")
    if k == 10: return "(" + expr(d+1) + ")." + R.choice(METHODS)
    if k == 11: return "[" + ", ".join(expr(d+1) for _ in range(R.randrange(3))) + "]"
    if k == 12: return "(" + expr(d+1) + ")[" + R.choice(["0", "-1", "1:", ":2", "::2", "'role'", "'a'"]) + "]"
    return "{" + ", ".join(f"'{c}': " + expr(d+1) for c in "ab"[:R.randrange(3)]) + "}"
def ws(): return R.choice(["", "", "-", "+"]) if R.random() < .3 else ""
def text():
    return R.choice(["", "a", " ", "\n", "  \n", "x\n  ", "\n\n", "\t", "  ", "T"])
def tag(inner): return "{%" + ws().replace("+", "+") + " " + inner + " " + ws().replace("+", "") + "%}"
def stmt(d=0):
    if d > 3: return text() + "{{" + ws().replace("+", "") + " " + expr() + " " + ws().replace("+", "") + "}}"
    k = R.randrange(9)
    if k < 2: return text()
    if k < 4: return "{{" + ws().replace("+", "") + " " + expr() + " " + ws().replace("+", "") + "}}" + text()
    if k == 4: return tag("if " + expr()) + body(d) + (tag("elif " + expr()) + body(d) if R.random() < .3 else "") + (tag("else") + body(d) if R.random() < .5 else "") + tag("endif") + text()
    if k == 5:
        it = R.choice(["l", "messages", "d", "s", "range(3)", "e", "zz", "d.items()", "d | items", "l | sort"])
        tgt = "k, v" if "items" in it else "i"
        return tag(f"for {tgt} in {it}" + (" if " + expr() if R.random() < .2 else "")) + body(d, loop=True) + (tag("else") + body(d) if R.random() < .2 else "") + tag("endfor") + text()
    if k == 6: return tag("set " + R.choice(["x", "s", "y", "ns.c"]) + " = " + expr()) + text()
    if k == 7: return tag("set ns = namespace(c=0)") + text()
    return tag("macro m(a, b=2)") + body(d) + tag("endmacro") + "{{ m(" + expr() + ") }}" + text()
def body(d, loop=False):
    out = "".join(stmt(d+1) for _ in range(R.randrange(1, 3)))
    if loop and R.random() < .2: out += tag(R.choice(["break", "continue"]))
    return out
TMP = tempfile.mkdtemp()
LLMR = os.environ.get("LLMR_BIN", "build/llmr")
json.dump(VARS, open(TMP + "/rvars.json", "w"))
# pass vars as an object: messages plus the rest become variables
match = mism = 0
for i in range(N):
    t = "".join(stmt() for _ in range(R.randrange(1, 4)))
    try:
        want = env.from_string(t).render(bos_token="", eos_token="", add_generation_prompt=False, **VARS); werr = None
    except Exception as ex:
        want = None; werr = f"{type(ex).__name__}: {ex}"
    open(TMP + "/r.jinja", "w").write(t)
    p = subprocess.run([LLMR, "template", "--template-file", TMP + "/r.jinja", "--messages", TMP + "/rvars.json", "--date", "2024-07-26"], capture_output=True)
    if p.returncode not in (0, 1):
        print("CRASH/USAGE", p.returncode, repr(t), p.stderr[:300]); mism += 1; continue
    got = p.stdout.decode("utf-8", "replace") if p.returncode == 0 else None
    if (want is None) != (got is None) or (want is not None and want != got):
        mism += 1
        if mism <= 12:
            print("MISMATCH", repr(t)); print("   py:", repr(want) if want is not None else werr); print("   c :", repr(got) if got is not None else p.stderr.decode()[:300])
    else: match += 1
print("match", match, "mismatch", mism)
