# ws_raw.py - a WebSocket client on a bare socket, for tests that must send what real
# clients never do (unmasked frames, reserved opcodes and bits, bad lengths). Imported by the
# tests/server/*.sh tests' Python parts (not run on its own).
import base64, json, os, socket, struct, sys, traceback


class WS:
    def __init__(self, port, path="/ws", headers="", src=None, timeout=6, host="127.0.0.1"):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if src:
            self.s.bind((src, 0))
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n%s\r\n" % (path, key, headers)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                break
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")
        self.status = int(self.head.split(" ")[1]) if " " in self.head else 0

    def frame(self, op, payload=b"", fin=True, mask=True, rsv=0, length=None):
        """Sends one frame; length overrides the length field (lies about the size)."""
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload) if length is None else length
        b0 = (0x80 if fin else 0) | rsv << 4 | op
        m = 0x80 if mask else 0
        if n < 126:
            h = bytes([b0, m | n])
        elif n <= 0xFFFF:
            h = bytes([b0, m | 126]) + struct.pack(">H", n)
        else:
            h = bytes([b0, m | 127]) + struct.pack(">Q", n)
        if mask:
            k = os.urandom(4)
            h += k
            payload = bytes(c ^ k[i % 4] for i, c in enumerate(payload))
        self.s.sendall(h + payload)

    def send_json(self, o):
        self.frame(1, json.dumps(o))

    def _exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("the server closed the connection")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        """(opcode, payload) of the next frame from the server (never masked, never
        fragmented by llmr)."""
        b0, b1 = self._exact(2)
        assert b1 & 0x80 == 0, "a server frame is masked"
        n = b1 & 127
        if n == 126:
            n = struct.unpack(">H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._exact(8))[0]
        return b0 & 0x0F, self._exact(n)

    def recv_json(self):
        """The next text message (pings are answered, pongs skipped)."""
        while True:
            op, p = self.recv_frame()
            if op == 1:
                return json.loads(p)
            if op == 9:
                self.frame(10, p)
            elif op == 8:
                raise EOFError("closed: %r" % p)

    def expect_close(self):
        """The close code the server sends next (skipping other frames), or None when the
        socket ends without a close frame."""
        try:
            while True:
                op, p = self.recv_frame()
                if op == 8:
                    return struct.unpack(">H", p[:2])[0] if len(p) >= 2 else 1005
        except (EOFError, ConnectionResetError):
            return None

    def chat(self, content, **extra):
        """Sends a chat message and returns (reply text, stream_end message)."""
        self.send_json(dict(type="chat", content=content, **extra))
        return self.reply()

    def reply(self):
        m = self.recv_json()
        assert m["type"] == "stream_start", m
        text = ""
        while True:
            m = self.recv_json()
            if m["type"] != "token":
                break
            text += m["content"]
        assert m["type"] == "stream_end", m
        return text, m

    def close(self):
        self.s.close()


def cases(port):
    """(case, opened): @case(name) runs a test function at once and prints "PASS name" or
    "FAIL name: why"; opened() is a connection that has had its welcome."""
    def case(name):
        def run(f):
            try:
                f()
                print("PASS", name)
            except Exception as e:
                print("FAIL", name + ":", repr(e))
                traceback.print_exc(file=sys.stdout)
        return run

    def opened():
        w = WS(port)
        assert w.status == 101, w.head
        assert w.recv_json()["type"] == "welcome"
        return w
    return case, opened
