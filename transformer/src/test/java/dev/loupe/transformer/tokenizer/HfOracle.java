package dev.loupe.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.loupe.weights.json.Json;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's Rust tokenizers (through DJL's JNI binding, native library from the jar) on a tokenizer.json, as the
 * reference for {@link WordPieceTokenizer}. One native tokenizer per maximum length, built on first use.
 */
final class HfOracle implements AutoCloseable {
    /** all-MiniLM-L6-v2's tokenizer.json (bert-base-uncased's vocabulary), a resource of the langchain4j model jar. */
    static final String MINILM_JSON = resource("/all-minilm-l6-v2-tokenizer.json");

    private final String json;
    private final Map<Integer, HuggingFaceTokenizer> byMaxLength = new HashMap<>();

    HfOracle(String json) {
        this.json = json;
    }

    /** The file's JSON with the BertNormalizer options replaced ({@code stripAccents} null: "as lowercase"). */
    static String withNormalizer(String json, boolean cleanText, boolean chinese, Boolean stripAccents,
            boolean lowercase) {
        Map<String, Object> root = new LinkedHashMap<>(castMap(Json.parse(json)));
        Map<String, Object> normalizer = new LinkedHashMap<>(castMap(root.get("normalizer")));
        normalizer.put("clean_text", cleanText);
        normalizer.put("handle_chinese_chars", chinese);
        normalizer.put("strip_accents", stripAccents);
        normalizer.put("lowercase", lowercase);
        root.put("normalizer", normalizer);
        return Json.write(root);
    }

    /** The file's JSON with {@code extra} appended to its added tokens (maps with id, content, special, normalized). */
    static String withAddedTokens(String json, List<Map<String, Object>> extra) {
        Map<String, Object> root = new LinkedHashMap<>(castMap(Json.parse(json)));
        List<Object> added = new ArrayList<>((List<?>) root.get("added_tokens"));
        for (Map<String, Object> t : extra) {
            Map<String, Object> token = new LinkedHashMap<>(Map.of("single_word", false, "lstrip", false, "rstrip", false));
            token.putAll(t);
            added.add(token);
        }
        root.put("added_tokens", added);
        return Json.write(root);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Object o) {
        return (Map<String, Object>) o;
    }

    /** Hugging Face's encoding with special tokens; {@code pair} may be null; maxLength 0 means no truncation. */
    Encoding encode(String text, String pair, int maxLength) {
        ai.djl.huggingface.tokenizers.Encoding e = pair == null ? tokenizer(maxLength).encode(text)
                : tokenizer(maxLength).encode(text, pair);
        return new Encoding(ints(e.getIds()), ints(e.getTypeIds()), e.getTokens());
    }

    /** Hugging Face's decoding with special tokens skipped. */
    String decode(int[] ids) {
        return tokenizer(0).decode(Arrays.stream(ids).asLongStream().toArray(), true);
    }

    /** Asserts ids, type ids and tokens of ours equal Hugging Face's. */
    void assertSame(WordPieceTokenizer ours, String text, String pair, int maxLength) {
        Encoding expected = encode(text, pair, maxLength);
        Encoding actual = maxLength == 0 ? ours.encode(text, pair) : ours.encode(text, pair, maxLength);
        String shown = "\"" + shorten(text) + "\"" + (pair == null ? "" : " + \"" + shorten(pair) + "\"")
                + (maxLength == 0 ? "" : " max " + maxLength);
        assertArrayEquals(expected.tokens(), actual.tokens(), () -> "tokens of " + shown);
        assertArrayEquals(expected.ids(), actual.ids(), () -> "ids of " + shown);
        assertArrayEquals(expected.typeIds(), actual.typeIds(), () -> "type ids of " + shown);
    }

    /** At most 60 chars of {@code s}, controls and other invisible characters as \\uXXXX, for failure messages. */
    static String shorten(String s) {
        StringBuilder sb = new StringBuilder();
        s.substring(0, Math.min(60, s.length())).codePoints().forEach(c -> {
            int type = Character.getType(c);
            boolean invisible = type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                    || type == Character.UNASSIGNED || type == Character.PRIVATE_USE || Character.isWhitespace(c);
            if (invisible && c != ' ') sb.append(String.format("\\u%04X", c));
            else sb.appendCodePoint(c);
        });
        return s.length() > 60 ? sb + "…" : sb.toString();
    }

    private HuggingFaceTokenizer tokenizer(int maxLength) {
        return byMaxLength.computeIfAbsent(maxLength, n -> {
            try (InputStream in = new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8))) {
                // The file's own truncation (128) and padding sections are switched off, or set to the request.
                Map<String, String> options = new HashMap<>(Map.of("padding", "false"));
                if (n == 0) {
                    options.put("truncation", "false");
                } else {
                    options.put("truncation", "longest_first");
                    options.put("maxLength", Integer.toString(n));
                }
                return HuggingFaceTokenizer.newInstance(in, options);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static int[] ints(long[] a) {
        return Arrays.stream(a).mapToInt(Math::toIntExact).toArray();
    }

    private static String resource(String name) {
        try (InputStream in = HfOracle.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " not on the test class path (langchain4j MiniLM jar)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        byMaxLength.values().forEach(HuggingFaceTokenizer::close);
        byMaxLength.clear();
    }
}
