package dev.loupe.jmh;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.bert.BertInput;
import dev.loupe.transformer.bert.BertModel;
import dev.loupe.transformer.bert.BuiltIn;
import dev.loupe.transformer.tokenizer.Encoding;
import dev.loupe.transformer.tokenizer.WordPieceTokenizer;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * MiniLM (all-MiniLM-L6-v2) sentence-embedding throughput, Loupe beside ONNX Runtime on the same token ids in the same
 * process: {@code batch} sequences of exactly {@code seq} tokens, each side timed in rounds that alternate, median of
 * all timed calls after a warm-up. Loupe's threads come from {@code LOUPE_THREADS}; ORT gets {@code --ort-threads}
 * intra-op threads. Prints JSON lines: one per engine, then the ratio. Run through {@code bench/minilm-vs-ort.sh}.
 *
 * <p>Arguments: {@code [--batch 32] [--seq 64] [--warmup-s 8] [--rounds 5] [--calls 4] [--ort-threads 2]}.
 */
public final class MiniLmVsOrt {
    private MiniLmVsOrt() {
    }

    public static void main(String[] argv) throws Exception {
        Map<String, Integer> a = args(argv);
        int batch = a.get("--batch"), seq = a.get("--seq");
        BuiltIn b = BuiltIn.MINILM;
        WordPieceTokenizer tok;
        byte[] onnx;
        tok = b.tokenizer();
        try (InputStream o = b.open(b.onnxResource())) {
            onnx = o.readAllBytes();
        }
        BertInput input = input(tok, batch, seq);
        BertModel model = BertModel.builtIn(b.id());

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(a.get("--ort-threads"));
            opts.setInterOpNumThreads(1);
            try (OrtSession session = env.createSession(onnx, opts);
                 OnnxTensor ids = OnnxTensor.createTensor(env, longs(input.ids()));
                 OnnxTensor mask = OnnxTensor.createTensor(env, longs(input.mask()));
                 OnnxTensor types = OnnxTensor.createTensor(env, longs(input.typeIds()))) {
                Map<String, OnnxTensor> feeds = Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types);
                Engine loupe = () -> {
                    try (var off = Autograd.noGrad()) {
                        return model.embed(input).toFloatArray();
                    }
                };
                Engine ort = () -> ortEmbed(session, feeds);
                double agree = worstCosine(loupe.embed(), ort.embed(), batch);

                long warmEnd = System.nanoTime() + a.get("--warmup-s") * 1_000_000_000L;
                while (System.nanoTime() < warmEnd) {
                    loupe.embed();
                    ort.embed();
                }
                List<Double> lt = new ArrayList<>(), ot = new ArrayList<>();
                for (int r = 0; r < a.get("--rounds"); r++) {
                    for (int c = 0; c < a.get("--calls"); c++) lt.add(time(loupe));
                    for (int c = 0; c < a.get("--calls"); c++) ot.add(time(ort));
                }
                double lm = median(lt), om = median(ot);
                System.out.println(line("loupe", batch, seq, lm, lt.size(), System.getenv("LOUPE_THREADS")));
                System.out.println(line("onnxruntime", batch, seq, om, ot.size(), a.get("--ort-threads").toString()));
                System.out.printf(Locale.ROOT, "{\"ratio\":%.3f,\"worst_cosine\":%.7f}%n", om / lm, agree);
            }
        }
    }

    @FunctionalInterface
    private interface Engine {
        /** Normalised sentence embeddings, [batch * d_model] row-major. */
        float[] embed() throws OrtException;
    }

    private static double time(Engine e) throws OrtException {
        long t0 = System.nanoTime();
        e.embed();
        return (System.nanoTime() - t0) / 1e6;
    }

    /** ORT's last hidden state, mean-pooled over the (all real) tokens and L2-normalised as MiniLM does. */
    private static float[] ortEmbed(OrtSession session, Map<String, OnnxTensor> feeds) throws OrtException {
        try (OrtSession.Result r = session.run(feeds)) {
            float[][][] h = (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
            int d = h[0][0].length;
            float[] out = new float[h.length * d];
            for (int s = 0; s < h.length; s++) {
                double[] mean = new double[d];
                for (float[] tokenRow : h[s]) for (int j = 0; j < d; j++) mean[j] += tokenRow[j];
                double norm = 0;
                for (int j = 0; j < d; j++) norm += mean[j] * mean[j];
                norm = Math.sqrt(norm);
                for (int j = 0; j < d; j++) out[s * d + j] = (float) (mean[j] / norm);
            }
            return out;
        }
    }

    /** {@code batch} distinct texts, each encoded to exactly {@code seq} tokens ([CLS] ... [SEP], no padding). */
    private static BertInput input(WordPieceTokenizer tok, int batch, int seq) {
        String[] words = ("the quick brown fox jumps over a lazy dog while researchers measure how sentence encoders "
                + "represent meaning across many layers of attention and feed forward blocks in small models").split(" ");
        List<Encoding> enc = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 4 * seq; w++) text.append(words[(w * 7 + s * 3) % words.length]).append(' ');
            Encoding e = tok.encode(text.toString(), null, seq);
            if (e.length() != seq) throw new IllegalStateException("text " + s + " encodes to " + e.length() + " < " + seq);
            enc.add(e);
        }
        return BertInput.of(enc);
    }

    private static long[][] longs(Tensor t) {
        float[] v = t.toFloatArray();
        long[][] out = new long[t.size(0)][t.size(1)];
        for (int r = 0; r < out.length; r++) for (int i = 0; i < out[r].length; i++) out[r][i] = (long) v[r * out[r].length + i];
        return out;
    }

    private static double worstCosine(float[] x, float[] y, int batch) {
        int d = x.length / batch;
        double worst = 1;
        for (int s = 0; s < batch; s++) {
            double dot = 0, nx = 0, ny = 0;
            for (int j = s * d; j < (s + 1) * d; j++) {
                dot += (double) x[j] * y[j];
                nx += (double) x[j] * x[j];
                ny += (double) y[j] * y[j];
            }
            worst = Math.min(worst, dot / Math.sqrt(nx * ny));
        }
        return worst;
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String line(String engine, int batch, int seq, double medianMs, int calls, String threads) {
        return String.format(Locale.ROOT, "{\"engine\":\"%s\",\"batch\":%d,\"seq\":%d,\"threads\":\"%s\",\"calls\":%d,"
                + "\"median_ms\":%.2f,\"sentences_per_s\":%.1f}", engine, batch, seq, threads, calls, medianMs,
                batch * 1000.0 / medianMs);
    }

    private static Map<String, Integer> args(String[] argv) {
        Map<String, Integer> a = new java.util.LinkedHashMap<>(Map.of("--batch", 32, "--seq", 64, "--warmup-s", 8,
                "--rounds", 5, "--calls", 4, "--ort-threads", 2));
        for (int i = 0; i < argv.length; i += 2) {
            if (!a.containsKey(argv[i]) || i + 1 >= argv.length) {
                throw new IllegalArgumentException("usage: MiniLmVsOrt " + a.keySet() + " (each with an integer); got "
                        + Arrays.toString(argv));
            }
            a.put(argv[i], Integer.parseInt(argv[i + 1]));
        }
        return a;
    }
}
