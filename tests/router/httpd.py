#!/usr/bin/env python3
"""A tiny HTTP file server for the download tests: Range requests (bytes=N-), a mode that
drops the connection mid-file for the first K requests, a mode that ignores Range, a mode that
sends no Content-Length (the body ends at the close), redirects (GET /to/URL, URL
percent-encoded, answers 302 to URL), and a log of every request line with its Range header.
Binds 127.0.0.1 on a free port and writes the port to --port-file once listening."""
import argparse, http.server, os, socketserver, sys, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--root", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--drop-after", type=int, default=0, help="bytes of body before dropping")
ap.add_argument("--drop-count", type=int, default=0, help="how many responses to cut short")
ap.add_argument("--no-range", action="store_true", help="ignore Range (always 200)")
ap.add_argument("--no-length", action="store_true",
                help="send no Content-Length: the body ends when the connection closes")
args = ap.parse_args()
state = {"dropped": 0}

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        rng = self.headers.get("Range", "-")
        with open(args.log, "a") as f:
            f.write(f"GET {self.path} range={rng}\n")
        if self.path.startswith("/to/"):
            body = b"<html>moved</html>"
            self.send_response(302)
            self.send_header("Location", urllib.parse.unquote(self.path[4:]))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        path = os.path.join(args.root, self.path.lstrip("/").split("?")[0])
        if not os.path.isfile(path):
            body = b"<html>not found</html>"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data = open(path, "rb").read()
        start = 0
        if rng.startswith("bytes=") and not args.no_range:
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data)-1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if args.no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if state["dropped"] < args.drop_count and args.drop_after < len(body):
            state["dropped"] += 1
            self.wfile.write(body[:args.drop_after])
            self.wfile.flush()
            self.close_connection = True
            # shut the socket down so the client sees a short body, not a stall
            import socket
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = S(("127.0.0.1", 0), H)
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, args.port_file)
srv.serve_forever()
