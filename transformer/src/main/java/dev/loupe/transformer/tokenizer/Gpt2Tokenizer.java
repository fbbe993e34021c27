package dev.loupe.transformer.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level byte-pair-encoding tokenizer: text → UTF-8 bytes, split into words by GPT-2's pre-tokenization
 * pattern, each word's bytes merged pairwise by merge priority until no listed merge applies.
 *
 * <p>Produces the same ids as OpenAI's {@code r50k_base} encoding (tiktoken, JTokkit) and Hugging Face's GPT-2
 * tokenizer. Load it with {@link #fromFolder(Path)}, {@link #fromVocabAndMerges(Path, Path)},
 * {@link #fromTokenizerJson(Path)} or {@link #r50kBase()}.
 *
 * <p>Special tokens ({@code <|endoftext|>}, id 50256, and any {@code added_tokens} of a {@code tokenizer.json}) are
 * recognised inside text by default, as Hugging Face does for added tokens; {@link #withSpecialTokensInText(boolean)}
 * gives a tokenizer that encodes their text as ordinary characters instead.
 *
 * <p>Immutable apart from an internal word cache; thread-safe.
 */
public final class Gpt2Tokenizer {
    /** GPT-2's end-of-text token, which TransformerLens also prepends as beginning-of-sequence. */
    public static final String END_OF_TEXT = "<|endoftext|>";

    /**
     * GPT-2's pre-tokenization pattern. Python's and Rust's {@code \s} is Unicode whitespace; Java's is ASCII unless
     * asked, hence UNICODE_CHARACTER_CLASS (which leaves {@code \p{L}} and {@code \p{N}} as they are). Contractions are
     * lower-case only, as in GPT-2: "'S" splits as "'" + "S".
     */
    private static final Pattern WORDS = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** Words cached before the cache is emptied; bounds memory on an endless stream of distinct words. */
    static final int CACHE_LIMIT = 1 << 16;

    private final byte[][] tokenBytes;
    private final int[] byteToId;
    private final MergeTable merges;
    private final Map<String, Integer> specials;
    private final boolean specialsInText;
    private final String source;
    private final Map<String, int[]> cache;

    Gpt2Tokenizer(byte[][] tokenBytes, int[] byteToId, MergeTable merges, Map<String, Integer> specials,
            String source) {
        this(tokenBytes, byteToId, merges, Map.copyOf(specials), true, source, new ConcurrentHashMap<>());
    }

    private Gpt2Tokenizer(byte[][] tokenBytes, int[] byteToId, MergeTable merges, Map<String, Integer> specials,
            boolean specialsInText, String source, Map<String, int[]> cache) {
        this.tokenBytes = tokenBytes;
        this.byteToId = byteToId;
        this.merges = merges;
        this.specials = specials;
        this.specialsInText = specialsInText;
        this.source = source;
        this.cache = cache;
    }

    /**
     * The tokenizer for a Hugging Face model folder: {@code tokenizer.json} if present, else {@code vocab.json} with
     * {@code merges.txt}, else the bundled {@code r50k_base} (GPT-2's own vocabulary), so a folder holding only weights
     * still works. {@link #source()} says which was used. Throws {@link IOException} when a present file cannot be read
     * and {@link IllegalArgumentException} when it is malformed.
     */
    public static Gpt2Tokenizer fromFolder(Path folder) throws IOException {
        Path tokenizerJson = folder.resolve("tokenizer.json");
        if (Files.isRegularFile(tokenizerJson)) return fromTokenizerJson(tokenizerJson);
        Path vocab = folder.resolve("vocab.json");
        Path mergesTxt = folder.resolve("merges.txt");
        if (Files.isRegularFile(vocab) && Files.isRegularFile(mergesTxt)) return fromVocabAndMerges(vocab, mergesTxt);
        return r50kBase();
    }

    /** Loads Hugging Face's {@code vocab.json} (token → id) and {@code merges.txt} (one "left right" merge a line). */
    public static Gpt2Tokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt) throws IOException {
        return TokenizerFiles.vocabAndMerges(vocabJson, mergesTxt);
    }

    /** Loads a Hugging Face {@code tokenizer.json} whose model is BPE; its {@code added_tokens} become special tokens. */
    public static Gpt2Tokenizer fromTokenizerJson(Path tokenizerJson) throws IOException {
        return TokenizerFiles.tokenizerJson(tokenizerJson);
    }

    /**
     * GPT-2's vocabulary from JTokkit's bundled {@code r50k_base} ranks, merges derived from the ranks, plus
     * {@code <|endoftext|>} = 50256. Built on first use (about 50k ranks, merges derived) and shared afterwards:
     * the tokenizer is immutable apart from its thread-safe word cache.
     */
    public static Gpt2Tokenizer r50kBase() {
        return R50k.INSTANCE;
    }

    /** Holder so that the ranks are read and the merges derived once, on first use. */
    private static final class R50k {
        static final Gpt2Tokenizer INSTANCE = TokenizerFiles.r50kBase();
    }

    /** Where the vocabulary came from: a file path or "r50k_base (bundled with JTokkit)". */
    public String source() {
        return source;
    }

    /**
     * A tokenizer sharing this one's vocabulary that does ({@code true}) or does not recognise special-token text such
     * as {@code "<|endoftext|>"} inside input; when not, that text is encoded as ordinary characters.
     */
    public Gpt2Tokenizer withSpecialTokensInText(boolean recognise) {
        if (recognise == specialsInText) return this;
        return new Gpt2Tokenizer(tokenBytes, byteToId, merges, specials, recognise, source, cache);
    }

    /** Number of ids, special tokens included: one more than the largest id (50257 for GPT-2). */
    public int vocabSize() {
        return tokenBytes.length;
    }

    /** The token ids of {@code text}, with no beginning-of-sequence token; never null, empty for "". */
    public int[] encode(String text) {
        return encode(text, false);
    }

    /**
     * The token ids of {@code text}, preceded by {@code <|endoftext|>} when {@code prependBos} (TransformerLens's
     * default for GPT-2). Lone surrogates in {@code text} are encoded as U+FFFD. Throws
     * {@link IllegalStateException} for {@code prependBos} when the vocabulary has no {@code <|endoftext|>}.
     */
    public int[] encode(String text, boolean prependBos) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (prependBos) out.add(bosId());
        int start = 0;
        while (specialsInText && start < text.length()) {
            // Earliest special occurrence; at one position the longest wins, so a special that prefixes another loses.
            int at = -1;
            String found = null;
            for (String s : specials.keySet()) {
                int i = text.indexOf(s, start);
                if (i >= 0 && (at < 0 || i < at || (i == at && s.length() > found.length()))) {
                    at = i;
                    found = s;
                }
            }
            if (found == null) break;
            encodeOrdinary(text.substring(start, at), out);
            out.add(specials.get(found));
            start = at + found.length();
        }
        encodeOrdinary(text.substring(start), out);
        return out.toArray();
    }

    private int bosId() {
        Integer id = specials.get(END_OF_TEXT);
        if (id == null) throw new IllegalStateException("vocabulary from " + source + " has no " + END_OF_TEXT);
        return id;
    }

    private void encodeOrdinary(String text, IntList out) {
        Matcher m = WORDS.matcher(text);
        while (m.find()) {
            String word = m.group();
            int[] ids = cache.get(word);
            if (ids == null) {
                ids = bpe(ByteLevel.utf8(word));
                if (cache.size() >= CACHE_LIMIT) cache.clear();
                cache.put(word, ids);
            }
            out.addAll(ids);
        }
    }

    /**
     * Merges one word's bytes: repeatedly the adjacent pair with the lowest merge priority (the leftmost on a tie),
     * until no adjacent pair is a listed merge. prio[i] caches the priority of the pair (ids[i], ids[i+1]), so each
     * merge costs two lookups and a scan rather than n lookups.
     */
    private int[] bpe(byte[] bytes) {
        int n = bytes.length;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = byteToId[bytes[i] & 0xFF];
        if (n < 2) return ids;
        long[] pair = new long[n - 1];
        for (int i = 0; i + 1 < n; i++) pair[i] = lookup(ids[i], ids[i + 1]);
        while (n > 1) {
            int best = -1;
            for (int i = 0; i + 1 < n; i++) {
                if (pair[i] < (best < 0 ? Long.MAX_VALUE : pair[best])) best = i;
            }
            if (best < 0 || pair[best] == Long.MAX_VALUE) break;
            ids[best] = (int) pair[best];
            System.arraycopy(ids, best + 2, ids, best + 1, n - best - 2);
            System.arraycopy(pair, best + 1, pair, best, n - best - 2);
            n--;
            if (best > 0) pair[best - 1] = lookup(ids[best - 1], ids[best]);
            if (best + 1 < n) pair[best] = lookup(ids[best], ids[best + 1]);
        }
        return Arrays.copyOf(ids, n);
    }

    /** The pair's (priority << 32 | merged id), or Long.MAX_VALUE when it never merges; lower sorts first. */
    private long lookup(int left, int right) {
        long v = merges.get(left, right);
        return v < 0 ? Long.MAX_VALUE : v;
    }

    /**
     * The text of {@code ids}: their bytes concatenated and read as UTF-8, each malformed sequence (as from a
     * multi-byte character split across a cut-off token list) replaced by U+FFFD, like Hugging Face's
     * {@code errors="replace"}. Special tokens decode to their text. Throws {@link IllegalArgumentException} for an
     * id outside the vocabulary.
     */
    public String decode(int[] ids) {
        int len = 0;
        for (int id : ids) len += bytesOf(id).length;
        byte[] all = new byte[len];
        int at = 0;
        for (int id : ids) {
            byte[] b = bytesOf(id);
            System.arraycopy(b, 0, all, at, b.length);
            at += b.length;
        }
        return new String(all, StandardCharsets.UTF_8);
    }

    /** One token's text for labels and plots, as {@link #decode(int[])} gives it (" the", not "Ġthe"). */
    public String tokenToString(int id) {
        return new String(bytesOf(id), StandardCharsets.UTF_8);
    }

    /** One token's raw bytes (a copy); may be part of a UTF-8 character. Throws for an unknown id. */
    public byte[] tokenBytes(int id) {
        return bytesOf(id).clone();
    }

    /** The texts of {@code ids} one token each, as TransformerLens's {@code to_str_tokens}. */
    public List<String> toStringTokens(int[] ids) {
        List<String> out = new ArrayList<>(ids.length);
        for (int id : ids) out.add(tokenToString(id));
        return out;
    }

    private byte[] bytesOf(int id) {
        if (id < 0 || id >= tokenBytes.length) {
            throw new IllegalArgumentException(
                    "token id " + id + " is outside the vocabulary [0, " + tokenBytes.length + ") of " + source);
        }
        byte[] b = tokenBytes[id];
        if (b == null) throw new IllegalArgumentException("token id " + id + " is unassigned in " + source);
        return b;
    }

    /** Words now in the cache; for tests of its bound. */
    int cachedWords() {
        return cache.size();
    }

    /** Special tokens and their ids, in no particular order. */
    public Map<String, Integer> specialTokens() {
        return new LinkedHashMap<>(specials);
    }

}
