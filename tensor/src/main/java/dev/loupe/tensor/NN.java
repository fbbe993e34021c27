package dev.loupe.tensor;

/**
 * Neural-network ops (softmax, layerNorm, cross-entropy, embedding) and their gradients. Each runs its forward as
 * one backend primitive on a contiguous [rows, d] layout and records a gradient that is one backend primitive too.
 */
final class NN {
    private NN() {
    }

    // ---------------------------------------------------------------- softmax

    /**
     * Softmax (or log-softmax) of a [...] over {@code dim}; same shape. A slice whose entries are all -inf (fully
     * masked) gives nan, as in PyTorch; an entry of -inf next to finite ones gives 0 (log: -inf). Another dim than
     * the last is moved last (one copy in, one copy out), since the kernel walks contiguous rows.
     */
    static Tensor softmax(Tensor a, int dim, boolean log) {
        String op = log ? "logSoftmax" : "softmax";
        if (a.rank() == 0) { // PyTorch accepts dim 0 or -1 on a scalar
            Shapes.dim(op, dim, 1);
            return softmax(a.reshape(1), 0, log).reshape();
        }
        int d = Shapes.dim(op, dim, a.rank());
        int last = a.rank() - 1;
        Backend be = a.backend();
        Tensor x, y, out;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            x = a.detach().transpose(d, last).contiguous(); // [rest..., n]; a no-op when dim is last and contiguous
            y = OpSupport.alloc(be, x.shape());
            be.softmax(x, log, y);
            out = d == last ? y : y.transpose(d, last).contiguous();
        }
        int[] rowShape = x.shape();
        return Autograd.record(out, op, g -> {
            Tensor gy = g.transpose(d, last).contiguous();
            Tensor gx = OpSupport.alloc(be, rowShape);
            be.softmaxBackward(y, gy, log, gx);
            return new Tensor[] {d == last ? gx : gx.transpose(d, last)};
        }, a);
    }

    // ---------------------------------------------------------------- layerNorm

    /**
     * x [..., d] normalized over d; weight, bias [d] or null. Mean and rstd per row ([rows]) are kept for the
     * backward pass, which gives the gradients of x, weight and bias from one kernel call.
     */
    static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        if (x.rank() == 0) throw new IllegalArgumentException("layerNorm: input must be [..., d] but is a scalar");
        int[] shape = x.shape();
        int d = shape[shape.length - 1];
        checkParam("weight", weight, shape);
        checkParam("bias", bias, shape);
        int rows = 1;
        for (int i = 0; i < shape.length - 1; i++) rows *= shape[i];
        Backend be = OpSupport.backend("layerNorm", x, weight, bias);
        Tensor w = weight == null ? null : weight.detach(), b = bias == null ? null : bias.detach();
        Tensor x2, out, mean, rstd;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            x2 = x.detach().contiguous().view(rows, d);
            Tensor y = OpSupport.alloc(be, new int[] {rows, d});
            mean = OpSupport.alloc(be, new int[] {rows});
            rstd = OpSupport.alloc(be, new int[] {rows});
            be.layerNorm(x2, w, b, eps, y, mean, rstd);
            out = y.view(shape);
        }
        int rowCount = rows;
        return Autograd.record(out, "layerNorm", g -> {
            Tensor gy = g.contiguous().view(rowCount, d);
            Tensor gx = OpSupport.alloc(be, new int[] {rowCount, d});
            Tensor gw = weight != null && weight.requiresGrad() ? OpSupport.alloc(be, new int[] {d}) : null;
            Tensor gb = bias != null && bias.requiresGrad() ? OpSupport.alloc(be, new int[] {d}) : null;
            be.layerNormBackward(x2, w, mean, rstd, gy, gx, gw, gb);
            return new Tensor[] {gx.view(shape), gw, gb};
        }, x, weight, bias);
    }

    private static void checkParam(String name, Tensor p, int[] xShape) {
        if (p == null) return;
        int d = xShape[xShape.length - 1];
        if (p.rank() != 1 || p.shape()[0] != d) {
            throw new IllegalArgumentException("layerNorm: " + name + " must be [" + d + "] for input "
                    + Shapes.format(xShape) + " but has shape " + Shapes.format(p.shape()));
        }
    }

    // ---------------------------------------------------------------- crossEntropy

    /**
     * logits [n, classes], targets [n] -> mean over the non-ignored rows of -logSoftmax(logits)[i, targets[i]],
     * shape []. Targets below 0 are ignored. With every target ignored the loss is nan (0 / 0, as in PyTorch) and
     * the gradient is zero. Gradient: (softmax - onehot) / count on counted rows, zero on ignored ones.
     */
    static Tensor crossEntropy(Tensor logits, Tensor targets) {
        if (logits.rank() != 2 || targets.rank() != 1 || targets.shape()[0] != logits.shape()[0]) {
            throw new IllegalArgumentException("crossEntropy: expected logits [n, classes] and targets [n] but got "
                    + Shapes.format(logits.shape()) + " and " + Shapes.format(targets.shape()));
        }
        int n = logits.shape()[0], classes = logits.shape()[1];
        float[] t = targets.toFloatArray();
        float[] safe = new float[n], weight = new float[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            float v = t[i];
            if (v != Math.rint(v)) {
                throw new IllegalArgumentException("crossEntropy: target " + v + " at row " + i
                        + " is not a whole number (valid classes [0, " + classes + "), negative to ignore)");
            }
            if (v >= classes) {
                throw new IndexOutOfBoundsException("crossEntropy: target " + (long) v + " at row " + i
                        + " out of range [0, " + classes + ") (negative targets are ignored)");
            }
            if (v >= 0) {
                safe[i] = v;
                count++;
            }
        }
        for (int i = 0; i < n; i++) weight[i] = t[i] >= 0 ? 1f / count : 0f; // ignored rows stay 0, not 0 / 0
        Backend be = OpSupport.backend("crossEntropy", logits, targets);
        // Made on the host (the checks above read the targets there anyway), then moved to the logits' device.
        Tensor idx = Tensor.wrap(safe, n, 1).to(be.device()), w = Tensor.wrap(weight, n, 1).to(be.device());
        Tensor lsm, loss;
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            lsm = softmax(logits.detach(), 1, true);
            Tensor picked = OpSupport.alloc(be, new int[] {n, 1});
            be.gather(lsm, 1, idx, picked);
            loss = count == 0 ? Tensor.scalar(Float.NaN, be.device()) : picked.mul(w).sum().neg();
        }
        return Autograd.record(loss, "crossEntropy", g -> {
            // d loss / d lsm is -g * w at each target; through logSoftmax that becomes (softmax - onehot) * g * w.
            Tensor gy = OpSupport.alloc(be, new int[] {n, classes});
            be.scatterAdd(gy, 1, idx, w.mul(g).neg());
            Tensor gx = OpSupport.alloc(be, new int[] {n, classes});
            be.softmaxBackward(lsm, gy, true, gx);
            return new Tensor[] {gx};
        }, logits);
    }

    // ---------------------------------------------------------------- embedding

    /** weight [vocab, d], ids [...] -> [..., d]; the gradient adds each output row back at its id. */
    static Tensor embedding(Tensor weight, Tensor ids) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("embedding: weight must be [vocab, d] but has shape "
                    + Shapes.format(weight.shape()));
        }
        int vocab = weight.shape()[0], d = weight.shape()[1];
        for (float v : ids.toFloatArray()) {
            if (v != Math.rint(v)) {
                throw new IllegalArgumentException("embedding: id " + v + " is not a whole number (vocab size "
                        + vocab + ")");
            }
            if (v < 0 || v >= vocab) {
                throw new IndexOutOfBoundsException("embedding: id " + (long) v + " out of range for vocab size "
                        + vocab + " (valid ids 0.." + (vocab - 1) + ")");
            }
        }
        Tensor rows = Indexing.indexSelectUnchecked("embedding", weight, 0, ids.detach().reshape(-1)); // [m, d]
        return rows.reshape(Shapes.insert(ids.shape(), ids.rank(), d));
    }
}
