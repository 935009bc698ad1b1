#!/usr/bin/env python3
"""A small OpenAI-compatible streaming server for the router's tests (it stands in for vLLM,
llama.cpp's server or `llmr serve`). POST /v1/chat/completions and /v1/completions stream
chunks as OpenAI does ("data: {json}\\n\\n" ... "data: [DONE]\\n\\n"); GET /v1/models answers
200. The reply is "[NAME] " followed by the words of the last user message or prompt, one word
per chunk, so a test knows which backend answered and that no text was repeated.

The request's "model" field picks a behaviour (so one server covers many cases):
  ok         the reply as above (default; any unknown model name)
  crlf       the same with CRLF line ends, comment lines and an id: field
  bytes      the reply "caf\\u00e9 \\U0001F600 ok" written one byte per send()
  multiline  each chunk's JSON split over two data: lines
  500 / 429  an HTTP error with an OpenAI error object
  errchunk   one word, then an error chunk
  malformed  one word, then data that is not JSON
  drop       one word, then the connection closes without [DONE]
  errfirst   an error chunk before any text (status 200)
  garbagefirst  data that is not JSON before any text
  hang       headers, then silence (idle timeout)
  slow       one word every 0.2 s, 50 words (cancellation)
  roles      the roles of the chat request's messages, one per chunk (a whole conversation)
  think      "<think>I reason.</think>\n\nThe answer." in chunks that cut both tags
  tools      with "tools" in the request, a call of the tool tool_choice names (else the
             first), streamed as OpenAI does (index, id, name, then the arguments
             {"city": "Paris"} in fragments), a second call of the second tool when
             parallel_tool_calls is true, and finish_reason "tool_calls"; after a "tool"
             message, the text "[NAME] got " + its tool_call_id + ": " + its content
  tools-many     128 calls (indices 0..127, the last first), no ids, named f0..f127,
                 arguments {"i": N}: the most a reply may hold
  tools-bytes    one call whose arguments, {"s": "..."} with 20000 characters (some of
                 them multi-byte), arrive one character per chunk
  tools-index    a call, then a delta with index 128 (one past the limit)
  tools-notobj   a call, then a tool_calls array holding a string
  tools-big      a call whose arguments pass 1 MiB, in 64 KiB fragments
Flags: --name, --fail-first N (the first N completions get 503), --require-key KEY."""
import argparse, json, os, socket, socketserver, sys, time, http.server

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--name", default="mock")
ap.add_argument("--log", default=None)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--require-key", default=None)
args = ap.parse_args()
state = {"n": 0}

def chunk(text, chat, finish=None, model="m"):
    c = {"id": "x", "object": "chat.completion.chunk" if chat else "text_completion",
         "model": model, "choices": [{"index": 0, "finish_reason": finish}]}
    if chat:
        c["choices"][0]["delta"] = {"content": text} if text is not None else {}
    else:
        c["choices"][0]["text"] = text or ""
    return json.dumps(c, ensure_ascii=False)

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def log(self, line):
        if args.log:
            with open(args.log, "a") as f: f.write(line + "\n")

    def do_GET(self):
        if self.path.rstrip("/") in ("/v1/models", "/health"):
            body = json.dumps({"object": "list", "data": [{"id": args.name}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
        else:
            self.error(404, "no such path")

    def error(self, status, msg, typ="server_error"):
        body = json.dumps({"error": {"message": msg, "type": typ}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)

    def send(self, s):
        self.wfile.write(s.encode() if isinstance(s, str) else s)
        self.wfile.flush()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        chat = self.path.endswith("/chat/completions")
        if not self.path.startswith("/v1/") or not self.path.endswith("/completions"):
            return self.error(404, "no such path")
        state["n"] += 1
        mode = str(req.get("model", "ok"))
        self.log(f"POST {self.path} model={mode} auth={self.headers.get('Authorization','-')} "
                 f"body={json.dumps(req, sort_keys=True)}")
        if args.require_key and self.headers.get("Authorization") != "Bearer " + args.require_key:
            return self.error(401, "bad API key", "invalid_request_error")
        if state["n"] <= args.fail_first:
            return self.error(503, "overloaded, try later", "overloaded")
        if mode in ("500", "429"):
            return self.error(int(mode), "backend says " + mode,
                              "rate_limit_exceeded" if mode == "429" else "server_error")
        prompt = (req["messages"][-1]["content"] if chat else req.get("prompt", "")) or ""
        words = [f"[{args.name}]"] + prompt.split()
        if mode == "bytes":
            words = ["caf\u00e9", "\U0001F600", "ok"]
        if mode == "slow":
            words = [f"w{i}" for i in range(50)]
        if mode == "think":
            words = ["<thi", "nk>I re", "ason.</", "think>\n", "\nThe", " answer."]
        if mode == "roles":
            words = [f"[{args.name}]"] + [m["role"] for m in req.get("messages", [])]
        if mode == "tools" and chat:
            return self.tool_reply(req)
        if mode.startswith("tools-") and chat:
            return self.hostile_tools(mode)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        nl = "\r\n" if mode == "crlf" else "\n"
        if mode == "hang":
            time.sleep(30); return
        if mode == "crlf":
            self.send(": this is a comment" + nl + nl)
        if mode == "errfirst":
            self.send("data: " + json.dumps({"error": {"message": "model not ready",
                      "type": "overloaded"}}) + nl + nl)
            return
        if mode == "garbagefirst":
            self.send("data: <html>oops</html>" + nl + nl)
            return
        for i, w in enumerate(words):
            text = (w if i == 0 or mode == "think" else " " + w)
            c = chunk(text, chat, model=args.name)
            if mode == "multiline":
                cut = c.index('"choices"')
                ev = "data: " + c[:cut] + nl + "data: " + c[cut:] + nl + nl
            elif mode == "crlf":
                ev = f"id: {i}{nl}event: message{nl}data: {c}{nl}{nl}"
            else:
                ev = "data: " + c + nl + nl
            if mode == "bytes":
                for b in ev.encode():
                    self.send(bytes([b])); time.sleep(0.0005)
            else:
                self.send(ev)
            if mode == "slow":
                time.sleep(0.2)
            if i == 0 and mode in ("errchunk", "malformed", "drop"):
                if mode == "errchunk":
                    self.send("data: " + json.dumps({"error": {"message": "the GPU caught fire",
                              "type": "server_error"}}) + nl + nl)
                elif mode == "malformed":
                    self.send("data: {\"choices\": [oops" + nl + nl)
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
        self.send("data: " + chunk(None, chat, "stop", args.name) + nl + nl)
        self.send("data: [DONE]" + nl + nl)

    def tool_reply(self, req):
        msgs = req.get("messages", [])
        tools = req.get("tools") or []
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        def delta(d, finish=None):
            c = {"id": "x", "object": "chat.completion.chunk", "model": args.name,
                 "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}
            self.send("data: " + json.dumps(c) + "\n\n")
        if msgs and msgs[-1].get("role") == "tool":
            delta({"role": "assistant", "content": f"[{args.name}] got "})
            delta({"content": f"{msgs[-1].get('tool_call_id')}: {msgs[-1].get('content')}"})
            delta({}, "stop")
        elif tools:
            tc = req.get("tool_choice")
            name = tc["function"]["name"] if isinstance(tc, dict) else tools[0]["function"]["name"]
            names = [name] + ([tools[1]["function"]["name"]]
                              if req.get("parallel_tool_calls") and len(tools) > 1 else [])
            delta({"role": "assistant", "content": None})
            for i, n in enumerate(names):
                delta({"tool_calls": [{"index": i, "id": f"call_m{i}", "type": "function",
                                       "function": {"name": n, "arguments": ""}}]})
                for frag in ['{"ci', 'ty": "Pa', 'ris"}']:
                    delta({"tool_calls": [{"index": i, "function": {"arguments": frag}}]})
            delta({}, "tool_calls")
        else:
            delta({"role": "assistant", "content": f"[{args.name}] no tools"})
            delta({}, "stop")
        self.send("data: [DONE]\n\n")

    def hostile_tools(self, mode):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        def calls(tcs, finish=None):
            c = {"id": "x", "object": "chat.completion.chunk", "model": args.name,
                 "choices": [{"index": 0, "delta": {"tool_calls": tcs}, "finish_reason": finish}]}
            self.send("data: " + json.dumps(c) + "\n\n")
        first = {"index": 0, "id": "call_h", "type": "function",
                 "function": {"name": "f", "arguments": ""}}
        if mode == "tools-many":
            for i in reversed(range(128)):
                calls([{"index": i, "type": "function",
                        "function": {"name": f"f{i}", "arguments": json.dumps({"i": i})}}])
        elif mode == "tools-bytes":
            calls([first])
            text = json.dumps({"s": "".join("é€x😀"[i % 4] for i in range(20000))},
                              ensure_ascii=False)
            for ch in text:
                calls([{"index": 0, "function": {"arguments": ch}}])
        elif mode == "tools-index":
            calls([first])
            calls([{"index": 128, "function": {"arguments": "{}"}}])
        elif mode == "tools-notobj":
            calls([first])
            calls(["oops"])
        elif mode == "tools-big":
            calls([first])
            for _ in range(17):
                calls([{"index": 0, "function": {"arguments": "x" * 65536}}])
        calls([], "tool_calls")
        self.send("data: [DONE]\n\n")

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = S(("127.0.0.1", 0), H)
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f: f.write(str(srv.server_address[1]))
os.rename(tmp, args.port_file)
srv.serve_forever()
