#!/usr/bin/env python3
"""A CPU simulation of kernels/src/main/cuda/attention.cu, for reviewing the kernels on a machine without a GPU.

Each kernel is transliterated block by block: a block's 8 warps run one after another between barriers (a barrier is
a phase boundary), a warp's 32 lanes are a numpy vector, and shuffles are indexing. Global operands live in flat
float32 buffers addressed with the same element strides the Java side passes (q, k, v as strided views of one qkv
projection at an offset, a mask broadcast over the batch); every read is bounds-checked and every output element must
be written exactly once. Shared arrays record, per phase, which thread wrote and read each word, so a word written by
one thread and touched by another within the same phase (a race) or read before any write is an error. The results
are compared with a float64 reference of softmax(q·kᵀ·scale + mask)·v and its gradients.

It is a transliteration by hand: a change to attention.cu needs the same change here before the check means anything.

    python3 kernels/src/test/python/attention_sim.py      (numpy only; about ten seconds)
"""
import sys

import numpy as np

ATT_D, WARPS, RPW, BC = 64, 8, 4, 32
BR, COLS, THREADS = WARPS * RPW, ATT_D // 32, WARPS * 32
F32 = np.float32


class Global:
    """A flat float32 buffer; reads are bounds-checked, writes counted per element."""

    def __init__(self, data):
        self.a = np.asarray(data, F32).copy()
        self.writes = np.zeros(self.a.size, np.int64)

    def read(self, idx):
        idx = np.asarray(idx, np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.a.size):
            raise AssertionError(f"global read out of bounds: {idx.min()}..{idx.max()} of {self.a.size}")
        return self.a[idx]

    def write(self, idx, val):
        idx = np.asarray(idx, np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.a.size):
            raise AssertionError(f"global write out of bounds: {idx.min()}..{idx.max()} of {self.a.size}")
        np.add.at(self.writes, idx, 1)
        self.a[idx] = val


class Shared:
    """A __shared__ array [rows][ld] with per-phase race and uninitialised-read detection."""

    def __init__(self, rows, ld, name):
        self.a = np.full(rows * ld, np.nan, F32)
        self.ld, self.name = ld, name
        self.init = np.zeros(rows * ld, bool)
        self.phase()

    def phase(self):  # __syncthreads
        self.writer = np.full(self.a.size, -1, np.int64)
        self.reader = np.full(self.a.size, -1, np.int64)  # -2: several readers

    def write(self, idx, val, tid):
        idx, tid = np.broadcast_arrays(np.asarray(idx, np.int64), np.asarray(tid, np.int64))
        if len(np.unique(idx)) != idx.size:
            raise AssertionError(f"{self.name}: two threads write one word in one statement")
        bad = ((self.writer[idx] >= 0) & (self.writer[idx] != tid)) | ((self.reader[idx] != -1) & (self.reader[idx] != tid))
        if bad.any():
            raise AssertionError(f"{self.name}: write race at word {idx[bad][0]}")
        self.writer[idx] = tid
        self.a[idx] = val
        self.init[idx] = True

    def read(self, idx, tid):
        idx, tid = np.broadcast_arrays(np.asarray(idx, np.int64), np.asarray(tid, np.int64))
        if not self.init[idx].all():
            raise AssertionError(f"{self.name}: read of an unwritten word {idx[~self.init[idx]][0]}")
        bad = (self.writer[idx] >= 0) & (self.writer[idx] != tid)
        if bad.any():
            raise AssertionError(f"{self.name}: read race at word {idx[bad][0]}")
        prev = self.reader[idx]
        self.reader[idx] = np.where((prev == -1) | (prev == tid), tid, -2)
        return self.a[idx]


def barrier(*shared):
    for s in shared:
        s.phase()


def fma(a, b, c):
    return F32(np.float64(a) * np.float64(b) + np.float64(c))


def att_score(dot, scale, mask, mask_row, mss, key):
    """(dot·scale) + mask[row + key·mss]; mask_row None: no mask. Vectorised over lanes (key may be an array)."""
    x = (F32(dot) * F32(scale)).astype(F32)
    if mask_row is None:
        return x
    return (x + mask.read(mask_row + np.asarray(key, np.int64) * mss)).astype(F32)


def att_stage(dst, ld, src, base, rs, r0, rows, n, d):
    idx = np.arange(rows * ATT_D)
    r, e = idx // ATT_D, idx % ATT_D
    row = r0 + r
    ok = (row < n) & (e < d)
    val = np.zeros(idx.size, F32)
    val[ok] = src.read(base + row[ok].astype(np.int64) * rs + e[ok])
    dst.write(r * ld + e, val, idx % THREADS)


def warp_sum(v):  # butterfly: every lane ends with the same sum
    v = v.astype(F32).copy()
    for o in (16, 8, 4, 2, 1):
        v = (v + v[np.arange(32) ^ o]).astype(F32)
    return v


def warp_max(v):
    v = v.astype(F32).copy()
    for o in (16, 8, 4, 2, 1):
        v = np.fmax(v, v[np.arange(32) ^ o])
    return v


LANE = np.arange(32)


def forward(q, k, v, mask, out, lse, b, h, p, s, d, scale, st):
    qsb, qsp, qsh, ksb, kss, ksh, vsb, vss, vsh, msb, msp, mss = st
    for bh in range(b * h):
        for by in range((p + BR - 1) // BR):
            bi, hi, q0 = bh // h, bh % h, by * BR
            qs, ks, vs = Shared(BR, ATT_D, "qs"), Shared(BC, ATT_D + 1, "ks"), Shared(BC, ATT_D, "vs")
            kb, vb = bi * ksb + hi * ksh, bi * vsb + hi * vsh
            att_stage(qs, ATT_D, q, bi * qsb + hi * qsh, qsp, q0, BR, p, d)
            m = np.full((WARPS, RPW, 32), -np.inf, F32)
            l = np.zeros((WARPS, RPW, 32), F32)
            acc = np.zeros((WARPS, RPW, COLS, 32), F32)
            mask_row = [[bi * msb + (q0 + w * RPW + t) * msp if mask is not None and q0 + w * RPW + t < p else None
                         for t in range(RPW)] for w in range(WARPS)]
            for k0 in range(0, s, BC):
                barrier(qs, ks, vs)
                att_stage(ks, ATT_D + 1, k, kb, kss, k0, BC, s, d)
                att_stage(vs, ATT_D, v, vb, vss, k0, BC, s, d)
                barrier(qs, ks, vs)
                for w in range(WARPS):
                    tid = w * 32 + LANE
                    key = k0 + LANE
                    dot = np.zeros((RPW, 32), F32)
                    for e in range(d):
                        kv = ks.read(LANE * (ATT_D + 1) + e, tid)
                        for t in range(RPW):
                            dot[t] = fma(qs.read(np.full(32, (w * RPW + t) * ATT_D + e), tid), kv, dot[t])
                    for t in range(RPW):
                        if q0 + w * RPW + t >= p:
                            continue
                        x = np.full(32, -np.inf, F32)
                        ok = key < s
                        if ok.any():
                            x[ok] = att_score(dot[t][ok], scale, mask, mask_row[w][t], mss, key[ok])
                        m_new = np.fmax(m[w, t], warp_max(x))
                        base = np.where(m_new == -np.inf, F32(0), m_new).astype(F32)
                        with np.errstate(invalid="ignore"):
                            pj = np.exp(x - base).astype(F32)
                            alpha = np.exp(m[w, t] - base).astype(F32)
                        l[w, t] = (l[w, t] * alpha + warp_sum(pj)).astype(F32)
                        acc[w, t] *= alpha
                        for jj in range(BC):
                            wgt = pj[jj]  # __shfl_sync(pj, jj)
                            for c in range(COLS):
                                acc[w, t, c] = fma(wgt, vs.read(jj * ATT_D + c * 32 + LANE, tid), acc[w, t, c])
                        m[w, t] = m_new
            for w in range(WARPS):
                for t in range(RPW):
                    i = q0 + w * RPW + t
                    if i >= p:
                        continue
                    o = ((bi * p + i) * h + hi) * d
                    for c in range(COLS):
                        e = c * 32 + LANE
                        ok = e < d
                        with np.errstate(invalid="ignore", divide="ignore"):
                            out.write(o + e[ok], (acc[w, t, c] / l[w, t]).astype(F32)[ok])
                    if lse is not None:
                        with np.errstate(divide="ignore"):
                            lse.write([bh * p + i], [F32(m[w, t, 0] + np.log(l[w, t, 0]))])


def rowdot(out, gout, dvec, rows, d):
    for r in range(rows):  # one warp per row; the grid-stride order does not matter
        acc = np.zeros(32, F32)
        for e0 in range(0, d, 32):
            e = e0 + LANE
            ok = e < d
            acc[ok] = fma(gout.read(r * d + e[ok]), out.read(r * d + e[ok]), acc[ok])
        dvec.write([r], [warp_sum(acc)[0]])


def backward_dq(q, k, v, mask, lse, dvec, gout, gq, b, h, p, s, d, scale, st):
    qsb, qsp, qsh, ksb, kss, ksh, vsb, vss, vsh, msb, msp, mss = st
    for bh in range(b * h):
        for by in range((p + BR - 1) // BR):
            bi, hi, q0 = bh // h, bh % h, by * BR
            qs, gs = Shared(BR, ATT_D, "qs"), Shared(BR, ATT_D, "gs")
            ks, vs = Shared(BC, ATT_D + 1, "ks"), Shared(BC, ATT_D + 1, "vs")
            kb, vb = bi * ksb + hi * ksh, bi * vsb + hi * vsh
            att_stage(qs, ATT_D, q, bi * qsb + hi * qsh, qsp, q0, BR, p, d)
            att_stage(gs, ATT_D, gout, bi * p * h * d + hi * d, h * d, q0, BR, p, d)
            row_lse = np.zeros((WARPS, RPW), F32)
            row_d = np.zeros((WARPS, RPW), F32)
            mask_row = [[None] * RPW for _ in range(WARPS)]
            for w in range(WARPS):
                for t in range(RPW):
                    i = q0 + w * RPW + t
                    if i < p:
                        row_lse[w, t] = lse.read([bh * p + i])[0]
                        row_d[w, t] = dvec.read([(bi * p + i) * h + hi])[0]
                        if mask is not None:
                            mask_row[w][t] = bi * msb + i * msp
            acc = np.zeros((WARPS, RPW, COLS, 32), F32)
            for k0 in range(0, s, BC):
                barrier(qs, gs, ks, vs)
                att_stage(ks, ATT_D + 1, k, kb, kss, k0, BC, s, d)
                att_stage(vs, ATT_D + 1, v, vb, vss, k0, BC, s, d)
                barrier(qs, gs, ks, vs)
                for w in range(WARPS):
                    tid = w * 32 + LANE
                    key = k0 + LANE
                    dq = np.zeros((RPW, 32), F32)
                    dv = np.zeros((RPW, 32), F32)
                    for e in range(d):
                        kv = ks.read(LANE * (ATT_D + 1) + e, tid)
                        vv = vs.read(LANE * (ATT_D + 1) + e, tid)
                        for t in range(RPW):
                            dq[t] = fma(qs.read(np.full(32, (w * RPW + t) * ATT_D + e), tid), kv, dq[t])
                            dv[t] = fma(gs.read(np.full(32, (w * RPW + t) * ATT_D + e), tid), vv, dv[t])
                    for t in range(RPW):
                        if q0 + w * RPW + t >= p:
                            continue
                        ds = np.zeros(32, F32)
                        ok = key < s
                        if ok.any():
                            with np.errstate(invalid="ignore"):
                                pj = np.exp(att_score(dq[t][ok], scale, mask, mask_row[w][t], mss, key[ok])
                                            - row_lse[w, t]).astype(F32)
                                ds[ok] = ((dv[t][ok] - row_d[w, t]) * pj * F32(scale)).astype(F32)
                        for jj in range(BC):
                            for c in range(COLS):
                                acc[w, t, c] = fma(ds[jj], ks.read(jj * (ATT_D + 1) + c * 32 + LANE, tid),
                                                   acc[w, t, c])
            for w in range(WARPS):
                for t in range(RPW):
                    i = q0 + w * RPW + t
                    if i >= p:
                        continue
                    o = ((bi * p + i) * h + hi) * d
                    for c in range(COLS):
                        e = c * 32 + LANE
                        ok = e < d
                        gq.write(o + e[ok], acc[w, t, c][ok])


def backward_dkdv(q, k, v, mask, lse, dvec, gout, gk, gv, b, h, p, s, d, scale, st):
    qsb, qsp, qsh, ksb, kss, ksh, vsb, vss, vsh, msb, msp, mss = st
    for bh in range(b * h):
        for by in range((s + BR - 1) // BR):
            bi, hi, k0 = bh // h, bh % h, by * BR
            ks, vs = Shared(BR, ATT_D, "ks"), Shared(BR, ATT_D, "vs")
            qs, gs = Shared(BC, ATT_D + 1, "qs"), Shared(BC, ATT_D + 1, "gs")
            tile_lse, tile_d = Shared(BC, 1, "tileLse"), Shared(BC, 1, "tileD")
            allsh = (ks, vs, qs, gs, tile_lse, tile_d)
            qb, gb = bi * qsb + hi * qsh, bi * p * h * d + hi * d
            att_stage(ks, ATT_D, k, bi * ksb + hi * ksh, kss, k0, BR, s, d)
            att_stage(vs, ATT_D, v, bi * vsb + hi * vsh, vss, k0, BR, s, d)
            dk = np.zeros((WARPS, RPW, COLS, 32), F32)
            dv = np.zeros((WARPS, RPW, COLS, 32), F32)
            for i0 in range(0, p, BC):
                barrier(*allsh)
                att_stage(qs, ATT_D + 1, q, qb, qsp, i0, BC, p, d)
                att_stage(gs, ATT_D + 1, gout, gb, h * d, i0, BC, p, d)
                for th in range(BC):
                    i = i0 + th
                    tile_lse.write([th], [lse.read([bh * p + i])[0] if i < p else 0.0], th)
                    tile_d.write([th], [dvec.read([(bi * p + i) * h + hi])[0] if i < p else 0.0], th)
                barrier(*allsh)
                for w in range(WARPS):
                    tid = w * 32 + LANE
                    i = i0 + LANE
                    sq = np.zeros((RPW, 32), F32)
                    sv = np.zeros((RPW, 32), F32)
                    for e in range(d):
                        qv = qs.read(LANE * (ATT_D + 1) + e, tid)
                        gv2 = gs.read(LANE * (ATT_D + 1) + e, tid)
                        for t in range(RPW):
                            sq[t] = fma(qv, ks.read(np.full(32, (w * RPW + t) * ATT_D + e), tid), sq[t])
                            sv[t] = fma(gv2, vs.read(np.full(32, (w * RPW + t) * ATT_D + e), tid), sv[t])
                    for t in range(RPW):
                        key = k0 + w * RPW + t
                        if key >= s:
                            continue
                        pij = np.zeros(32, F32)
                        ds = np.zeros(32, F32)
                        ok = i < p
                        if ok.any():
                            lse_l = tile_lse.read(LANE[ok], tid[ok])
                            d_l = tile_d.read(LANE[ok], tid[ok])
                            rows = None if mask is None else bi * msb + i[ok].astype(np.int64) * msp
                            x = (F32(sq[t][ok]) * F32(scale)).astype(F32)
                            if rows is not None:
                                x = (x + mask.read(rows + key * mss)).astype(F32)
                            with np.errstate(invalid="ignore"):
                                pij[ok] = np.exp(x - lse_l).astype(F32)
                                ds[ok] = ((sv[t][ok] - d_l) * pij[ok] * F32(scale)).astype(F32)
                        for ii in range(BC):
                            for c in range(COLS):
                                dv[w, t, c] = fma(pij[ii], gs.read(ii * (ATT_D + 1) + c * 32 + LANE, tid), dv[w, t, c])
                                dk[w, t, c] = fma(ds[ii], qs.read(ii * (ATT_D + 1) + c * 32 + LANE, tid), dk[w, t, c])
            for w in range(WARPS):
                for t in range(RPW):
                    key = k0 + w * RPW + t
                    if key >= s:
                        continue
                    row = ((bi * s + key) * h + hi) * d
                    for c in range(COLS):
                        e = c * 32 + LANE
                        ok = e < d
                        gk.write(row + e[ok], dk[w, t, c][ok])
                        gv.write(row + e[ok], dv[w, t, c][ok])


def reference(q, k, v, mask, scale, gout):
    """float64 forward and gradients; q [b, p, h, d], k, v [b, s, h, d], mask [b, 1, p, s] or None."""
    qh, kh, vh = (np.transpose(t, (0, 2, 1, 3)).astype(np.float64) for t in (q, k, v))
    x = qh @ np.swapaxes(kh, -1, -2) * scale
    if mask is not None:
        x = x + mask.astype(np.float64)
    with np.errstate(invalid="ignore"):
        mx = x.max(-1, keepdims=True)
        e = np.exp(x - mx)
        lse = (mx + np.log(e.sum(-1, keepdims=True)))[..., 0]
        pat = e / e.sum(-1, keepdims=True)
        out = pat @ vh
        g = np.transpose(gout, (0, 2, 1, 3)).astype(np.float64)
        dp = g @ np.swapaxes(vh, -1, -2)
        ds = pat * (dp - (g * out).sum(-1, keepdims=True)) * scale
    back = lambda t: np.transpose(t, (0, 2, 1, 3))
    return back(out), lse, back(ds @ kh), back(np.swapaxes(ds, -1, -2) @ qh), back(np.swapaxes(pat, -1, -2) @ g)


def run(b, p, s, h, d, masked, broadcast_mask, full_row, rng):
    scale = F32(1 / np.sqrt(d))
    # q, k, v are views of one [b, n, 3, h, d] projection (q the last p positions, k and v the first s), as GPT-2
    # makes them, stored after a few floats of padding (1e30: a stray read shows) so that the offsets are not zero.
    pad, n = 7, max(p, s)
    qkv = rng.standard_normal(b * n * 3 * h * d).astype(F32)
    mem = np.concatenate([np.full(pad, 1e30, F32), qkv, np.full(pad, 1e30, F32)])
    qkv5 = qkv.reshape(b, n, 3, h, d)
    sb, ss, sh = n * 3 * h * d, 3 * h * d, d  # strides of the projection's batch, position, head
    q_off, k_off, v_off = pad + (n - p) * ss, pad + h * d, pad + 2 * h * d
    qn, kn, vn = qkv5[:, n - p:, 0], qkv5[:, :s, 1], qkv5[:, :s, 2]
    mk = None
    mst = (0, 0, 0)
    if masked:
        mb = 1 if broadcast_mask else b
        m = np.zeros((mb, 1, p, s), F32)
        for bi in range(mb):
            for i in range(p):
                for j in range(s):
                    # causal; the last batch row left-padded by up to 35 keys, so that a whole first key tile is
                    # masked for the later queries while their own key stays visible; one row fully masked
                    ok = j <= s - p + i and not (bi == mb - 1 and j < min(35, s - p + i))
                    if full_row and bi == 0 and i == p // 2:
                        ok = False
                    m[bi, 0, i, j] = 0 if ok else -np.inf
        mk = np.broadcast_to(m, (b, 1, p, s))
        mst = (0 if broadcast_mask else p * s, s, 1)  # batch, query, key strides (the head dim is 1)
    gout = rng.standard_normal((b, p, h, d)).astype(F32)
    st = (sb, ss, sh, sb, ss, sh, sb, ss, sh) + mst
    # Each operand is its own buffer holding the whole projection, offset as a device pointer would be.
    Q, K, V = Global(mem[q_off:]), Global(mem[k_off:]), Global(mem[v_off:])
    M = Global(m.reshape(-1)) if masked else None
    out, lse = Global(np.full(b * p * h * d, np.nan)), Global(np.full(b * h * p, np.nan))
    forward(Q, K, V, M, out, lse, b, h, p, s, d, scale, st)
    dvec = Global(np.full(b * p * h, np.nan))
    rowdot(out, Global(gout.reshape(-1)), dvec, b * p * h, d)
    G = Global(gout.reshape(-1))
    gq = Global(np.full(b * p * h * d, np.nan))
    gk, gv = Global(np.full(b * s * h * d, np.nan)), Global(np.full(b * s * h * d, np.nan))
    backward_dq(Q, K, V, M, lse, dvec, G, gq, b, h, p, s, d, scale, st)
    backward_dkdv(Q, K, V, M, lse, dvec, G, gk, gv, b, h, p, s, d, scale, st)
    for name, buf in (("out", out), ("lse", lse), ("dvec", dvec), ("gq", gq), ("gk", gk), ("gv", gv)):
        if not (buf.writes == 1).all():
            raise AssertionError(f"{name}: elements written {sorted(set(buf.writes.tolist()))} times")
    want = reference(qn, kn, vn, mk, scale, gout)
    got = (out.a.reshape(b, p, h, d), lse.a.reshape(b, h, p), gq.a.reshape(b, p, h, d), gk.a.reshape(b, s, h, d),
           gv.a.reshape(b, s, h, d))
    worst = 0.0
    if full_row:  # log Σ exp(-inf) = -inf in the kernel; the reference (like the CPU kernel) gives nan
        w_lse = want[1].copy()
        w_lse[0, :, p // 2] = -np.inf
        want = (want[0], w_lse) + want[2:]
    for name, w, g in zip(("out", "lse", "gq", "gk", "gv"), want, got):
        fin = np.isfinite(w)
        if not np.array_equal(w[~fin], g[~fin], equal_nan=True) or not np.isfinite(g[fin]).all():
            raise AssertionError(f"{name}: nan or inf where the reference has none, or the reverse")
        err = np.max(np.abs(w[fin] - g[fin]) / (1 + np.abs(w[fin])), initial=0.0)
        worst = max(worst, err)
        if err > 1e-4:
            raise AssertionError(f"{name}: relative error {err:.2e}")
    return worst


def main():
    rng = np.random.default_rng(5)
    cases = [  # b, p, s, h, d, masked, mask broadcast over the batch, one fully masked row
        (2, 37, 45, 2, 64, True, False, False),
        (2, 37, 75, 2, 64, True, False, True),
        (1, 5, 70, 2, 17, True, True, False),
        (2, 33, 33, 1, 40, False, False, False),
        (1, 1, 1, 1, 1, True, False, False),
        (1, 40, 3, 1, 33, False, False, False),
    ]
    for case in cases:
        worst = run(*case, rng)
        print(f"b p s h d = {case[:5]} masked={case[5]} broadcast={case[6]} fully masked row={case[7]}: ok, "
              f"worst relative error {worst:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
