#!/usr/bin/env python3
"""server_load.py - load generator for `llmr serve` (and llama-server, for comparison).

Speaks the OpenAI streaming API (POST /v1/completions, "stream": true) over raw asyncio
sockets, so it needs nothing beyond Python's standard library and measures each stream itself:
time to first token (request sent -> first content chunk) and tokens received.

Two modes:
  burst  N clients start together, each streams one completion of --max-tokens tokens; repeated
         --rounds times. Reports aggregate decode throughput (all generated tokens / time from
         the first first-token to the last token), TTFT p50/p99, errors.
  soak   N clients loop for --duration seconds, each streaming completions back to back; with
         probability --disconnect a client drops its connection after a random number of
         tokens (cancellation under load). Reports tokens/s, TTFT p50/p99, errors, and the
         server's RSS before and after (--pid).

Tokens: the usage object of the last chunk when the server sends one (stream_options
include_usage), else the number of content chunks (llama-server sends one chunk per token).
Example:
  python3 bench/server_load.py --url http://127.0.0.1:8080 --mode burst --clients 8 --rounds 3
"""
import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from urllib.parse import urlparse


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


async def stream_once(host, port, body, drop_after=None):
    """One streamed completion. Returns dict(ttft, tokens, t_first, t_last, error, dropped)."""
    t0 = time.monotonic()
    res = {"ttft": None, "tokens": 0, "t_first": None, "t_last": None, "error": None,
           "dropped": False, "t0": t0}
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        res["error"] = f"connect: {e}"
        return res
    payload = json.dumps(body).encode()
    writer.write(b"POST /v1/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (host.encode(), len(payload))
                 + payload)
    await writer.drain()
    try:
        status = await reader.readline()
        if b" 200 " not in status:
            rest = await reader.read(2000)
            res["error"] = (status + rest).decode(errors="replace")[:300]
            return res
        while (await reader.readline()) not in (b"\r\n", b""):
            pass   # headers
        buf, chunks, usage, done = b"", 0, None, False
        while not done:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
            # Events are "data: ...\n\n" inside HTTP chunked framing: find the JSON lines.
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.strip()
                if not line.startswith(b"data: "):
                    continue
                if line == b"data: [DONE]":
                    done = True
                    break
                ev = json.loads(line[6:])
                if ev.get("usage"):
                    usage = ev["usage"]
                ch = ev.get("choices") or []
                text = ch[0].get("text") or (ch[0].get("delta") or {}).get("content") if ch else None
                if text:
                    now = time.monotonic()
                    if res["ttft"] is None:
                        res["ttft"] = now - t0
                        res["t_first"] = now
                    res["t_last"] = now
                    chunks += 1
                    if drop_after is not None and chunks >= drop_after:
                        res["dropped"] = True
                        res["tokens"] = chunks
                        return res
        res["tokens"] = usage["completion_tokens"] if usage else chunks
        if not done and not res["dropped"]:
            res["error"] = "stream ended without [DONE]"
    except (OSError, ValueError, asyncio.IncompleteReadError) as e:
        res["error"] = f"{type(e).__name__}: {e}"
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
    return res


def body_for(args, seed):
    prompt = f"({seed}) {args.prompt}" if args.distinct else args.prompt
    b = {"prompt": prompt, "max_tokens": args.max_tokens, "temperature": args.temperature,
         "seed": seed, "stream": True, "stream_options": {"include_usage": True}}
    if args.ignore_eos:
        b["ignore_eos"] = True          # llama-server
        b["logit_bias"] = {str(args.eos): -100}   # llmr (OpenAI's way to ban a token)
    return b


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


async def burst(args, host, port):
    rounds = []
    for r in range(args.rounds):
        res = await asyncio.gather(*[stream_once(host, port, body_for(args, 1000 * r + i))
                                     for i in range(args.clients)])
        ok = [x for x in res if not x["error"]]
        toks = sum(x["tokens"] for x in ok)
        t_start = min(x["t0"] for x in res)
        t_end = max((x["t_last"] for x in ok if x["t_last"]), default=t_start)
        t_first = min((x["t_first"] for x in ok if x["t_first"]), default=t_start)
        rounds.append({
            "tokens": toks,
            "wall_s": t_end - t_start,
            "agg_tps": toks / (t_end - t_start) if t_end > t_start else 0,
            "decode_tps": toks / (t_end - t_first) if t_end > t_first else 0,
            "ttft": [x["ttft"] for x in ok if x["ttft"] is not None],
            "errors": [x["error"] for x in res if x["error"]],
        })
        print(f"round {r + 1}: {toks} tokens in {rounds[-1]['wall_s']:.2f}s: "
              f"{rounds[-1]['agg_tps']:.1f} t/s aggregate ({rounds[-1]['decode_tps']:.1f} t/s "
              f"after the first token), TTFT p50 {pct(rounds[-1]['ttft'], 50):.2f}s, "
              f"errors {len(rounds[-1]['errors'])}", flush=True)
        await asyncio.sleep(args.pause)
    ttft = [t for r in rounds for t in r["ttft"]]
    return {"mode": "burst", "clients": args.clients, "rounds": rounds,
            "agg_tps_median": statistics.median(r["agg_tps"] for r in rounds),
            "decode_tps_median": statistics.median(r["decode_tps"] for r in rounds),
            "ttft_p50": pct(ttft, 50), "ttft_p99": pct(ttft, 99),
            "errors": sum(len(r["errors"]) for r in rounds),
            "error_samples": [e for r in rounds for e in r["errors"]][:5]}


async def soak(args, host, port):
    rng = random.Random(args.seed)
    stop_at = time.monotonic() + args.duration
    stats = {"tokens": 0, "ttft": [], "errors": [], "requests": 0, "dropped": 0}

    async def client(i):
        k = 0
        while time.monotonic() < stop_at:
            drop = rng.randint(1, args.max_tokens) if rng.random() < args.disconnect else None
            r = await stream_once(host, port, body_for(args, i * 100000 + k), drop)
            k += 1
            stats["requests"] += 1
            stats["tokens"] += r["tokens"]
            stats["dropped"] += r["dropped"]
            if r["ttft"] is not None:
                stats["ttft"].append(r["ttft"])
            if r["error"]:
                stats["errors"].append(r["error"])

    rss0 = rss_kib(args.pid) if args.pid else None
    t0 = time.monotonic()
    await asyncio.gather(*[client(i) for i in range(args.clients)])
    wall = time.monotonic() - t0
    await asyncio.sleep(1.0)   # let cancelled slots settle
    rss1 = rss_kib(args.pid) if args.pid else None
    out = {"mode": "soak", "clients": args.clients, "duration_s": wall,
           "requests": stats["requests"], "dropped": stats["dropped"], "tokens": stats["tokens"],
           "agg_tps": stats["tokens"] / wall, "ttft_p50": pct(stats["ttft"], 50),
           "ttft_p99": pct(stats["ttft"], 99), "errors": len(stats["errors"]),
           "error_samples": stats["errors"][:5], "rss_kib_before": rss0, "rss_kib_after": rss1}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--mode", choices=["burst", "soak"], default="burst")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between burst rounds")
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--disconnect", type=float, default=0.2,
                    help="soak: probability that a request is dropped mid-stream")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--prompt", default="Once upon a time, in a small village by the sea, there lived")
    ap.add_argument("--distinct", action="store_true",
                    help="start each request's prompt with its own number, so no two share a prefix")
    ap.add_argument("--ignore-eos", action="store_true", help="ban EOS so every stream is full length")
    ap.add_argument("--eos", type=int, default=2)
    ap.add_argument("--pid", type=int, help="server pid, for RSS before and after (soak)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    u = urlparse(args.url)
    host, port = u.hostname, u.port or 80
    res = asyncio.run(burst(args, host, port) if args.mode == "burst" else soak(args, host, port))
    summary = {k: v for k, v in res.items() if k != "rounds"}
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
