package dev.loupe.transformer.tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * BERT's WordPiece tokenizer, with the ids, type ids and tokens of Hugging Face's {@code tokenizers} library: added
 * tokens ({@code [MASK]} ...) are found in the raw text, the rest is normalized and split into words by
 * {@link BasicTokenizer}, each word becomes its longest vocabulary prefix followed by the longest {@code ##}
 * continuations ({@code [UNK]} for the whole word when some rest has no match or the word has more than
 * {@code max_input_chars_per_word} code points), and the post-processor template adds {@code [CLS]}/{@code [SEP]}.
 *
 * <p>Load it with {@link #fromFolder(Path)}, {@link #fromTokenizerJson(String)} or {@link #fromVocab(List, boolean)}.
 * Immutable and thread-safe.
 */
public final class WordPieceTokenizer {
    /**
     * One element of a post-processor template: a special token (its ids, {@code sequence} = -1) or the slot of the
     * first ({@code sequence} = 0) or second (1) text.
     */
    record TemplatePiece(int sequence, int[] ids, int typeId) {
        static TemplatePiece special(int id, int typeId) {
            return new TemplatePiece(-1, new int[] {id}, typeId);
        }

        static TemplatePiece sequence(int which, int typeId) {
            return new TemplatePiece(which, new int[0], typeId);
        }
    }

    /** The parsed parts of a tokenizer, as the loaders in {@link WordPieceFiles} find them. */
    record Spec(Map<String, Integer> vocab, String unkToken, String prefix, int maxInputChars,
            BasicTokenizer basic, List<AddedTokens.Token> added, List<TemplatePiece> single,
            List<TemplatePiece> pair, boolean decodeCleanup, Map<String, String> specialNames) {}

    private final Map<String, Integer> tokenToId;
    private final String[] idToToken;
    private final PieceTrie trie;
    private final BasicTokenizer basic;
    private final AddedTokens rawAdded;
    private final AddedTokens normalizedAdded;
    private final Set<Integer> specialIds;
    /** Normalized added tokens' ids → their normalized text, which encodings show as the token (as Hugging Face). */
    private final Map<Integer, String> normalizedText;
    private final List<TemplatePiece> single;
    private final List<TemplatePiece> pair;
    private final String prefix;
    private final int maxInputChars;
    private final int unkId;
    private final boolean decodeCleanup;
    private final Map<String, String> specialNames;

    WordPieceTokenizer(Spec spec) {
        Map<String, Integer> ids = new HashMap<>(spec.vocab());
        for (AddedTokens.Token t : spec.added()) ids.put(t.content(), t.id());
        int size = 0;
        for (int id : ids.values()) {
            if (id < 0) throw new IllegalArgumentException("negative token id " + id);
            size = Math.max(size, id + 1);
        }
        String[] tokens = new String[size];
        for (Map.Entry<String, Integer> e : spec.vocab().entrySet()) tokens[e.getValue()] = e.getKey();
        for (AddedTokens.Token t : spec.added()) tokens[t.id()] = t.content();
        Integer unk = spec.vocab().get(spec.unkToken());
        if (unk == null) throw new IllegalArgumentException("unknown token '" + spec.unkToken() + "' is not in the vocabulary");
        if (spec.maxInputChars() < 1) {
            throw new IllegalArgumentException("max_input_chars_per_word must be positive, got " + spec.maxInputChars());
        }
        this.tokenToId = Map.copyOf(ids);
        this.idToToken = tokens;
        this.trie = new PieceTrie(spec.vocab(), spec.prefix());
        this.basic = spec.basic();
        List<AddedTokens.Token> raw = new ArrayList<>();
        List<AddedTokens.Token> normalized = new ArrayList<>();
        Set<Integer> special = new HashSet<>();
        Map<Integer, String> normalizedText = new HashMap<>();
        for (AddedTokens.Token t : spec.added()) {
            if (t.special()) special.add(t.id());
            if (t.normalized()) {
                String text = basic.normalize(t.content());
                normalized.add(new AddedTokens.Token(text, t.id(), t.special(), true));
                normalizedText.put(t.id(), text);
            } else {
                raw.add(t);
            }
        }
        this.rawAdded = new AddedTokens(raw);
        this.normalizedAdded = new AddedTokens(normalized);
        this.specialIds = Set.copyOf(special);
        this.normalizedText = Map.copyOf(normalizedText);
        this.single = List.copyOf(spec.single());
        this.pair = List.copyOf(spec.pair());
        for (List<TemplatePiece> template : List.of(single, pair)) {
            for (TemplatePiece p : template) for (int id : p.ids()) token(id);
        }
        this.prefix = spec.prefix();
        this.maxInputChars = spec.maxInputChars();
        this.unkId = unk;
        this.decodeCleanup = spec.decodeCleanup();
        this.specialNames = Map.copyOf(spec.specialNames());
    }

    /**
     * The tokenizer of a Hugging Face model folder: {@code tokenizer.json} if present; else {@code vocab.txt} (one
     * token a line, id = line number) with the options of {@code tokenizer_config.json} when present
     * ({@code do_lower_case}, default true; {@code strip_accents}, default: as lower-casing; {@code
     * tokenize_chinese_chars}, default true; the {@code *_token} names). Throws {@link IOException} when neither file
     * can be read and {@link IllegalArgumentException} when one is malformed.
     */
    public static WordPieceTokenizer fromFolder(Path folder) throws IOException {
        return WordPieceFiles.fromFolder(folder);
    }

    /**
     * Parses a Hugging Face {@code tokenizer.json} with a WordPiece model: its vocabulary, {@code unk_token},
     * {@code continuing_subword_prefix} and {@code max_input_chars_per_word}; a {@code BertNormalizer} (or none) and
     * {@code BertPreTokenizer}; {@code added_tokens}; a {@code TemplateProcessing} or {@code BertProcessing}
     * post-processor (or none: no special tokens are added); the WordPiece decoder's {@code cleanup}. The truncation
     * and padding sections are ignored: {@link #encode(String, String, int)} truncates on request and padding belongs
     * to batching. Throws {@link IllegalArgumentException} naming the part it cannot read or does not support.
     */
    public static WordPieceTokenizer fromTokenizerJson(String json) {
        return WordPieceFiles.fromTokenizerJson(json);
    }

    /**
     * BERT's tokenizer over {@code vocab} (id = index), as {@code BertTokenizerFast} builds it from a {@code vocab.txt}:
     * text cleaned, CJK ideographs split, lower-cased and accents stripped when {@code lowercase} (an uncased model),
     * [PAD], [UNK], [CLS], [SEP] and [MASK] as special tokens where the vocabulary has them. Throws
     * {@link IllegalArgumentException} when [UNK], [CLS] or [SEP] is missing.
     */
    public static WordPieceTokenizer fromVocab(List<String> vocab, boolean lowercase) {
        return WordPieceFiles.fromVocab(vocab, lowercase, lowercase, true, Map.of());
    }

    /** {@code encode(text, null)}: [CLS] text [SEP] with type ids 0. */
    public Encoding encode(String text) {
        return encode(text, null, Integer.MAX_VALUE);
    }

    /** {@code encode(text, pair, no limit)}: [CLS] text [SEP] pair [SEP], type ids 0 up to the first [SEP], then 1. */
    public Encoding encode(String text, String pair) {
        return encode(text, pair, Integer.MAX_VALUE);
    }

    /**
     * The encoding of {@code text} (and {@code pair}, unless null) with the post-processor's special tokens, at most
     * {@code maxLength} tokens long, special tokens included. Truncation is Hugging Face's {@code longest_first}
     * (from the right): a single text keeps its first {@code maxLength - specials} tokens; of a pair, the shorter
     * keeps its length when the longer can take the rest, else both get half the room (the longer one the odd token).
     * Throws {@link IllegalArgumentException} when {@code maxLength} is smaller than the number of special tokens.
     */
    public Encoding encode(String text, String pair, int maxLength) {
        if (text == null) throw new IllegalArgumentException("text must not be null");
        List<TemplatePiece> template = pair == null ? single : this.pair;
        int specials = 0;
        for (TemplatePiece p : template) specials += p.ids().length;
        if (maxLength < specials) {
            throw new IllegalArgumentException("maxLength " + maxLength + " leaves no room for the " + specials
                    + " special tokens");
        }
        IntList a = tokenize(text);
        IntList b = pair == null ? null : tokenize(pair);
        int room = maxLength == Integer.MAX_VALUE ? Integer.MAX_VALUE : maxLength - specials;
        if (b == null) {
            a.truncate(Math.min(a.size(), room));
        } else {
            int[] keep = longestFirst(a.size(), b.size(), room);
            a.truncate(keep[0]);
            b.truncate(keep[1]);
        }
        IntList ids = new IntList(a.size() + (b == null ? 0 : b.size()) + specials);
        IntList types = new IntList(ids.capacity());
        for (TemplatePiece p : template) {
            IntList from = p.sequence() < 0 ? null : p.sequence() == 0 ? a : b;
            int n = from == null ? p.ids().length : from.size();
            for (int i = 0; i < n; i++) {
                ids.add(from == null ? p.ids()[i] : from.get(i));
                types.add(p.typeId());
            }
        }
        int[] idArray = ids.toArray();
        String[] tokens = new String[idArray.length];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = normalizedText.isEmpty() ? idToToken[idArray[i]]
                    : normalizedText.getOrDefault(idArray[i], idToToken[idArray[i]]);
        }
        return new Encoding(idArray, types.toArray(), tokens);
    }

    /**
     * Hugging Face's {@code longest_first} lengths for a pair of {@code n1} and {@code n2} tokens in {@code room}: no
     * change if they fit; else the shorter keeps its length if the longer fits beside it; else the shorter gets
     * {@code room / 2} and the longer the rest (the first text counts as shorter on a tie).
     */
    static int[] longestFirst(int n1, int n2, int room) {
        if (room == Integer.MAX_VALUE || (long) n1 + n2 <= room) return new int[] {n1, n2};
        boolean swap = n1 > n2;
        int shorter = Math.min(n1, n2);
        int longer = shorter > room ? shorter : Math.max(shorter, room - shorter);
        if (shorter + longer > room) {
            shorter = room / 2;
            longer = shorter + room % 2;
        }
        return swap ? new int[] {longer, shorter} : new int[] {shorter, longer};
    }

    /** The ids of {@code text} with no special tokens added: added tokens, then normalized words as WordPiece. */
    private IntList tokenize(String input) {
        String text = BasicTokenizer.replaceLoneSurrogates(input);
        IntList out = new IntList(text.length() / 3 + 4);
        int pos = 0;
        while (true) {
            AddedTokens.Match m = rawAdded.find(text, pos);
            int end = m == null ? text.length() : m.start();
            if (end > pos) tokenizeNormalized(basic.normalize(text.substring(pos, end)), out);
            if (m == null) return out;
            out.add(m.token().id());
            pos = m.end();
        }
    }

    private void tokenizeNormalized(String s, IntList out) {
        int pos = 0;
        while (true) {
            AddedTokens.Match m = normalizedAdded.find(s, pos);
            String part = m == null && pos == 0 ? s : s.substring(pos, m == null ? s.length() : m.start());
            basic.forEachWord(part, (from, to) -> wordPiece(part, from, to, out));
            if (m == null) return;
            out.add(m.token().id());
            pos = m.end();
        }
    }

    /** Greedy longest-match-first over one word {@code s[start, end)}: [UNK] for the whole word if a rest fails. */
    private void wordPiece(String s, int start, int end, IntList out) {
        if (end - start > maxInputChars && s.codePointCount(start, end) > maxInputChars) {
            out.add(unkId);
            return;
        }
        int mark = out.size();
        for (int pos = start; pos < end; ) {
            long m = trie.longestMatch(s, pos, end, pos > start);
            if (m < 0) {
                out.truncate(mark);
                out.add(unkId);
                return;
            }
            out.add((int) m);
            pos = (int) (m >>> 32);
        }
    }

    /**
     * The text of {@code ids} as Hugging Face's WordPiece decoder gives it, special tokens skipped: {@code ##} pieces
     * joined to the previous token, other tokens separated by a space, and (when the tokenizer's decoder says
     * {@code cleanup}, BERT's default) the space before {@code . ? ! ,} and English contractions removed. Throws
     * {@link IllegalArgumentException} for an id no token has.
     */
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length * 5);
        boolean first = true;
        for (int id : ids) {
            String t = token(id);
            if (specialIds.contains(id)) continue;
            if (!first) t = t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t;
            sb.append(decodeCleanup ? cleanup(t) : t);
            first = false;
        }
        return sb.toString();
    }

    /** Hugging Face's {@code cleanup} of one decoded token (with its leading space). */
    private static String cleanup(String t) {
        return t.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                .replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    /** The id of a vocabulary or added token; throws {@link IllegalArgumentException} for an unknown token. */
    public int tokenId(String token) {
        Integer id = tokenToId.get(token);
        if (id == null) throw new IllegalArgumentException("'" + token + "' is not in the vocabulary");
        return id;
    }

    /** The string of token {@code id}; throws {@link IllegalArgumentException} for an id no token has. */
    public String token(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
            throw new IllegalArgumentException("no token has id " + id + " (vocabulary size " + idToToken.length + ")");
        }
        return idToToken[id];
    }

    /** Number of ids: one more than the largest id (30522 for BERT-base uncased). */
    public int vocabSize() {
        return idToToken.length;
    }

    /** Id of the padding token ({@code [PAD]} unless the files name another). */
    public int padId() {
        return special("pad");
    }

    /** Id of the classification token that starts every encoding ({@code [CLS]}). */
    public int clsId() {
        return special("cls");
    }

    /** Id of the separator token that ends each text of an encoding ({@code [SEP]}). */
    public int sepId() {
        return special("sep");
    }

    /** Id of the masked-language-model mask token ({@code [MASK]}). */
    public int maskId() {
        return special("mask");
    }

    /** Id of the unknown-word token ({@code [UNK]}). */
    public int unkId() {
        return unkId;
    }

    private int special(String role) {
        String name = specialNames.get(role);
        Integer id = name == null ? null : tokenToId.get(name);
        if (id == null) throw new IllegalStateException("this vocabulary has no " + role + " token (" + name + ")");
        return id;
    }

}
