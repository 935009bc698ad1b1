/* main.c - `llmr`: dispatches to one command per file (see cli.h). */
#include "cli/cli.h"
#include "core/util.h"
#include "llmr.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd commands[] = {
    {"info", cmd_info, "describe a GGUF model file",
     "usage: llmr info [--json] [--tensors] MODEL.gguf\n"
     "  Prints architecture, size, hyper-parameters, tokenizer and tensor types.\n"
     "  --json     one JSON object (gguf_version, architecture, n_params, n_vocab, ...)\n"
     "  --tensors  also list every tensor: name, type, shape, offset\n"
     "Exit status: 0 ok, 1 bad input, 2 usage error.\n"},
    {"eval", cmd_eval, "print a model's logits for given token ids",
     "usage: llmr eval -m MODEL --ids 1,403,407 [--all] [--json] [-t N] [-c N] [--kv TYPE]\n"
     "                 [--cache-type-k TYPE] [--cache-type-v TYPE]\n"
     "  Evaluates the ids from position 0 and prints the logits after the last id, or after\n"
     "  every id with --all.\n"
     "  --json      {\"n_vocab\": N, \"logits\": [[...], ...]} (one row per position printed)\n"
     "  -t N        threads (default: physical cores)\n"
     "  -c N        context length (default: the model's, at least the number of ids)\n"
     "  --kv TYPE   KV cache type of keys and values: f32 (default here, for exact\n"
     "              comparisons), f16, q8_0 or q4_0\n"
     "  -ctk, --cache-type-k TYPE / -ctv, --cache-type-v TYPE  the K or V cache alone\n"
     "Exit status: 0 ok, 1 bad input, 2 usage error.\n"},
    {"synth", cmd_synth, "write a random-weight model of a real model's shape",
     "usage: llmr synth --shape SHAPE --type TYPE --vocab VOCAB.gguf -o OUT.gguf [--pure]\n"
     "                  [--seed N] [--layers N] [-t N]\n"
     "  SHAPE: tinyllama-1.1b stories15m stories42m stories110m llama2-7b smollm-135m\n"
     "         qwen2-0.5b; ARCH-tiny (every feature of the family, a few layers) and\n"
     "         ARCH-1b for ARCH gemma gemma2 gemma3 phi3 qwen3; llama-moe-tiny, qwen2moe-tiny,\n"
     "         qwen3moe-tiny, llama-moe-1b (experts); encoders bert-tiny nomic-bert-tiny\n"
     "         bert-large. The tokenizer (and vocabulary size) comes from VOCAB.gguf.\n"
     "         --layers changes the depth.\n"
     "  TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL Q4_K_M\n"
     "        Q5_K_M (default F16); --pure uses TYPE for every matrix, else llama.cpp's mix\n"
     "        rules apply (output.weight Q6_K, _M mixes).\n"
     "Exit status: 0 ok, 1 bad input, 2 usage error.\n"},
    {"quantize", cmd_quantize, "convert an F32/F16/BF16 model to a quantized type (or repack)",
     "usage: llmr quantize IN.gguf OUT.gguf TYPE [--pure] [--repack] [-t N]\n"
     "       llmr quantize --repack IN.gguf OUT.gguf\n"
     "  TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL Q4_K_M\n"
     "        Q5_K_M. Without --pure, llama.cpp's rules choose per tensor (output.weight\n"
     "        Q6_K; Q4_K_M: Q6_K for some attn_v and ffn_down layers). Norms stay F32.\n"
     "  --repack  store the layers' products and output.weight in the row-interleaved\n"
     "            layouts the loader makes (Q4_0_R8, Q8_0_R8, IQ4_NL_R8, F16_R16, ...: llmr's\n"
     "            own type ids, 0x10000 | rows << 8 | plain id), so loading converts\n"
     "            nothing; a CPU or LLMR_REPACK setting that keeps a type plain converts it\n"
     "            back at load. Without TYPE, any file (already quantized too) keeps its\n"
     "            types and is only rearranged. Other programs cannot read such a file.\n"
     "  Tensors are written as they are made: memory stays near one tensor's size.\n"
     "Exit status: 0 ok, 1 bad input, 2 usage error.\n"},
    {"bench", cmd_bench, "measure prompt and generation speed (like llama-bench)",
     "usage: llmr bench -m MODEL [-m MODEL...] [-p 512] [-n 128] [-d 0] [-t 1,2] [-r 5]\n"
     "                  [--json] [-o md|json] [-ctk TYPE] [-ctv TYPE]\n"
     "  -p LIST   prompt lengths (ppN tests: N random tokens in one batch; 0 skips)\n"
     "  -n LIST   generation lengths (tgN tests: N tokens one at a time; 0 skips)\n"
     "  -d LIST   depths: run every test with N tokens already in the KV cache (default 0;\n"
     "            they are evaluated once per depth, untimed; the JSON gives n_depth)\n"
     "  -ctk, --cache-type-k TYPE, -ctv, --cache-type-v TYPE   KV cache types: f16\n"
     "            (default), f32, q8_0, q4_0 (V as K unless given; --kv TYPE sets both)\n"
     "  -t LIST   thread counts (default: physical cores)\n"
     "  -r N      timed repetitions after one warm-up (default 5)\n"
     "  --json    a list of objects with llama-bench's keys (model_type, model_size,\n"
     "            model_n_params, n_threads, n_prompt, n_gen, avg_ts, stddev_ts, samples_ts...)\n"
     "Exit status: 0 ok, 1 bad input, 2 usage error.\n"},
    {"tensor", cmd_tensor, "show or fingerprint one tensor's values",
     "usage: llmr tensor MODEL.gguf NAME [--sha256] [-n N]\n"
     "  Dequantizes tensor NAME (any supported type) to float32.\n"
     "  --sha256   print only the SHA-256 of the values (little-endian float32, row-major as\n"
     "             stored; llama.cpp's to_float gives the same bytes)\n"
     "  -n N       without --sha256: how many leading values to print (default 8)\n"
     "  Without --sha256 prints name, type, shape (ne[0] first), elements, bytes, values.\n"
     "Exit status: 0 ok, 1 bad input (unreadable file, no such tensor, unsupported type),\n"
     "2 usage error.\n"},
    {"run", cmd_run, "generate a continuation of a prompt, streamed",
     "usage: llmr run [-m MODEL] [options] \"PROMPT\"\n"
     "       llmr run MODEL [options] \"PROMPT\"      (ollama's form)\n"
     "  Prints only the generated continuation of PROMPT, piece by piece as it is generated.\n"
     "  Flags may come before or after PROMPT; after \"--\" everything is the prompt.\n"
     "  -m, --model MODEL        a GGUF file, a name from `llmr ls`, an alias, NAME:TAG, a\n"
     "                           URL or hf:ORG/REPO/FILE.gguf (downloaded on first use);\n"
     "                           default: the shipped stories260K (said on stderr)\n"
     "  -n, --max-tokens N       tokens to generate at most (default 256; 0: none, the\n"
     "                           prompt is only evaluated; -1: until the context is full)\n"
     "  --temp T                 temperature, 0 = greedy (default 0.8)\n"
     "  --top-k K                keep the K most likely tokens, 0 = off (default 40)\n"
     "  --top-p P                nucleus sampling, in (0,1], 1 = off (default 0.95)\n"
     "  --min-p P                drop tokens below P times the top one (default 0.05)\n"
     "  --typical P              locally typical sampling, 1 = off (default 1)\n"
     "  --repeat-penalty R       penalise repeats of recent tokens, 1 = off (default 1)\n"
     "  --presence-penalty P     subtract P from tokens seen recently (default 0)\n"
     "  --frequency-penalty P    subtract P per occurrence (default 0)\n"
     "  --seed S                 sampling seed: the same seed gives the same text\n"
     "  --stop S                 end before text S (repeatable, up to 16)\n"
     "  --grammar-file F         constrain the output to the GBNF grammar in F\n"
     "  --json-schema S          constrain the output to the JSON schema S (JSON text, or a\n"
     "                           file holding it)\n"
     "  -t, --threads N          compute threads (default: physical cores)\n"
     "  -c, --ctx-size N         context length (default: the model's, at most 4096)\n"
     "  -ctk, --cache-type-k T   KV cache type of the keys: f16 (default), f32, q8_0, q4_0\n"
     "  -ctv, --cache-type-v T   of the values (default: as the keys)\n"
     "  --chat                   wrap PROMPT as a user message in the model's chat template\n"
     "  --verbose                print prompt and generation speed and time to first token\n"
     "                           on stderr\n"
     "Exit status: 0 ok, 1 bad input (model, file, grammar, prompt too long), 2 usage error.\n"},
    {"chat", cmd_chat, "chat with a model in the terminal",
     "usage: llmr chat -m MODEL [--system TEXT] [--history FILE] [options]\n"
     "  An interactive conversation using the model's chat template; the reply streams as it\n"
     "  is generated. Line editing and history (libedit; ~/.llmr_history or $LLMR_HISTORY).\n"
     "  A line starting with \"\"\" begins a multi-line message, ended by a line ending with\n"
     "  \"\"\". Ctrl-C stops a reply; Ctrl-D or /bye exits; /help lists the commands.\n"
     "  When stdin is not a terminal, each line is one message and only replies are printed.\n"
     "  Options as for `llmr run`: -n (but not 0), --temp, --top-k, --top-p, --min-p,\n"
     "  --typical, --repeat-penalty, --presence-penalty, --frequency-penalty, --seed, --stop,\n"
     "  -t, -c, -ctk, -ctv.\n"
     "  When the conversation outgrows the context, the oldest exchanges are dropped with a\n"
     "  notice.\n"
     "Exit status: 0 ok, 1 bad input (model), 2 usage error.\n"},
    {"template", cmd_template, "render a chat template with a message list",
     "usage: llmr template --template-file T.jinja --messages M.json [--add-generation-prompt]\n"
     "                     [--bos TEXT] [--eos TEXT] [--date YYYY-MM-DD]\n"
     "  Renders the Jinja2 chat template T with the messages in M (a JSON array of messages,\n"
     "  or an object with \"messages\" and optional \"tools\") the way Hugging Face's\n"
     "  apply_chat_template does, and prints the prompt on stdout with nothing added.\n"
     "  --bos, --eos  the template's bos_token / eos_token (default empty)\n"
     "  --date        the date strftime_now() sees (default today)\n"
     "Exit status: 0 ok, 1 the template failed (its error on stderr), 2 usage error.\n"},
    {"serve", cmd_serve, "serve models over HTTP (OpenAI, ollama, WebSocket, web page)",
     "usage: llmr serve -m MODEL.gguf [--host 127.0.0.1] [--port 8080] [--parallel N]\n"
     "                  [--ctx-size N] [-t N] [--api-key KEY] [--cors ORIGIN] [limits...]\n"
     "       llmr serve --config ROUTER.json [the same options but -m, --alias, --models-dir]\n"
     "  Serves the model to many clients at once, with continuous batching: N sequences\n"
     "  (--parallel, default 4), each with its OWN KV cache of --ctx-size positions (default\n"
     "  2048), advance together in one batched forward pass per token.\n"
     "  With --config it serves every model of a router config (the format of `llmr route\n"
     "  --config`: local GGUF models and remote OpenAI-compatible backends, strategy, memory\n"
     "  budget, keep_alive): each loaded local model gets its own batching scheduler. A\n"
     "  request picks its model by id or alias in \"model\"; \"auto\" (or none) lets the\n"
     "  strategy choose, overridden per request by a \"strategy\" field or an X-LLMR-Strategy\n"
     "  header. A model that fails before its first text (a dead backend, a full queue) hands\n"
     "  the request to the next candidate. Replies name the answering model (\"model\" fields,\n"
     "  X-LLMR-Model header). DELETE /api/models/ID unloads a model (409 while in use).\n"
     "  Routes: POST /v1/chat/completions, /v1/completions, GET /v1/models (OpenAI, SSE);\n"
     "  POST /api/generate, /api/chat, GET /api/tags, /api/ps, /api/version (ollama, NDJSON);\n"
     "  /ws (WebSocket chat: welcome, chat, stream_start, token, stream_end, stop);\n"
     "  GET /api/health, /api/models, POST /api/models/load, DELETE /api/models/ID;\n"
     "  GET / (web page); GET /health, /metrics (Prometheus); GET /browser/ (the browser\n"
     "  package, its example page, /browser/model.gguf), GET /api/models/ID/gguf.\n"
     "  --config FILE        serve the models of a router config instead of one -m model\n"
     "  --host ADDR          address to listen on (default 127.0.0.1)\n"
     "  --port N             TCP port (default 8080; 0: any free port)\n"
     "  --parallel N, -np N  sequences generated at once, one KV slot each (1..64, default 4;\n"
     "                       with --config: per loaded local model)\n"
     "  --ctx-size N, -c N   KV positions of each slot (default 2048)\n"
     "  -ctk, --cache-type-k T, -ctv, --cache-type-v T   KV cache types: f16 (default),\n"
     "                       f32, q8_0, q4_0 (V as K unless given)\n"
     "  -t N, --threads N    compute threads (default: physical cores; with --config: of\n"
     "                       each local model whose config sets no \"threads\")\n"
     "  --api-key KEY        require 'Authorization: Bearer KEY' on every route but /health\n"
     "                       (the web page and /ws also take ?api_key=KEY)\n"
     "  --metrics-key KEY    a second key that /metrics accepts (for a scraper)\n"
     "  --cors ORIGINS       let these web origins (comma-separated, or *) call the API from\n"
     "                       a page (default: no CORS headers; preflights refused)\n"
     "  --alias NAME         the model's name for clients (default: file name without .gguf)\n"
     "  --models-dir DIR     folder /api/models lists and loads from (default: the model's)\n"
     "  --browser-dir DIR    the browser package (llm-runner-router's dist/, built by\n"
     "                       scripts/build-wasm.sh) served at /browser/ with the guide's\n"
     "                       example page, cross-origin isolated (COOP/COEP) so that the\n"
     "                       WebAssembly engine runs threads (default: js/dist of the source\n"
     "                       tree this llmr was built from, when it exists; \"\": none)\n"
     "  --max-body BYTES     request body limit (default 1048576) -> 413\n"
     "  --max-tokens N       generated tokens per request, cap and default (default 2048)\n"
     "  --max-prompt N       prompt tokens per request (default: the slot's context)\n"
     "  --timeout S          wall time per request, queueing included (default 600)\n"
     "  --queue N            requests waiting for a slot before 503 + Retry-After (default 64)\n"
     "  --shutdown-timeout S on SIGTERM/SIGINT, in-flight requests get S seconds (default 10)\n"
     "  --no-log             no access log on stderr\n"
     "  Slow and idle clients (each open connection holds one of the server's threads):\n"
     "  --read-timeout S     a request's headers must arrive within S seconds, then its\n"
     "                       body within S more, or it is cut off (default 10)\n"
     "  --ws-idle S          a WebSocket silent for S seconds gets a ping, and is closed\n"
     "                       (1001) when silent S more (default 60)\n"
     "  --max-conns-per-addr N  connections at once from one client address; more get 429\n"
     "                       and are closed at once (default 32; 0: no cap). The server\n"
     "                       runs parallel + queue + N + 16 threads, so /health and /metrics\n"
     "                       are answered while slots, queue and one address's share are full\n"
     "Exit status: 0 after a clean shutdown, 1 when it cannot listen, 2 usage error or a config\n"
     "that cannot be used (the message names the key and what is wrong; nothing listens).\n"},
    {"tokenize", cmd_tokenize, "print the token ids of a text",
     "usage: llmr tokenize -m MODEL [--no-bos] [--special] [--pieces] [--bench] [--split SEP]\n"
     "                     (TEXT | -f FILE)\n"
     "  Prints the ids the model's tokenizer gives for TEXT (or FILE, - for stdin),\n"
     "  space-separated on one line.\n"
     "  --no-bos   add no special tokens at all (no BOS, EOS, [CLS] or [SEP])\n"
     "  --special  read control-token text such as <|eot_id|> as those tokens (by default\n"
     "             it is tokenized as plain text)\n"
     "  --pieces   one token per line: ID, a tab, and its text as a quoted literal\n"
     "  --bench    tokenize the text repeatedly on one thread and print MB/s\n"
     "  --split SEP  tokenize each part of the text between occurrences of SEP on its own,\n"
     "             one line of ids per part (a whole corpus in one run)\n"
     "Invalid UTF-8 is not rejected: each invalid byte is read as U+FFFD (with a warning).\n"
     "Exit status: 0 ok, 1 bad input, 2 usage error.\n"},
    {"detokenize", cmd_detokenize, "print the text of token ids",
     "usage: llmr detokenize -m MODEL [--special] (ID... | --lines FILE)\n"
     "  Prints the text of the ids (separate arguments, or one argument with spaces or\n"
     "  commas) exactly, without a newline added. SentencePiece's leading space is removed.\n"
     "  --special  print control tokens (<s>, <|eot_id|>) as their text; by default they\n"
     "             print nothing\n"
     "  --lines FILE  one id list per line of FILE (- for stdin); prints the text of each\n"
     "             as a JSON string, one per line\n"
     "Exit status: 0 ok, 1 bad input (id out of range, bad model), 2 usage error.\n"},
    {"vocab", cmd_vocab, "write a vocabulary-only GGUF from a Hugging Face tokenizer.json",
     "usage: llmr vocab --from-hf tokenizer.json [--config tokenizer_config.json]\n"
     "                  [--name NAME] -o OUT.gguf\n"
     "  Converts a BPE tokenizer.json, byte-level (GPT-2, Llama 3, Qwen: tokenizer model\n"
     "  gpt2 with merges and the pre-tokenizer of its split regex) or SentencePiece-style\n"
     "  (Llama 2, Gemma: model llama with scores), with the keys llama.cpp's converter\n"
     "  writes. The file tokenizes with `llmr tokenize -m OUT.gguf` and gives\n"
     "  `llmr synth --vocab` its vocabulary.\n"
     "  --config F  tokenizer_config.json: BOS/EOS/UNK/PAD, add_bos_token, add_eos_token,\n"
     "              chat_template (without it, BOS/EOS come from the post-processor)\n"
     "  --name N    general.name (a Phi-3 name turns on its special tokens' rstrip)\n"
     "Exit status: 0 ok, 1 bad input (the message names the key), 2 usage error.\n"},
    {"embed", cmd_embed, "print the embedding of each text as JSON",
     "usage: llmr embed -m MODEL [--pooling none|mean|cls|last] [--no-normalize]\n"
     "                  [--no-special] [-t N] [-c N] TEXT...\n"
     "  Embeds every TEXT in one batch with the model (an encoder such as bert or\n"
     "  nomic-bert, or a decoder) and prints {\"dim\": N, \"pooling\": P, \"n_tokens\":\n"
     "  [...], \"embeddings\": [[...], ...]}: one vector per TEXT, or with pooling none one\n"
     "  per token of each.\n"
     "  --pooling P      default: the model's <arch>.pooling_type; without one, mean for\n"
     "                   encoders and last for decoders\n"
     "  --no-normalize   print the vectors as the model gives them (default: L2-normalised)\n"
     "  --no-special     add no special tokens ([CLS], [SEP], BOS)\n"
     "  -t N, -c N       threads; context of a decoder (an encoder's is its own)\n"
     "Exit status: 0 ok, 1 bad input (empty TEXT, TEXT over the context, bad model),\n"
     "2 usage error.\n"},
    {"route", cmd_route, "route a prompt over several models (local and remote) by a strategy",
     "usage: llmr route --config FILE [--explain | --status] [options] \"PROMPT\"\n"
     "  Opens the router described by FILE (JSON: models, backends, strategy, budgets;\n"
     "  see include/llmr.h) and streams the answer of the best model on stdout; the model\n"
     "  that answered is named on stderr as [answered by ID].\n"
     "  --explain            print the ranking of the models for PROMPT and why; run nothing\n"
     "  --status             print every model's state as JSON\n"
     "  -s, --strategy NAME  quality-first, cost-optimized, speed-priority, balanced,\n"
     "                       round-robin, least-loaded, capability-match, random\n"
     "  -m, --model ID       use this model (id or alias) first; --strict: only it\n"
     "  --chat, --json       the request needs a chat model / JSON mode\n"
     "  --min-context N      the request needs N tokens of context\n"
     "  -n, --max-tokens N   tokens to generate at most (default 256; -1: until the\n"
     "                       context is full)\n"
     "  --temp T, --seed S, --stop TEXT   sampling and stop sequences\n"
     "  --cache, --no-cache  force the result cache on (even when sampling) or off\n"
     "  -q, --quiet          do not name the model on stderr\n"
     "Exit status: 0 ok, 1 failed (config error, every candidate failed), 2 usage error.\n"},
    {"pull", cmd_pull, "download a model into the cache (URL, hf:, ollama:) or check a path",
     "usage: llmr pull [--sha256 HEX] [--quiet] [--attempts N] [--registry URL] SOURCE\n"
     "  SOURCE: a .gguf path, a directory (every .gguf in it), an http(s) URL,\n"
     "  hf:ORG/REPO/FILE.gguf (https://huggingface.co/ORG/REPO/resolve/main/FILE.gguf), or\n"
     "  ollama:[NAMESPACE/]MODEL[:TAG] from an ollama registry (its manifest, then the model\n"
     "  layer's blob, checked against its sha256), cached as MODEL-TAG.gguf so that\n"
     "  `-m MODEL:TAG` finds it.\n"
     "  Downloads go to $LLMR_CACHE_DIR (default ~/.cache/llmr), resume after an\n"
     "  interruption, and are kept only when they are GGUF files matching --sha256.\n"
     "  The local path is printed as the last line of stdout (one line per file).\n"
     "  --sha256 HEX  the file's expected SHA-256 (64 hex digits)\n"
     "  --quiet       no progress bar on stderr\n"
     "  --attempts N  connections tried, each resuming the last (default 4)\n"
     "  --registry URL  the ollama registry (default $LLMR_OLLAMA_REGISTRY, else\n"
     "                https://registry.ollama.ai)\n"
     "Exit status: 0 ok, 1 failed, 2 usage error.\n"},
    {"ls", cmd_ls, "list the models in the download cache",
     "usage: llmr ls [--json]\n"
     "  Lists $LLMR_CACHE_DIR (default ~/.cache/llmr): name (what -m takes), size, file type,\n"
     "  architecture, parameters, modification time; unfinished downloads are marked\n"
     "  partial.\n"
     "  --json  {\"cache_dir\", \"models\": [{\"name\" (file name), \"model\", \"path\", \"size\",\n"
     "          \"mtime\", \"partial\", \"type\", \"architecture\", \"n_params\"}]}\n"
     "Exit status: 0 ok, 1 failed, 2 usage error.\n"},
    {"rm", cmd_rm, "remove models from the download cache",
     "usage: llmr rm NAME...\n"
     "  Removes each NAME (as `llmr ls` prints it, .gguf optional) and its unfinished\n"
     "  download from the cache.\n"
     "Exit status: 0 ok, 1 a NAME was not in the cache, 2 usage error.\n"},
    {"alias", cmd_alias, "give a model a short name that every -m accepts",
     "usage: llmr alias [NAME [TARGET]] | llmr alias --rm NAME\n"
     "  llmr alias NAME TARGET  makes NAME stand for TARGET (a path, a cached name, NAME:TAG,\n"
     "                         a URL or hf: id; it must name a model now)\n"
     "  llmr alias [NAME]       lists the aliases (or NAME's)\n"
     "  llmr alias --rm NAME    removes NAME\n"
     "  Aliases live in $LLMR_CACHE_DIR/aliases.json.\n"
     "Exit status: 0 ok, 1 failed (unknown target or alias), 2 usage error.\n"},
    {"show", cmd_show, "describe a model: architecture, parameters, template, licence",
     "usage: llmr show NAME [--template | --parameters | --metadata | --license]\n"
     "  NAME as -m takes it. Prints, from the GGUF file: architecture, parameters, context\n"
     "  length, embedding length, quantization, chat template family, the parameters llmr\n"
     "  runs it with (stop tokens, context, sampling defaults) and the licence's first line.\n"
     "  --template    the chat template, raw\n"
     "  --parameters  the parameters alone, one per line\n"
     "  --metadata    every GGUF key and value (long strings and arrays shortened)\n"
     "  --license     the licence text (general.license)\n"
     "Exit status: 0 ok, 1 bad input (unknown name, unreadable file), 2 usage error.\n"},
    {"ps", cmd_ps, "list the models a running llmr serve has loaded",
     "usage: llmr ps [--host 127.0.0.1] [--port 8080] [--api-key KEY]\n"
     "  Asks a running `llmr serve` (GET /api/ps) which models are in memory: name, id (the\n"
     "  file's sha256), size, state and when keep_alive unloads it. The server is\n"
     "  $LLMR_HOST (HOST:PORT or a URL) when set and no flag is given; the key $LLMR_API_KEY.\n"
     "Exit status: 0 ok, 1 no server answered (or it refused), 2 usage error.\n"},
    {"stop", cmd_stop, "unload a model from a running llmr serve",
     "usage: llmr stop NAME [--host 127.0.0.1] [--port 8080] [--api-key KEY]\n"
     "  Unloads NAME (as `llmr ps` prints it; NAME:latest is NAME) from a running\n"
     "  `llmr serve` (DELETE /api/models/NAME); it loads again on its next request. A model\n"
     "  busy with requests is not unloaded (the server answers 409). Server as for `llmr ps`.\n"
     "Exit status: 0 ok, 1 failed (no server, unknown or busy model), 2 usage error.\n"},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

const cli_cmd *cli_find(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmr %s: usage error: ", cmd);
    vfprintf(stderr, fmt, ap);
    /* one line: the mistake stays on screen, not above a page of help */
    fprintf(stderr, "; see 'llmr help %s'\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llmr %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_BAD_INPUT;
}

bool cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool cli_parse_float(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || isnan(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static void print_help(FILE *to)
{
    fprintf(to, "llmr %s - local LLM runner and router\n\n"
                "usage: llmr COMMAND [ARGS]\n\ncommands:\n", llmr_version());
    for (size_t i = 0; i < n_commands; i++)
        fprintf(to, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n`llmr help COMMAND` shows a command's flags.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "-V") || !strcmp(name, "version")) {
        printf("llmr %s\n", llmr_version());
        return CLI_OK;
    }
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        print_help(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            print_help(stdout);
            return CLI_OK;
        }
        if (!strcmp(argv[2], "--man")) {           /* llmr.1, written at build time */
            cli_print_man(stdout, commands, n_commands);
            return CLI_OK;
        }
        const cli_cmd *c = cli_find(argv[2]);
        if (!c) {
            fprintf(stderr, "llmr: no command '%s' (see llmr --help)\n", argv[2]);
            return CLI_USAGE;
        }
        fputs(c->usage, stdout);
        return CLI_OK;
    }
    const cli_cmd *c = cli_find(name);
    if (!c) {
        fprintf(stderr, "llmr: no command '%s' (see llmr --help)\n", name);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(c->usage, stdout);
            return CLI_OK;
        }
    return c->run(argc - 1, argv + 1);
}

long cli_cap_threads(const char *cmd, const char *flag, long n)
{
    const int cpus = llmri_cpu_count();
    if (n <= cpus)
        return n;
    fprintf(stderr, "llmr %s: warning: %s %ld is more threads than the %d CPUs this process may "
            "use; using %d\n", cmd, flag, n, cpus, cpus);
    return cpus;
}

bool cli_parse_threads(const char *cmd, const char *flag, const char *v, long lo, long *out)
{
    if (!cli_parse_long(v, lo, 1024, out)) {
        cli_usage_error(cmd, "%s: '%s' is not a thread count in %ld..1024", flag, v, lo);
        return false;
    }
    *out = cli_cap_threads(cmd, flag, *out);
    return true;
}
