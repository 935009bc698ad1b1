#!/usr/bin/env python3
"""A mock ollama registry for the tests (loopback only): the distribution API that
registry.ollama.ai speaks. --model NS/MODEL:TAG=FILE (repeatable) publishes FILE as the model
layer of that name, beside a template, params and license layer as ollama's manifests have.
GET /v2/NS/MODEL/manifests/TAG answers the manifest (404 for an unknown name), GET
/v2/NS/MODEL/blobs/sha256:HEX the blob. Every request line goes to --log; the port to
--port-file once listening."""
import argparse, hashlib, http.server, json, os, socketserver

ap = argparse.ArgumentParser()
ap.add_argument("--model", action="append", default=[])
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()

blobs, manifests = {}, {}

def add_blob(data, media):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return {"mediaType": media, "digest": d, "size": len(data)}

for spec in args.model:
    name, path = spec.split("=", 1)
    repo, tag = name.split(":", 1)
    with open(path, "rb") as f:
        layers = [add_blob(f.read(), "application/vnd.ollama.image.model"),
                  add_blob(b"{{ .Prompt }}", "application/vnd.ollama.image.template"),
                  add_blob(b'{"stop": ["</s>"]}', "application/vnd.ollama.image.params"),
                  add_blob(b"MIT License", "application/vnd.ollama.image.license")]
    config = add_blob(json.dumps({"model_format": "gguf"}).encode(),
                      "application/vnd.docker.container.image.v1+json")
    manifests[f"/v2/{repo}/manifests/{tag}"] = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": config, "layers": layers}).encode()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with open(args.log, "a") as f:
            f.write(f"GET {self.path} accept={self.headers.get('Accept', '-')}\n")
        if self.path in manifests:
            return self.send(200, manifests[self.path],
                             "application/vnd.docker.distribution.manifest.v2+json")
        if "/blobs/" in self.path:
            d = self.path.rsplit("/", 1)[1]
            if d in blobs:
                return self.send(200, blobs[d], "application/octet-stream")
        self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', "application/json")

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

srv = S(("127.0.0.1", 0), H)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
