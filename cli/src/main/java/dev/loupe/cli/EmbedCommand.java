package dev.loupe.cli;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Tensor;
import dev.loupe.weights.AtomicFiles;
import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code loupe embed}: sentence embeddings of texts and their pairwise cosine similarities. */
final class EmbedCommand implements Command {
    /** Texts per forward pass: bounds the activations' memory for long lists. */
    private static final int BATCH = 32;

    static final String HELP = """
            usage: loupe embed --model M --text TEXT [--text TEXT ...] [--out FILE.json]

            Prints JSON {"model", "embeddings": [[...], ...], "cosine": [[...], ...]}: one sentence embedding
            per text (the model's pooling and normalisation, as sentence-transformers computes it) and the
            texts' pairwise cosine similarities. Each text is encoded as [CLS] text [SEP] and truncated to
            the model's context.

            """ + EncoderInputs.MODEL_HELP + """
              --text TEXT         a text to embed (repeat for several)
              --out FILE          write the JSON there instead (replaced atomically); prints
                                  {"file", "count", "dim"}
            """;

    @Override
    public String summary() {
        return "sentence embeddings of texts (BERT) and their cosine similarities, as JSON";
    }

    @Override
    public int run(List<String> args) throws IOException {
        if (Args.wantsHelp(args)) {
            System.out.print(HELP);
            return 0;
        }
        Args a = Args.parse("embed", args, Set.of("--model", "--text", "--out"), Set.of());
        String spec = a.require("--model");
        List<String> texts = a.all("--text");
        if (texts.isEmpty()) throw new IllegalArgumentException("--text is required (repeat it for several texts)");
        Path out = a.has("--out") ? Path.of(a.get("--out")) : null;
        if (out != null && !Files.isDirectory(out.toAbsolutePath().getParent())) {
            throw new IllegalArgumentException("--out: folder " + out.toAbsolutePath().getParent() + " does not exist");
        }
        if (!EncoderInputs.isEncoder(spec)) {
            throw new IllegalArgumentException("--model " + spec + " is not a BERT encoder (give minilm, bge-small, "
                    + "a folder whose config.json has model_type bert, or an .onnx file)");
        }
        EncoderInputs.Encoder enc = EncoderInputs.load(spec);
        float[][] emb = new float[texts.size()][];
        try (var off = Autograd.noGrad()) {
            for (int from = 0; from < texts.size(); from += BATCH) {
                List<String> chunk = texts.subList(from, Math.min(texts.size(), from + BATCH));
                Tensor e = enc.model().embed(enc.input(chunk)); // [chunk, d_model]
                for (int i = 0; i < chunk.size(); i++) emb[from + i] = e.select(0, i).toFloatArray();
            }
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", enc.name());
        json.put("embeddings", List.of(emb));
        json.put("cosine", cosine(emb));
        if (out == null) {
            System.out.println(Json.write(json));
        } else {
            AtomicFiles.writeString(out, Json.write(json) + "\n");
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("file", out.toString());
            summary.put("count", emb.length);
            summary.put("dim", emb[0].length);
            System.out.println(Json.write(summary));
        }
        return 0;
    }

    /** Pairwise cosine similarities [n, n], in double; 0 where a vector is all zeros. */
    static List<double[]> cosine(float[][] v) {
        double[] norm = new double[v.length];
        for (int i = 0; i < v.length; i++) norm[i] = Math.sqrt(dot(v[i], v[i]));
        List<double[]> rows = new ArrayList<>();
        for (int i = 0; i < v.length; i++) {
            double[] row = new double[v.length];
            for (int j = 0; j < v.length; j++) {
                double d = norm[i] * norm[j];
                row[j] = d == 0 ? 0 : dot(v[i], v[j]) / d;
            }
            rows.add(row);
        }
        return rows;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }
}
