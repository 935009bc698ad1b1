// static_server.mjs ROOT - a static file server on a free loopback port for the browser test:
// prints "listening on http://127.0.0.1:PORT/" and serves ROOT with the COOP/COEP headers of a
// cross-origin isolated page, plus the hostile answers the test needs:
//   /missing.gguf          404
//   /html.gguf             an HTML page (200, text/html), as a misconfigured host answers
//   /truncated.gguf        a real GGUF cut in half, Content-Length the half
//   /huge.gguf             a Content-Length of 5 GiB (more than wasm32 can hold), no body sent
// Files are streamed (the test's 1.1B model is hundreds of MB), HEAD and one Range answered.
import { createServer } from 'node:http';
import { createReadStream, statSync, realpathSync } from 'node:fs';
import { join, extname, resolve, sep } from 'node:path';

const root = realpathSync(resolve(process.argv[2]));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.gguf': 'application/octet-stream', '.json': 'application/json' };

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body),
    'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
    ...extra });
  res.end(body);
}

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const iso = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin' };
  if (path === '/missing.gguf') return send(res, 404, 'text/plain', 'not found');
  if (path === '/html.gguf') {
    return send(res, 200, 'text/html', '<!DOCTYPE html><html><body>Sign in to download</body></html>');
  }
  if (path === '/huge.gguf') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(5 * 1024 ** 3), ...iso });
    res.write(Buffer.from('GGUF'));   // the start of a body that never comes; the client aborts
    req.on('close', () => res.destroy());
    return;
  }
  let file = join(root, path.endsWith('/') ? path + 'index.html' : path);
  let truncate = false;
  if (path === '/truncated.gguf') {
    file = join(root, 'models', 'stories260K.gguf');
    truncate = true;
  }
  let real;
  try {
    real = realpathSync(file);
  } catch {
    return send(res, 404, 'text/plain', 'not found');
  }
  // node_modules/llm-runner-router is a link to the package: links inside the served folder
  // may point out of it, but a request path may not climb out with ..
  if (!resolve(file).startsWith(root + sep)) return send(res, 403, 'text/plain', 'forbidden');
  const st = statSync(real);
  if (!st.isFile()) return send(res, 404, 'text/plain', 'not found');
  const len = truncate ? Math.floor(st.size / 2) : st.size;
  const head = { 'Content-Type': TYPES[extname(real)] || 'application/octet-stream',
    'Cache-Control': 'no-store', 'Accept-Ranges': 'bytes', ...iso };
  // One byte range (RFC 9110 14.2), as downloaders that fetch a file in parallel parts ask.
  const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
  let start = 0, end = len - 1, status = 200;
  if (m && (m[1] || m[2])) {
    start = m[1] ? Number(m[1]) : Math.max(0, len - Number(m[2]));
    end = m[1] && m[2] ? Math.min(Number(m[2]), len - 1) : len - 1;
    if (start > end || start >= len) {
      res.writeHead(416, { 'Content-Range': `bytes */${len}`, ...iso });
      return res.end();
    }
    status = 206;
    head['Content-Range'] = `bytes ${start}-${end}/${len}`;
  }
  head['Content-Length'] = String(end - start + 1);
  res.writeHead(status, head);
  if (req.method === 'HEAD' || len === 0) return res.end();
  createReadStream(real, { start, end }).pipe(res);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
