package dev.loupe.transformer.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Added tokens (BERT's {@code [CLS]}, {@code [MASK]} ...) found in text before normalization and WordPiece, as Hugging
 * Face's added vocabulary does: at the leftmost position where any of them occurs the longest one wins, and the text
 * between occurrences is tokenized as usual. So "The capital is [MASK]." yields the [MASK] id.
 */
final class AddedTokens {
    /**
     * One added token.
     *
     * @param content    its text
     * @param id         its id
     * @param special    skipped by decoding
     * @param normalized matched in the normalized text (else in the raw text)
     */
    record Token(String content, int id, boolean special, boolean normalized) {}

    private final Map<Character, List<Token>> byFirstChar = new HashMap<>();

    /** Looks for {@code tokens}' contents (the caller normalizes those of normalized tokens first). */
    AddedTokens(List<Token> tokens) {
        for (Token t : tokens) {
            if (t.content().isEmpty()) continue;
            byFirstChar.computeIfAbsent(t.content().charAt(0), k -> new ArrayList<>()).add(t);
        }
        // Longest first, so that the first candidate that matches at a position is the longest there.
        for (List<Token> l : byFirstChar.values()) l.sort(Comparator.comparingInt((Token t) -> -t.content().length()));
    }

    /** The earliest token occurrence in {@code s} at or after {@code from}, longest at that position; null if none. */
    Match find(String s, int from) {
        if (byFirstChar.isEmpty()) return null;
        for (int i = from; i < s.length(); i++) {
            List<Token> candidates = byFirstChar.get(s.charAt(i));
            if (candidates == null) continue;
            for (Token t : candidates) if (s.startsWith(t.content(), i)) return new Match(i, t);
        }
        return null;
    }

    /** An occurrence of {@code token} starting at UTF-16 index {@code start}. */
    record Match(int start, Token token) {
        int end() {
            return start + token.content().length();
        }
    }
}
