# soak.py PORT SECONDS SEED MAX_BODY - the client side of tests/server/soak.sh (not run on
# its own). Worker threads, each with its own random.Random(SEED + i) so that what is sent is
# the same every run, mix for SECONDS: OpenAI SSE and ollama NDJSON streams (some abandoned
# mid-stream), WebSocket chats (some stopped, some abandoned, some sent bad frames), and
# hostile HTTP requests (deep JSON, bodies over the limit, lying Content-Lengths, garbage).
# Prints one line per kind of outcome and "unexpected: N"; exits 1 when anything unexpected
# happened (a stream that did not end properly, a status that no request should get).
import http.client, json, os, random, socket, struct, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_raw import WS

PORT, SECONDS, SEED, MAX_BODY = (int(a) for a in sys.argv[1:5])
DEPTH = 5000     # nesting of the deep JSON bodies (far past the limit of 64; the bodies fit --max-body)
WORKERS = 10
lock = threading.Lock()
counts, unexpected = {}, []


def note(kind, ok=True, why=""):
    with lock:
        counts[kind] = counts.get(kind, 0) + 1
        if not ok:
            unexpected.append("%s: %s" % (kind, why))


def conn():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)


BUSY = (429, 503)   # a full queue (503) or, never here, the per-address cap


def openai_stream(r):
    c = conn()
    body = {"messages": [{"role": "user", "content": r.choice(["Hi", "Tell a story", "Once"])}],
            "max_tokens": r.randint(1, 48), "stream": True, "temperature": r.random()}
    c.request("POST", "/v1/chat/completions", json.dumps(body),
              {"Content-Type": "application/json"})
    resp = c.getresponse()
    if resp.status in BUSY:
        return note("openai busy")
    if resp.status != 200:
        return note("openai", False, "status %d" % resp.status)
    leave = r.random() < 0.35
    cut = r.randint(1, 6)
    lines = 0
    while True:
        line = resp.readline()
        if not line:
            return note("openai", False, "the stream ended without [DONE]")
        if line.startswith(b"data: "):
            lines += 1
            if line.strip() == b"data: [DONE]":
                return note("openai stream completed")
            if leave and lines >= cut:
                c.sock.shutdown(socket.SHUT_RDWR)
                c.close()
                return note("openai stream abandoned")


def ollama_stream(r):
    c = conn()
    body = {"prompt": r.choice(["Hi", "Once upon a time", "The cat"]), "stream": True,
            "options": {"num_predict": r.randint(1, 48), "seed": r.randint(0, 99)}}
    c.request("POST", "/api/generate", json.dumps(body), {"Content-Type": "application/json"})
    resp = c.getresponse()
    if resp.status in BUSY:
        return note("ollama busy")
    if resp.status != 200:
        return note("ollama", False, "status %d" % resp.status)
    leave = r.random() < 0.35
    cut = r.randint(1, 6)
    n = 0
    while True:
        line = resp.readline()
        if not line:
            return note("ollama", False, "the stream ended before done")
        n += 1
        if json.loads(line).get("done"):
            return note("ollama stream completed")
        if leave and n >= cut:
            c.close()
            return note("ollama stream abandoned")


def ws_session(r):
    w = WS(PORT, timeout=60)
    if w.status != 101:
        return note("ws", False, "handshake %d" % w.status)
    assert w.recv_json()["type"] == "welcome"
    how = r.choice(["complete", "complete", "stop", "leave", "bad"])
    if how == "bad":
        op = r.choice(["unmasked", "opcode", "rsv", "binary", "big", "utf8", "deep"])
        if op == "unmasked":
            w.s.sendall(bytes([0x81, 2]) + b"{}")
        elif op == "opcode":
            w.frame(r.choice([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), b"x")
        elif op == "rsv":
            w.frame(1, b"{}", rsv=r.choice([1, 2, 4]))
        elif op == "binary":
            w.frame(2, os.urandom(16))
        elif op == "big":
            w.frame(1, b"", length=MAX_BODY + 1)
        elif op == "utf8":
            w.frame(1, b'{"type":"chat","content":"\xc3\x28"}')
        else:
            w.frame(1, "[" * DEPTH + "]" * DEPTH)
            m = w.recv_json()
            ok = m.get("type") == "error"
            w.close()
            return note("ws deep JSON answered with an error", ok, str(m))
        code = w.expect_close()
        want = {"unmasked": 1002, "opcode": 1002, "rsv": 1002, "binary": 1003, "big": 1009,
                "utf8": 1007}[op]
        w.close()
        return note("ws bad frame closed (%s)" % op, code == want, "close %r" % code)
    w.send_json({"type": "chat", "content": r.choice(["Hi", "A story"]),
                 "max_tokens": r.randint(2, 48)})
    first = w.recv_json()
    if first["type"] == "error":
        w.close()
        busy = "queue" in first["message"] or "busy" in first["message"]
        return note("ws busy" if busy else "ws", busy, first["message"])
    if how == "leave":
        w.s.shutdown(socket.SHUT_RDWR)
        w.close()
        return note("ws abandoned")
    if how == "stop":
        w.send_json({"type": "stop"})
    while True:
        m = w.recv_json()
        if m["type"] == "stream_end":
            break
        if m["type"] != "token":
            w.close()
            return note("ws", False, str(m))
    w.frame(8, struct.pack(">H", 1000))
    code = w.expect_close()
    w.close()
    note("ws chat " + ("stopped" if how == "stop" else "completed"), code == 1000,
         "close %r" % code)


def raw(data, read=True):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=60)
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    if read:
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
                if b"\r\n\r\n" in out:
                    head = out.split(b"\r\n\r\n")[0].lower()
                    if b"content-length: " in head:
                        n = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
                        if len(out.split(b"\r\n\r\n", 1)[1]) >= n:
                            break
        except OSError:
            pass
    s.close()
    return out


def status(out):
    try:
        return int(out.split(b" ")[1])
    except (IndexError, ValueError):
        return 0


ROUTES = ["/v1/chat/completions", "/v1/completions", "/api/generate", "/api/chat"]


def post(route, body, extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n%s\r\n" % (route.encode(), len(body),
                                                                    extra)) + body


def hostile(r):
    kind = r.choice(["deep", "deep_obj", "huge", "lying_length", "garbage", "bad_json",
                     "bad_chunked", "header_flood"])
    route = r.choice(ROUTES)
    if kind in ("deep", "deep_obj"):
        deep = (b"[" * DEPTH + b"]" * DEPTH if kind == "deep" else
                b'{"a":' * DEPTH + b"1" + b"}" * DEPTH)
        body = deep if kind == "deep" else b'{"model":' + deep + b',"prompt":"x"}'
        st = status(raw(post(route, body)))
        return note("hostile %s -> %d" % (kind, st), st == 400, "status %d" % st)
    if kind == "huge":
        st = status(raw(post(route, b"x" * (MAX_BODY + 1 + r.randint(0, 1000)))))
        return note("hostile huge -> %d" % st, st == 413, "status %d" % st)
    if kind == "lying_length":
        # Claims more than it sends, then leaves.
        raw(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"a\"" %
            route.encode(), read=False)
        return note("hostile lying length")
    if kind == "garbage":
        raw(bytes(r.getrandbits(8) for _ in range(r.randint(1, 3000))), read=False)
        return note("hostile garbage")
    if kind == "bad_json":
        body = r.choice([b"{", b'{"messages":', b"\xff\xfe", b"null", b'{"prompt":1e999999}',
                         b'{"messages":[{"role":"user","content":"\xc3("}]}'])
        st = status(raw(post(route, body)))
        return note("hostile bad JSON -> %d" % st, 400 <= st < 500, "status %d" % st)
    if kind == "bad_chunked":
        st = status(raw(b"POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        b"Connection: close\r\n\r\nzz\r\nxx\r\n" % route.encode()))
        return note("hostile bad chunked -> %d" % st, st == 0 or 400 <= st < 500,
                    "status %d" % st)
    st = status(raw(b"GET /health HTTP/1.1\r\n" + b"X-A: " + b"a" * 70000 + b"\r\n\r\n"))
    note("hostile header flood -> %d" % st, st in (0, 413, 431, 400), "status %d" % st)


ACTIONS = [openai_stream, ollama_stream, ws_session, hostile]


def worker(i):
    r = random.Random(SEED + i)
    end = time.time() + SECONDS
    while time.time() < end:
        act = r.choice(ACTIONS)
        try:
            act(r)
        except Exception as e:   # a client-side failure: the server did something unexpected
            note(act.__name__, False, repr(e))
        time.sleep(r.uniform(0, 0.02))   # leaves the 2-core test machines some air


threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for k in sorted(counts):
    print("%6d  %s" % (counts[k], k))
print("unexpected: %d" % len(unexpected))
for u in unexpected[:20]:
    print("  " + u)
sys.exit(1 if unexpected else 0)
