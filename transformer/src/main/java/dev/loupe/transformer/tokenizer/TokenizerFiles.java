package dev.loupe.transformer.tokenizer;

import com.knuddels.jtokkit.Encodings;
import dev.loupe.weights.json.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the three vocabulary sources into a {@link Gpt2Tokenizer}: Hugging Face {@code vocab.json} + {@code merges.txt},
 * Hugging Face {@code tokenizer.json}, and JTokkit's bundled {@code r50k_base} ranks. All three end as the same table
 * (id → bytes, merge pair → priority and result), so one BPE loop serves them.
 */
final class TokenizerFiles {
    static final String R50K_RESOURCE = "/com/knuddels/jtokkit/r50k_base.tiktoken";
    static final String R50K_SOURCE = "r50k_base (bundled with JTokkit)";

    private TokenizerFiles() {}

    static Gpt2Tokenizer vocabAndMerges(Path vocabJson, Path mergesTxt) throws IOException {
        Map<String, Integer> vocab = vocabMap(Json.parse(Files.readString(vocabJson)), vocabJson.toString());
        List<String[]> merges = new ArrayList<>();
        List<String> lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            // GPT-2's file opens with "#version: 0.2"; blank lines (a trailing newline) carry no merge.
            if ((i == 0 && line.startsWith("#version")) || line.isBlank()) continue;
            String[] parts = line.split(" ");
            if (parts.length != 2) {
                throw new IllegalArgumentException(mergesTxt + " line " + (i + 1) + ": expected 'left right' but got '"
                        + line + "'");
            }
            merges.add(parts);
        }
        Map<String, Integer> specials = new LinkedHashMap<>();
        Integer eot = vocab.get(Gpt2Tokenizer.END_OF_TEXT);
        if (eot != null) specials.put(Gpt2Tokenizer.END_OF_TEXT, eot);
        return build(vocab, merges, specials, vocabJson + " + " + mergesTxt.getFileName());
    }

    static Gpt2Tokenizer tokenizerJson(Path file) throws IOException {
        if (!(Json.parse(Files.readString(file)) instanceof Map<?, ?> root)) {
            throw new IllegalArgumentException(file + ": expected a JSON object");
        }
        if (!(root.get("model") instanceof Map<?, ?> model)) {
            throw new IllegalArgumentException(file + ": no \"model\" object");
        }
        Object type = model.get("type");
        if (type != null && !"BPE".equals(type)) {
            throw new IllegalArgumentException(file + ": model type is " + type + ", expected BPE");
        }
        Map<String, Integer> vocab = vocabMap(model.get("vocab"), file + " model.vocab");
        List<String[]> merges = new ArrayList<>();
        if (!(model.get("merges") instanceof List<?> list)) {
            throw new IllegalArgumentException(file + ": model.merges is not an array");
        }
        // Older files write a merge as "left right", newer ones as ["left", "right"] (which allows spaces in tokens).
        for (int i = 0; i < list.size(); i++) {
            Object m = list.get(i);
            String[] pair = null;
            if (m instanceof String s) {
                pair = s.split(" ");
            } else if (m instanceof List<?> l && l.size() == 2 && l.get(0) instanceof String a
                    && l.get(1) instanceof String b) {
                pair = new String[] {a, b};
            }
            if (pair == null || pair.length != 2) {
                throw new IllegalArgumentException(file + ": model.merges[" + i + "] is not a pair: " + m);
            }
            merges.add(pair);
        }
        Map<String, Integer> specials = new LinkedHashMap<>();
        if (root.get("added_tokens") instanceof List<?> added) {
            for (Object o : added) {
                if (o instanceof Map<?, ?> t && t.get("content") instanceof String content
                        && t.get("id") instanceof Long id) {
                    specials.put(content, Math.toIntExact(id));
                } else {
                    throw new IllegalArgumentException(file + ": added_tokens entry without content and id: " + o);
                }
            }
        }
        return build(vocab, merges, specials, file.toString());
    }

    /** A token → id object (tokenizer.json's {@code model.vocab}, vocab.json), ids checked to be non-negative ints. */
    static Map<String, Integer> vocabMap(Object json, String where) {
        if (!(json instanceof Map<?, ?> map)) throw new IllegalArgumentException(where + ": vocab is not an object");
        Map<String, Integer> vocab = new HashMap<>(map.size() * 2);
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof Long id) || id < 0 || id > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(where + ": id of '" + e.getKey() + "' is " + e.getValue());
            }
            vocab.put((String) e.getKey(), id.intValue());
        }
        return vocab;
    }

    /**
     * The common table from token spellings in the byte-level alphabet; merge priority is the index in
     * {@code merges}. Special tokens keep their UTF-8 text as bytes and never take part in merges.
     */
    private static Gpt2Tokenizer build(Map<String, Integer> vocab, List<String[]> merges,
            Map<String, Integer> specials, String source) {
        int size = 0;
        for (int id : vocab.values()) size = Math.max(size, id + 1);
        for (int id : specials.values()) size = Math.max(size, id + 1);
        byte[][] tokenBytes = new byte[size][];
        for (Map.Entry<String, Integer> e : specials.entrySet()) tokenBytes[e.getValue()] = ByteLevel.utf8(e.getKey());
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            if (specials.get(e.getKey()) != null && specials.get(e.getKey()).equals(e.getValue())) continue;
            if (tokenBytes[e.getValue()] != null) {
                throw new IllegalArgumentException(source + ": id " + e.getValue() + " is given to two tokens");
            }
            tokenBytes[e.getValue()] = ByteLevel.decode(e.getKey());
        }
        int[] byteToId = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.charOf(b)));
            if (id == null) {
                throw new IllegalArgumentException(String.format(
                        "%s: no token for byte 0x%02X ('%c'); a byte-level vocabulary needs all 256", source, b,
                        ByteLevel.charOf(b)));
            }
            byteToId[b] = id;
        }
        MergeTable table = new MergeTable(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] m = merges.get(rank);
            Integer left = vocab.get(m[0]);
            Integer right = vocab.get(m[1]);
            Integer merged = vocab.get(m[0] + m[1]);
            if (left == null || right == null || merged == null) {
                throw new IllegalArgumentException(source + ": merge " + rank + " '" + m[0] + " " + m[1]
                        + "' names a token missing from the vocabulary");
            }
            table.put(left, right, rank, merged);
        }
        return new Gpt2Tokenizer(tokenBytes, byteToId, table, specials, source);
    }

    /** GPT-2 from r50k_base ranks (a token's rank is its GPT-2 id), merges from {@link #deriveMerges}. */
    static Gpt2Tokenizer r50kBase() {
        List<byte[]> ranks = readRanks();
        int n = ranks.size();
        byte[][] tokenBytes = new byte[n + 1][];
        int[] byteToId = new int[256];
        for (int r = 0; r < n; r++) {
            tokenBytes[r] = ranks.get(r);
            if (tokenBytes[r].length == 1) byteToId[tokenBytes[r][0] & 0xFF] = r;
        }
        List<int[]> merges = deriveMerges(ranks);
        MergeTable table = new MergeTable(merges.size());
        for (int[] m : merges) table.put(m[0], m[1], m[2], m[2]);
        tokenBytes[n] = ByteLevel.utf8(Gpt2Tokenizer.END_OF_TEXT);
        return new Gpt2Tokenizer(tokenBytes, byteToId, table, Map.of(Gpt2Tokenizer.END_OF_TEXT, n), R50K_SOURCE);
    }

    /**
     * The merge list implied by BPE ranks, as {left, right, merged} rank triples in increasing merged rank. Ranks list
     * no merges, so each multi-byte token's merge is recovered as the split BPE itself reaches: run rank-BPE on the
     * token's bytes using only lower ranks; the two parts left are the pair whose merge creates it. For r50k_base this
     * reproduces GPT-2's 50,000-line {@code merges.txt}, with merged rank = 256 + line.
     */
    static List<int[]> deriveMerges(List<byte[]> ranks) {
        int n = ranks.size();
        Map<String, Integer> rankOf = new HashMap<>(n * 2);
        for (int r = 0; r < n; r++) rankOf.put(latin1(ranks.get(r)), r);
        List<int[]> out = new ArrayList<>(n);
        for (int r = 0; r < n; r++) {
            byte[] token = ranks.get(r);
            if (token.length < 2) continue;
            List<String> parts = new ArrayList<>(token.length);
            for (byte b : token) parts.add(latin1(new byte[] {b}));
            while (parts.size() > 2) {
                int best = -1;
                int bestRank = r;
                for (int i = 0; i + 1 < parts.size(); i++) {
                    Integer pr = rankOf.get(parts.get(i) + parts.get(i + 1));
                    if (pr != null && pr < bestRank) {
                        bestRank = pr;
                        best = i;
                    }
                }
                if (best < 0) break;
                parts.set(best, parts.get(best) + parts.remove(best + 1));
            }
            // Otherwise the token is unreachable by BPE and, as in tiktoken, never produced.
            if (parts.size() == 2) out.add(new int[] {rankOf.get(parts.get(0)), rankOf.get(parts.get(1)), r});
        }
        return out;
    }

    /** Ranks file lines are "base64(token bytes) rank", ranks 0..n-1 in order. */
    static List<byte[]> readRanks() {
        try (InputStream in = Encodings.class.getResourceAsStream(R50K_RESOURCE)) {
            if (in == null) throw new IllegalStateException(R50K_RESOURCE + " not found on the class path (JTokkit)");
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            List<byte[]> out = new ArrayList<>(50_256);
            Base64.Decoder base64 = Base64.getDecoder();
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.isBlank()) continue;
                int space = line.indexOf(' ');
                int rank = Integer.parseInt(line.substring(space + 1).trim());
                if (rank != out.size()) {
                    throw new IllegalStateException(R50K_RESOURCE + ": rank " + rank + " out of order");
                }
                out.add(base64.decode(line.substring(0, space)));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes as a String of chars 0..255: a cheap hashable key for a byte sequence. */
    static String latin1(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
