package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.Activation;

/**
 * A GPT-2 / GPT-Neo forward pass for one unpadded sequence, in double precision over plain arrays, written from the
 * equations (not from {@link Gpt2Forward}): the independent reference that hook and patching tests are held to.
 * Supports GELU-tanh MLPs, GPT-2 and GPT-Neo attention (scaling, local windows) and absent LayerNorm weights.
 */
final class RefGpt2 {
    private final Gpt2Config c;
    private final Gpt2Weights w;

    RefGpt2(Gpt2Model model) {
        this.c = model.config();
        this.w = model.weights();
        if (c.activation() != Activation.GELU_TANH) throw new IllegalArgumentException("reference knows GELU-tanh only");
    }

    /** The residual stream before block 0: wte[token] + wpe[pos], [pos][d_model]. */
    double[][] embed(int[] tokens) {
        double[] wte = d(w.wte()), wpe = d(w.wpe());
        int m = c.dModel();
        double[][] x = new double[tokens.length][m];
        for (int i = 0; i < tokens.length; i++) {
            for (int j = 0; j < m; j++) x[i][j] = wte[tokens[i] * m + j] + wpe[i * m + j];
        }
        return x;
    }

    /** Logits [pos][d_vocab] of the whole sequence. */
    double[][] logits(int[] tokens) {
        return continueFrom(0, embed(tokens));
    }

    /** Logits [pos][d_vocab] from {@code residPre} ([pos][d_model], the input of block {@code layer}) onwards. */
    double[][] continueFrom(int layer, double[][] residPre) {
        double[][] x = copy(residPre);
        for (int l = layer; l < c.nLayers(); l++) x = block(l, x);
        double[][] n = layerNorm(x, w.lnFinalW(), w.lnFinalB());
        double[][] logits = matmul(n, d(w.wU()), c.dVocab());
        if (w.bU() != null) addRow(logits, d(w.bU()));
        return logits;
    }

    private double[][] block(int l, double[][] resid) {
        Gpt2Weights.Block b = w.blocks().get(l);
        int p = resid.length, m = c.dModel(), h = c.nHeads(), dh = c.dHead();
        double[][] x = layerNorm(resid, b.ln1W(), b.ln1B());
        double[][] qkv = matmul(x, d(b.wQkv()), 3 * m);
        if (b.bQkv() != null) addRow(qkv, d(b.bQkv()));
        double[][] z = new double[p][m];
        boolean local = c.attention().get(l) == Gpt2Config.AttentionKind.LOCAL;
        double scale = c.scaleAttn() ? 1 / Math.sqrt(dh) : 1;
        for (int head = 0; head < h; head++) {
            int qo = head * dh, ko = m + head * dh, vo = 2 * m + head * dh;
            for (int i = 0; i < p; i++) {
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    if (local && i - j >= c.window()) {
                        s[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int e = 0; e < dh; e++) dot += qkv[i][qo + e] * qkv[j][ko + e];
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int j = 0; j <= i; j++) {
                    for (int e = 0; e < dh; e++) z[i][head * dh + e] += s[j] / sum * qkv[j][vo + e];
                }
            }
        }
        double[][] attnOut = matmul(z, d(b.wO()), m);
        addRow(attnOut, d(b.bO()));
        double[][] mid = add(resid, attnOut);
        if (c.attnOnly()) return mid;
        return add(mid, mlp(l, mid));
    }

    /** Block {@code l}'s MLP (ln2, W_in, GELU-tanh, W_out, biases) of its input [pos][d_model] → [pos][d_model]. */
    double[][] mlp(int l, double[][] in) {
        Gpt2Weights.Block b = w.blocks().get(l);
        int m = c.dModel();
        double[][] pre = matmul(layerNorm(in, b.ln2W(), b.ln2B()), d(b.wIn()), c.dMlp());
        addRow(pre, d(b.bIn()));
        for (double[] row : pre) {
            for (int j = 0; j < row.length; j++) {
                double v = row[j];
                row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            }
        }
        double[][] out = matmul(pre, d(b.wOut()), m);
        addRow(out, d(b.bOut()));
        return out;
    }

    private double[][] layerNorm(double[][] x, Tensor weight, Tensor bias) {
        double[] wt = weight == null ? null : d(weight), bs = bias == null ? null : d(bias);
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            int m = x[i].length;
            double mean = 0, var = 0;
            for (double v : x[i]) mean += v / m;
            for (double v : x[i]) var += (v - mean) * (v - mean) / m;
            double rstd = 1 / Math.sqrt(var + c.lnEps());
            y[i] = new double[m];
            for (int j = 0; j < m; j++) {
                y[i][j] = (x[i][j] - mean) * rstd * (wt == null ? 1 : wt[j]) + (bs == null ? 0 : bs[j]);
            }
        }
        return y;
    }

    /** x [n][in] @ w (row-major [in, out]) → [n][out] */
    private static double[][] matmul(double[][] x, double[] w, int out) {
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int k = 0; k < x[i].length; k++) {
                double xv = x[i][k];
                for (int j = 0; j < out; j++) y[i][j] += xv * w[k * out + j];
            }
        }
        return y;
    }

    private static void addRow(double[][] x, double[] row) {
        for (double[] r : x) for (int j = 0; j < r.length; j++) r[j] += row[j];
    }

    static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            y[i] = new double[a[i].length];
            for (int j = 0; j < a[i].length; j++) y[i][j] = a[i][j] + b[i][j];
        }
        return y;
    }

    static double[][] copy(double[][] x) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) y[i] = x[i].clone();
        return y;
    }

    /** A tensor's values, row-major, widened to double. */
    static double[] d(Tensor t) {
        float[] f = t.toFloatArray();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    /** Row {@code b} of a [batch, pos, n] tensor as [pos][n] doubles. */
    static double[][] rows(Tensor t, int b) {
        int p = t.size(1), n = t.size(2);
        double[] all = d(t.select(0, b));
        double[][] out = new double[p][n];
        for (int i = 0; i < p; i++) System.arraycopy(all, i * n, out[i], 0, n);
        return out;
    }

    static double[] flat(double[][] x) {
        int n = x[0].length;
        double[] out = new double[x.length * n];
        for (int i = 0; i < x.length; i++) System.arraycopy(x[i], 0, out, i * n, n);
        return out;
    }
}
