package dev.loupe.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.Activation;
import dev.loupe.transformer.hooks.Hooks;
import java.io.InputStream;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The built-in encoders against ONNX Runtime running the very same .onnx file: last hidden state at every position
 * (padding included) and the pooled, normalised sentence embedding, recomputed here in double precision from ORT's
 * hidden state. Token ids are hand-picked from the bundled tokenizer.json vocabulary.
 */
class BuiltInOnnxParityTest {
    // [CLS] the cat sat on the mat . [SEP] / [CLS] a dog is playing in the park [SEP] / [CLS] paris [SEP] ...
    static final int[][] IDS = {
            {101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102},
            {101, 1037, 3899, 2003, 2652, 1999, 1996, 2380, 102},
            {101, 3000, 2003, 1996, 3007, 1997, 2605, 1012, 102},
            {101, 7592, 2088, 102},
            {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102},
    };

    @ParameterizedTest
    @ValueSource(strings = {"minilm", "bge-small"})
    void hiddenStateAndEmbeddingMatchOnnxRuntime(String name) throws Exception {
        BuiltIn b = BuiltIn.named(name);
        BertModel model = BertModel.builtIn(name);
        assertEquals(384, model.config().dModel());
        assertEquals(12, model.config().nHeads());
        assertEquals(name.equals("minilm") ? 6 : 12, model.config().nLayers());
        assertEquals(1e-12f, model.config().lnEps());
        assertEquals(Activation.GELU, model.config().activation());

        BertInput input = BertInput.ofIds(IDS);
        int batch = input.batch(), pos = input.length(), d = 384;
        float[][][] ref = onnxRuntime(b, input);

        BertModel.Output out = model.run(input, Hooks.none());
        assertArrayEquals(new int[] {batch, pos, d}, out.hidden().shape());
        float[] ours = out.hidden().toFloatArray();
        double maxErr = 0, maxRef = 0;
        for (int r = 0; r < batch; r++) {
            for (int i = 0; i < pos; i++) {
                for (int k = 0; k < d; k++) {
                    maxErr = Math.max(maxErr, Math.abs(ours[(r * pos + i) * d + k] - ref[r][i][k]));
                    maxRef = Math.max(maxRef, Math.abs(ref[r][i][k]));
                }
            }
        }
        System.out.printf("%s: last hidden state max |ours - ORT| = %.3g, max |ORT| = %.3g, relative %.3g%n", name,
                maxErr, maxRef, maxErr / maxRef);
        assertTrue(maxErr <= 1e-4 * maxRef, name + ": max abs error " + maxErr + " vs max |ref| " + maxRef);

        float[] emb = out.embedding().toFloatArray();
        double worst = 1;
        for (int r = 0; r < batch; r++) {
            double[] e = pooledNormalized(ref[r], IDS[r].length, b.pooling().mode());
            double dot = 0, n2 = 0;
            for (int k = 0; k < d; k++) {
                dot += e[k] * emb[r * d + k];
                n2 += (double) emb[r * d + k] * emb[r * d + k];
            }
            assertEquals(1.0, n2, 1e-5, "embedding " + r + " is L2-normalised");
            worst = Math.min(worst, dot / Math.sqrt(n2));
        }
        System.out.printf("%s: worst embedding cosine vs ORT = %.9f%n", name, worst);
        assertTrue(worst >= 0.99999, name + ": cosine " + worst);
    }

    /** ORT's last_hidden_state [batch][pos][d_model] for {@code input} with 2 intra-op threads. */
    static float[][][] onnxRuntime(BuiltIn b, BertInput input) throws Exception {
        byte[] bytes;
        try (InputStream in = b.open(b.onnxResource())) {
            bytes = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(bytes, opts);
                 var ids = ai.onnxruntime.OnnxTensor.createTensor(env, longs(input.ids()));
                 var mask = ai.onnxruntime.OnnxTensor.createTensor(env, longs(input.mask()));
                 var types = ai.onnxruntime.OnnxTensor.createTensor(env, longs(input.typeIds()));
                 OrtSession.Result r = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                         "token_type_ids", types))) {
                return (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
            }
        }
    }

    static long[][] longs(Tensor t) {
        float[] v = t.toFloatArray();
        long[][] out = new long[t.size(0)][t.size(1)];
        for (int r = 0; r < out.length; r++) for (int i = 0; i < out[r].length; i++) out[r][i] = (long) v[r * out[r].length + i];
        return out;
    }

    /** Mean over the first {@code real} rows (or row 0 for CLS), then L2-normalised, in double. */
    static double[] pooledNormalized(float[][] hidden, int real, Pooling.Mode mode) {
        int d = hidden[0].length;
        double[] e = new double[d];
        if (mode == Pooling.Mode.CLS) {
            for (int k = 0; k < d; k++) e[k] = hidden[0][k];
        } else {
            for (int i = 0; i < real; i++) for (int k = 0; k < d; k++) e[k] += hidden[i][k] / (double) real;
        }
        double n = 0;
        for (double x : e) n += x * x;
        n = Math.sqrt(n);
        for (int k = 0; k < d; k++) e[k] /= n;
        return e;
    }
}
