package dev.loupe.transformer.bert;

import dev.loupe.transformer.tokenizer.WordPieceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The sentence encoders whose ONNX export and {@code tokenizer.json} ship as classpath resources in langchain4j's
 * embedding artifacts (a compile dependency with nothing transitive): the name {@link BertModel#builtIn} takes, the
 * resources, and the sentence-transformers pooling of each model.
 */
public enum BuiltIn {
    /** sentence-transformers/all-MiniLM-L6-v2 (via Xenova's ONNX export): mean pooling, normalised. */
    MINILM("minilm", "all-minilm-l6-v2.onnx", "all-minilm-l6-v2-tokenizer.json", new Pooling(Pooling.Mode.MEAN, true)),
    /** BAAI/bge-small-en-v1.5: [CLS] pooling, normalised. */
    BGE_SMALL("bge-small", "bge-small-en-v1.5.onnx", "bge-small-en-v1.5-tokenizer.json",
            new Pooling(Pooling.Mode.CLS, true));

    private final String id;
    private final String onnxResource;
    private final String tokenizerResource;
    private final Pooling pooling;

    BuiltIn(String id, String onnxResource, String tokenizerResource, Pooling pooling) {
        this.id = id;
        this.onnxResource = onnxResource;
        this.tokenizerResource = tokenizerResource;
        this.pooling = pooling;
    }

    /** The built-in called {@code name} ("minilm", "bge-small"; case-insensitive). */
    public static BuiltIn named(String name) {
        for (BuiltIn b : values()) if (b.id.equals(name.toLowerCase(Locale.ROOT))) return b;
        throw new IllegalArgumentException("no built-in model '" + name + "' (built in: minilm, bge-small)");
    }

    public String id() {
        return id;
    }

    /** Classpath resource name of the ONNX export. */
    public String onnxResource() {
        return onnxResource;
    }

    /** Classpath resource name of the Hugging Face {@code tokenizer.json} (WordPiece). */
    public String tokenizerResource() {
        return tokenizerResource;
    }

    public Pooling pooling() {
        return pooling;
    }

    /**
     * This model's WordPiece tokenizer, read from its bundled {@code tokenizer.json}.
     *
     * @throws IOException when the artifact is not on the classpath
     */
    public WordPieceTokenizer tokenizer() throws IOException {
        try (InputStream in = open(tokenizerResource)) {
            return WordPieceTokenizer.fromTokenizerJson(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** True when {@code name} names a built-in ("minilm", "bge-small"; case-insensitive). */
    public static boolean exists(String name) {
        for (BuiltIn b : values()) if (b.id.equalsIgnoreCase(name)) return true;
        return false;
    }

    /**
     * Opens one of this model's resources.
     *
     * @throws IOException when the artifact is not on the classpath
     */
    public InputStream open(String resource) throws IOException {
        InputStream in = BuiltIn.class.getClassLoader().getResourceAsStream(resource);
        if (in == null) {
            throw new IOException("classpath resource '" + resource + "' of built-in model '" + id + "' is missing: "
                    + "is the langchain4j embeddings artifact on the classpath?");
        }
        return in;
    }
}
