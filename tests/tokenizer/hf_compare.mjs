// hf_compare.mjs - llmr's tokenizer against Hugging Face's own JavaScript tokenizer
// (@huggingface/tokenizers, the one transformers.js uses) on a real tokenizer.json, and llmr's
// chat template renderer against @huggingface/jinja (transformers.js's apply_chat_template).
//
//   node hf_compare.mjs LLMR MODEL_DIR VOCAB.gguf [EXTRA.inp ...]
//
// MODEL_DIR holds tokenizer.json and tokenizer_config.json; VOCAB.gguf is what `llmr vocab
// --from-hf` made of them. Every text of the corpus (below, and the texts of llama.cpp's
// tokenizer test files given) is tokenized by both, with special-token text parsed (Hugging
// Face always splits added tokens out; llmr does with --special) and no BOS, then with BOS
// and EOS as each adds them; llmr's ids are decoded back and compared with Hugging Face's
// decoding of the same ids. Prints "N passed, N failed" and exits 1 on any difference.
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [llmr, dir, gguf, ...inps] = process.argv.slice(2);
const tjson = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
const tcfg = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
const hf = new Tokenizer(tjson, tcfg);
const tmp = mkdtempSync(join(tmpdir(), "llmr-hf-"));
const SEP = "\n\u0001__llmr_corpus__\u0001\n";
let passes = 0, fails = 0, shown = 0, known = 0, rendered = 0, refused = 0;

// HF_KNOWN=a,b: texts that are known differences, not failures, where Hugging Face's fast
// tokenizer departs from SentencePiece (which llmr and llama.cpp follow) for Gemma. Its
// tokenizer.json lists the whitespace pieces ("▁" x 2..31) as added tokens that are matched
// in the raw text before normalizing, where SentencePiece matches them after (a space and a
// typed "▁" are then one character):
//  - "space-run": Gemma 1/2's pieces never match spaces (only typed "▁▁"), and its merges cut
//    a run of 32 spaces or more into pieces of 16, not 31 and the rest;
//  - "typed-u2581": a typed "▁▁" next to a space is its own piece, not part of one run.
const knownSet = new Set((process.env.HF_KNOWN || "").split(",").filter(Boolean));
const isKnown = (t) => (knownSet.has("space-run") && t.includes(" ".repeat(32))) ||
    (knownSet.has("typed-u2581") && /[ \t\n]\u2581\u2581|\u2581\u2581[ \t\n]/.test(t));

function check(name, ok, detail, text) {
    if (ok) { passes++; return; }
    if (text !== undefined && isKnown(text)) { known++; return; }
    fails++;
    if (shown++ < 40) console.log(`FAIL: ${name}${detail ? "\n    " + detail : ""}`);
}

const corpus = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", " \n", "\t\n ", "\r\n", "a  b", "a   b",
    "Hello world", " Hello world", "Hello World!", "hello, world.", "HELLO", "Hello\nworld",
    "The quick brown fox jumps over the lazy dog.", "I'm you're he's we'll they'd I've",
    "IT'S DON'T WE'LL", "e.g. i.e. etc.", "3.14159 2,718 1e-9 -42 +7 0x1F 1_000_000",
    "1 12 123 1234 12345 123456 1234567", "٣٤٥ ൧൨ 〡〢 ½ ²", "$9.99 €10 ¥500 £3 ₹80",
    "Café naïve façade coöperate résumé", "Cafe\u0301 e\u0301te\u0301 n\u0303",  // NFD accents
    "ﬁ ﬀ Ⅻ ｆｕｌｌ ｗｉｄｔｈ", "Ǆ ǅ ǆ ﬃ", "Straße STRASSE ß ẞ",
    "日本語のテキストです。", "中文测试：你好，世界！", "한국어 텍스트입니다.",
    "Русский текст, ёлки-палки.", "Ελληνικά κείμενα", "עברית טקסט", "العربية نص مكتوب",
    "हिन्दी पाठ", "தமிழ் உரை", "ภาษาไทยข้อความ", "Tiếng Việt có dấu",
    "🦙🦙 llama 🚀 emoji 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️", "😀😃😄😁😆😅😂🤣", "☃ ✓ ✗ → ← ↑ ↓ ∀ ∃ ∈ ∑ √ ∞",
    "def f(x):\n    return x ** 2  # square\n", "int main(void) {\n\tprintf(\"%d\\n\", 42);\n}\n",
    "if (a && b || !c) { x += 1; } else { y -= 2; }", "const s = `${a}${b}`;\n",
    "<html><body><p>Hello</p></body></html>", "<table><tr><td>1</td></tr></table>",
    "   leading and trailing   ", "tabs\tand\t\ttabs", "many          spaces",
    "\u00a0nbsp\u00a0\u2003em\u3000ideographic", "zero\u200bwidth\u200djoiner\ufeffbom",
    "line1\nline2\r\nline3\rline4", "\n\n\n\nfour newlines", "a\n\n\n\n\n\n\n\n\nb",
    "....!!!???,,,;;;", "'''\"\"\"```", "@user #tag http://example.com/a?b=c&d=e",
    "user@example.com", "--flag=value -x", "C:\\Windows\\System32", "~/.config/llmr",
    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
    "<think>\nreasoning\n</think>\n\nanswer", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<bos>text<eos>", "<|endoftext|>", "<s>[INST] hi [/INST]</s>", "<unused0><mask>[multimodal]",
    "<start_of_turn", "start_of_turn>", "<|im_start", "im_start|>", "<<|im_end|>>",
    "<|im_start|><|im_start|>", "x<|im_end|>y", " <|im_end|> ", "<start_of_turn> model",
    "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
    "\u0000\u0001\u0002 control \u001b[31mred\u001b[0m", "\ud7ff\ue000\uffff",
    "a".repeat(300), "ab ".repeat(100), "🦙".repeat(40), " ".repeat(70) + "x", "\n".repeat(40),
];

// Random texts from a fixed seed: runs of characters from many classes, where pre-tokenizer
// rules meet (letters after marks, digits after spaces, newlines inside spaces, ...).
function randomTexts(n) {
    let x = 0x9e3779b9;
    const rnd = (k) => {   // xorshift32: the same texts on every run
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        return x % k;
    };
    const pool = [..."aAzZéÉßøłİıǅ0189٣൧½²Ⅻ .,;:!?'\"`-_/\\()[]{}<>|@#$%^&*+=~" +
                  "\t\n\r\u00a0\u2003\u3000\u200b\u0301\u0303日本語中文한국어ภาษาРусΕλλעבالعربهिन्दी" +
                  "🦙😀👍🏽\u200d❤️🇫🇷"], words = ["'s", "'LL", "'re", "the", " the", "  ", "\n\n",
                  "123", "4567", "<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>",
                  "<think>", "</think>", "<|eot_id|>", "<s>", "</s>", "<bos>", "<0x41>", "▁", "▁▁"];
    const out = [];
    for (let i = 0; i < n; i++) {
        let t = "";
        for (let len = 1 + rnd(24); len > 0; len--)
            t += rnd(4) ? pool[rnd(pool.length)] : words[rnd(words.length)];
        out.push(t);
    }
    return out;
}

function texts() {
    const all = [...corpus, ...randomTexts(Number(process.env.HF_RANDOM || 400))];
    for (const f of inps) {
        try {
            all.push(...readFileSync(f, "utf8").split("\n__ggml_vocab_test__\n"));
        } catch { /* the .inp files come from ../shared, which may be absent */ }
    }
    // a lone surrogate cannot be written as UTF-8: JavaScript would write U+FFFD instead
    return all.filter((t) => !t.includes(SEP.trim()) && t === Buffer.from(t).toString());
}

function llmrIds(list, args) {
    const f = join(tmp, "in.txt");
    writeFileSync(f, list.join(SEP));
    const out = execFileSync(llmr, ["tokenize", "-m", gguf, ...args, "--split", SEP, "-f", f],
                             { encoding: "utf8", maxBuffer: 1 << 28 });
    return out.split("\n").slice(0, list.length)
        .map((l) => (l.trim() ? l.trim().split(" ").map(Number) : []));
}

function llmrText(idLists) {
    const f = join(tmp, "ids.txt");
    writeFileSync(f, idLists.map((v) => v.join(" ")).join("\n") + "\n");
    const out = execFileSync(llmr, ["detokenize", "-m", gguf, "--special", "--lines", f],
                             { encoding: "utf8", maxBuffer: 1 << 28 });
    return out.split("\n").slice(0, idLists.length).map((l) => JSON.parse(l));
}

const show = (s) => JSON.stringify(s.length > 80 ? s.slice(0, 80) + "..." : s);

function compareIds(list, mode, llmrArgs, addSpecial) {
    const got = llmrIds(list, llmrArgs);
    list.forEach((t, i) => {
        const want = hf.encode(t, { add_special_tokens: addSpecial }).ids;
        const same = want.length === got[i].length && want.every((v, k) => v === got[i][k]);
        check(`${mode} ${show(t)}`, same, `hf    ${JSON.stringify(want)}\n    llmr  ${JSON.stringify(got[i])}`, t);
    });
    return got;
}

const list = texts();
const ids = compareIds(list, "ids", ["--no-bos", "--special"], false);
compareIds(corpus.slice(0, 30), "ids+bos/eos", ["--special"], true);

// decoding: llmr's text of its ids is Hugging Face's text of the same ids. Without Hugging
// Face's clean_up_tokenization_spaces (" ?" -> "?"): a cosmetic step of its decode that
// llama.cpp and llmr do not take, since it would change what a model wrote.
const dec = llmrText(ids);
list.forEach((t, i) => {
    const want = ids[i].length ? hf.decode(ids[i], { skip_special_tokens: false,
        clean_up_tokenization_spaces: false }) : "";
    check(`decode ${show(t)}`, dec[i] === want, `hf    ${JSON.stringify(want)}\n    llmr  ${JSON.stringify(dec[i])}`, t);
});

// chat template: what transformers.js's apply_chat_template renders
const tmpl = typeof tcfg.chat_template === "string" ? tcfg.chat_template : null;
const tok = (k) => (typeof tcfg[k] === "string" ? tcfg[k] : tcfg[k]?.content ?? "");
if (tmpl) {
    const tools = [{ type: "function", function: { name: "get_weather", description: "Weather of a city",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const convs = {
        user: [{ role: "user", content: "Hello, how are you?" }],
        system: [{ role: "system", content: "You are a helpful assistant." },
                 { role: "user", content: "Hi" }],
        multi: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" },
                { role: "assistant", content: "Hi there! How can I help?" },
                { role: "user", content: "What is 2+2?\nAnswer in one word." }],
        think: [{ role: "user", content: "Q1" },
                { role: "assistant", content: "<think>\nlet me see\n</think>\n\nA1" },
                { role: "user", content: "Q2" }],
        tools: [{ role: "user", content: "Weather in Paris?" },
                { role: "assistant", content: "", tool_calls: [{ type: "function",
                    function: { name: "get_weather", arguments: { city: "Paris" } } }] },
                { role: "tool", content: "{\"temp\": 21}" }],
        tools_multi: [{ role: "system", content: "Use tools." }, { role: "user", content: "Paris and Rome?" },
                { role: "assistant", content: "Checking.", tool_calls: [
                    { type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } },
                    { type: "function", function: { name: "get_weather", arguments: "{\"city\": \"Rome\"}" } }] },
                { role: "tool", content: "21" }, { role: "tool", content: "25" },
                { role: "assistant", content: "Paris 21, Rome 25." }, { role: "user", content: "Thanks" }],
        parts: [{ role: "system", content: [{ type: "text", text: "Be kind." }] },
                { role: "user", content: [{ type: "text", text: "Hi" }, { type: "text", text: " there" }] }],
        reasoning: [{ role: "user", content: "2+2?" },
                    { role: "assistant", content: "4", reasoning_content: "add them" },
                    { role: "user", content: "3+3?" }, { role: "assistant", content: "6", reasoning_content: "again" }],
        unicode: [{ role: "user", content: "Ünïcödé 🦙 \"quotes\" \\ back\nslash\t<b>&amp;" }],
    };
    const tfile = join(tmp, "t.jinja");
    writeFileSync(tfile, tmpl);
    for (const [name, messages] of Object.entries(convs)) {
        for (const gen of [true, false]) {
            const useTools = name.startsWith("tools");
            let want;
            try {
                want = new Template(tmpl).render({ messages, add_generation_prompt: gen,
                    bos_token: tok("bos_token"), eos_token: tok("eos_token"),
                    ...(useTools ? { tools } : {}) });
            } catch (e) {
                want = { error: String(e.message || e) };
            }
            const mfile = join(tmp, "m.json");
            writeFileSync(mfile, JSON.stringify(useTools ? { messages, tools } : messages));
            let got;
            try {
                got = execFileSync(llmr, ["template", "--template-file", tfile, "--messages", mfile,
                    "--bos", tok("bos_token"), "--eos", tok("eos_token"),
                    ...(gen ? ["--add-generation-prompt"] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            } catch (e) {
                got = { error: String(e.stderr || e) };
            }
            // @huggingface/jinja lacks some of Python jinja2's filters on some types (trim on a
            // list, which Python turns into its repr first); those prompts are not compared
            if (typeof want !== "string" && /^Unknown \w+ filter/.test(want.error)) {
                console.log(`note: template ${name}: @huggingface/jinja: ${want.error}; not compared`);
                continue;
            }
            const ok = typeof want === "string" ? got === want : typeof got !== "string";
            if (typeof want === "string") rendered++; else refused++;
            check(`template ${name}${gen ? " +gen" : ""}`, ok,
                  `jinja ${JSON.stringify(want)}\n    llmr  ${JSON.stringify(got)}`);
        }
    }
}

rmSync(tmp, { recursive: true, force: true });
console.log(`${gguf}: ${list.length} texts${known ? `, ${known} known differences` : ""}, ` +
            `chat template: ${rendered} prompts rendered, ${refused} refused by both; ` +
            `${passes} passed, ${fails} failed`);
process.exit(fails ? 1 : 0);
