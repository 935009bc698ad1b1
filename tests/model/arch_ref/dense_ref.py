#!/usr/bin/python3
"""dense_ref.py - an independent float64 reference for the families llmr runs beyond llama and
qwen2 (gemma, gemma2, gemma3, phi3, qwen3; the mixtures of experts qwen2moe, qwen3moe and llama
with ffn_*_exps; llama and qwen2 too), for F32 GGUF files.

    /usr/bin/python3 dense_ref.py MODEL.gguf IDS N_CTX [TOPK] > REF.json

Reads the GGUF with a reader of its own (no gguf package) and computes the logits at every
position of the comma-separated token ids, in float64 with numpy, following the published model
definitions (Hugging Face transformers' modeling_gemma.py, modeling_gemma2.py, modeling_gemma3.py,
modeling_phi3.py, modeling_qwen3.py) with the hyper-parameters the GGUF holds:
  - RMSNorm x / sqrt(mean(x^2) + eps) * w, w as stored (GGUF's Gemma norms already hold 1 + w);
  - RoPE, GPT-NeoX layout (rotate_half over the first rope.dimension_count values of each head;
    llama: adjacent pairs),
    inv_freq = base^(-2i/n_rot) / factor_i, linear scaling dividing the angle; gemma3's local
    layers (l % 6 < 5) base 10000 and no scaling; phi3 LongRoPE's long factors when N_CTX
    exceeds rope.scaling.original_context_length (as llama.cpp chooses, per context; Hugging
    Face chooses per sequence length), cos and sin times rope.scaling.attn_factor;
  - attention softmax(q.k * scale (+ soft-cap) + causal and sliding-window mask) v with GQA;
    scale 1/sqrt(head_dim) (gemma2/3 27B: 1/sqrt(n_embd/n_head)); the window keeps keys with
    q_pos - k_pos < window;
  - gemma: embeddings times sqrt(n_embd), GeGLU with tanh GELU; gemma2/3 post-attention and
    post-FFN norms; gemma2 attention and final soft-capping; gemma3 and qwen3 per-head q/k norms;
    phi3's fused QKV and gate-up weights split by rows;
  - experts (modeling_mixtral.py, modeling_qwen2_moe.py, modeling_qwen3_moe.py): softmax over
    the router's logits, the top expert_used_count, their probabilities renormalised except for
    qwen2moe, SwiGLU experts; qwen2moe adds a shared expert times sigmoid(its gate . x).
It prints, per position, the log-sum-exp of the logits and the TOPK (default 64) largest as
[id, logit] (llmr's tests/model/arch_ref/*.json format). Not covered: quantized tensors (the
reference is for F32 files), batching and KV-cache reuse (each call is one sequence from 0).
"""
import json
import struct
import sys

import numpy as np

GGUF_TYPES = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
              10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, path):
        self.b = open(path, "rb").read()
        self.o = 0
        if self.b[:4] != b"GGUF":
            raise SystemExit(path + ": not a GGUF file")
        self.o = 4
        ver = self.u(4)
        if ver not in (2, 3):
            raise SystemExit("GGUF version %d not handled here" % ver)
        nt, nkv = self.u(8), self.u(8)
        self.kv = {}
        for _ in range(nkv):
            k = self.s()
            self.kv[k] = self.val(self.u(4))
        infos = []
        for _ in range(nt):
            name = self.s()
            nd = self.u(4)
            ne = [self.u(8) for _ in range(nd)]
            ty, off = self.u(4), self.u(8)
            infos.append((name, ne, ty, off))
        align = self.kv.get("general.alignment", 32)
        base = (self.o + align - 1) // align * align
        self.t = {}
        for name, ne, ty, off in infos:
            if ty != 0:
                raise SystemExit("%s: tensor type %d; this reference reads F32 only" % (name, ty))
            n = int(np.prod(ne))
            a = np.frombuffer(self.b, dtype="<f4", count=n, offset=base + off)
            # GGUF ne[0] is the fastest dimension: a [ne0, ne1] tensor is ne1 rows of ne0
            self.t[name] = a.reshape(list(reversed(ne))).astype(np.float64)

    def u(self, n):
        v = int.from_bytes(self.b[self.o:self.o + n], "little")
        self.o += n
        return v

    def s(self):
        n = self.u(8)
        v = self.b[self.o:self.o + n].decode("utf-8", "replace")
        self.o += n
        return v

    def val(self, ty):
        if ty == 8:
            return self.s()
        if ty == 9:
            et, n = self.u(4), self.u(8)
            return [self.val(et) for _ in range(n)]
        fmt = GGUF_TYPES[ty]
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope(x, pos, n_rot, base, scale, factors, mscale, neox=True):
    """x: [T, H, D]; over the first n_rot values: NeoX layout rotates (i, i + n_rot/2), llama's
    rotates adjacent pairs (2i, 2i + 1)."""
    half = n_rot // 2
    inv = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_rot)
    if factors is not None:
        inv = inv / factors[:half]
    ang = np.outer(pos, inv) * scale                      # [T, half]
    c, s = np.cos(ang)[:, None, :] * mscale, np.sin(ang)[:, None, :] * mscale
    y = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        y[..., :half] = a * c - b * s
        y[..., half:n_rot] = a * s + b * c
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        y[..., 0:n_rot:2] = a * c - b * s
        y[..., 1:n_rot:2] = a * s + b * c
    return y


def moe(x, p, has, an, g):
    """Mixture of experts: softmax router, top expert_used_count, weights renormalised (llama,
    qwen3moe) or not (qwen2moe); SwiGLU experts; qwen2moe's shared expert gated by a sigmoid."""
    k = g("expert_used_count")
    logits = x @ p("ffn_gate_inp").T                      # [T, n_expert]
    pr = np.exp(logits - logits.max(axis=1, keepdims=True))
    pr /= pr.sum(axis=1, keepdims=True)
    ge, ue, de = p("ffn_gate_exps"), p("ffn_up_exps"), p("ffn_down_exps")   # [X, F, E], [X, E, F]
    out = np.zeros_like(x)
    for t in range(x.shape[0]):
        top = np.argsort(-pr[t], kind="stable")[:k]
        w = pr[t, top]
        if an != "qwen2moe":
            w = w / w.sum()
        for e, we in zip(top, w):
            out[t] += we * (de[e] @ (silu(ge[e] @ x[t]) * (ue[e] @ x[t])))
    if has("ffn_gate_inp_shexp"):
        gate = 1.0 / (1.0 + np.exp(-(x @ p("ffn_gate_inp_shexp"))))   # [T]
        sh = (silu(x @ p("ffn_gate_shexp").T) * (x @ p("ffn_up_shexp").T)) @ p("ffn_down_shexp").T
        out += gate[:, None] * sh
    return out


def forward(r, ids, n_ctx):
    kv, t = r.kv, r.t
    an = kv["general.architecture"]
    g = lambda k, d=None: kv.get(an + "." + k, d)
    E, nL, H = g("embedding_length"), g("block_count"), g("attention.head_count")
    KV = g("attention.head_count_kv", H)
    hd = g("attention.key_length", E // H)
    n_rot = g("rope.dimension_count", hd)
    eps = g("attention.layer_norm_rms_epsilon")
    base = g("rope.freq_base", 10000.0)
    lin = g("rope.scaling.factor", 0.0) if g("rope.scaling.type") == "linear" else 0.0
    scale_g = 1.0 / lin if lin else 1.0
    gemma = an.startswith("gemma")
    n_swa = g("attention.sliding_window", 4096 if an == "gemma2" else 0)
    softcap = g("attn_logit_softcapping", 50.0) if an == "gemma2" else 0.0
    final_cap = g("final_logit_softcapping", 30.0) if an == "gemma2" else 0.0
    big = {"gemma2": 46, "gemma3": 62}.get(an)
    att_scale = 1.0 / np.sqrt(E // H if nL == big else hd)
    mscale = g("rope.scaling.attn_factor", 1.0) if an == "phi3" else 1.0
    factors = None
    if an == "phi3" and "rope_factors_long.weight" in t:
        orig = g("rope.scaling.original_context_length", g("context_length"))
        factors = t["rope_factors_long.weight" if n_ctx > orig else "rope_factors_short.weight"]
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    emb = t["token_embd.weight"]
    h = emb[ids].copy()
    if gemma:
        h *= np.sqrt(E)
    for l in range(nL):
        p = lambda n: t["blk.%d.%s.weight" % (l, n)]
        has = lambda n: ("blk.%d.%s.weight" % (l, n)) in t
        x = rmsnorm(h, p("attn_norm"), eps)
        if has("attn_qkv"):
            w = p("attn_qkv")
            wq, wk, wv = w[:H * hd], w[H * hd:(H + KV) * hd], w[(H + KV) * hd:]
        else:
            wq, wk, wv = p("attn_q"), p("attn_k"), p("attn_v")
        q = (x @ wq.T).reshape(T, H, hd)
        k = (x @ wk.T).reshape(T, KV, hd)
        v = (x @ wv.T).reshape(T, KV, hd)
        if "blk.%d.attn_q.bias" % l in t:
            q = q + t["blk.%d.attn_q.bias" % l].reshape(H, hd)
            k = k + t["blk.%d.attn_k.bias" % l].reshape(KV, hd)
            v = v + t["blk.%d.attn_v.bias" % l].reshape(KV, hd)
        if has("attn_q_norm"):
            q = rmsnorm(q, p("attn_q_norm"), eps)
            k = rmsnorm(k, p("attn_k_norm"), eps)
        local = an == "gemma3" and l % 6 < 5
        window = 0
        if an == "gemma2" and l % 2 == 0 or local or an == "phi3":
            window = n_swa
        lb, ls = (10000.0, 1.0) if local else (base, scale_g)
        q = rope(q, pos, n_rot, lb, ls, factors, mscale, an != "llama")
        k = rope(k, pos, n_rot, lb, ls, factors, mscale, an != "llama")
        out = np.zeros((T, H, hd))
        qi, ki = np.arange(T)[:, None], np.arange(T)[None, :]
        mask = ki <= qi
        if window:
            mask &= (qi - ki) < window
        for hh in range(H):
            s = q[:, hh, :] @ k[:, hh // (H // KV), :].T * att_scale
            if softcap:
                s = softcap * np.tanh(s / softcap)
            s = np.where(mask, s, -np.inf)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s /= s.sum(axis=1, keepdims=True)
            out[:, hh, :] = s @ v[:, hh // (H // KV), :]
        a = out.reshape(T, H * hd) @ p("attn_output").T
        if has("post_attention_norm"):
            a = rmsnorm(a, p("post_attention_norm"), eps)
        h = h + a
        x = rmsnorm(h, p("ffn_norm"), eps)
        if has("ffn_gate_inp"):
            h = h + moe(x, p, has, an, g)
            continue
        if an == "phi3":
            up = p("ffn_up")
            F = up.shape[0] // 2
            gate, u = x @ up[:F].T, x @ up[F:].T
        else:
            gate, u = x @ p("ffn_gate").T, x @ p("ffn_up").T
        m = (gelu_tanh(gate) if gemma else silu(gate)) * u
        f = m @ p("ffn_down").T
        if has("post_ffw_norm"):
            f = rmsnorm(f, p("post_ffw_norm"), eps)
        h = h + f
    x = rmsnorm(h, t["output_norm.weight"], eps)
    out_w = t.get("output.weight", emb)
    logits = x @ out_w.T
    if final_cap:
        logits = final_cap * np.tanh(logits / final_cap)
    return logits


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    r = Reader(sys.argv[1])
    ids = [int(v) for v in sys.argv[2].split(",")]
    n_ctx = int(sys.argv[3])
    topk = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    logits = forward(r, ids, n_ctx)
    rows = []
    for row in logits:
        mx = row.max()
        lse = mx + np.log(np.exp(row - mx).sum())
        top = np.argsort(-row, kind="stable")[:topk]
        rows.append('  {"lse": %.12g, "top": [%s]}' % (
            lse, ", ".join("[%d, %.10g]" % (i, row[i]) for i in top)))
    print('{"tokens": [%s], "n_vocab": %d, "n_ctx": %d, "positions": [\n%s]}' % (
        ", ".join(map(str, ids)), logits.shape[1], n_ctx, ",\n".join(rows)))


if __name__ == "__main__":
    main()
