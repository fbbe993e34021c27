package dev.loupe.transformer.tokenizer;

import java.text.Normalizer;

/**
 * BERT's text normalization and word splitting, before WordPiece: Hugging Face's {@code BertNormalizer} followed by
 * its {@code BertPreTokenizer}.
 *
 * <p>Normalization, in Hugging Face's order: clean the text (delete NUL, U+FFFD and control/format/unassigned/private
 * characters; every whitespace character becomes a space), put spaces around CJK ideographs, strip accents
 * (canonical decomposition, then delete nonspacing marks), lower-case (each code point on its own, so a final sigma
 * stays σ). Splitting: whitespace separates words and each punctuation character is a word of its own.
 *
 * @param cleanText          delete control characters and map whitespace to spaces
 * @param handleChineseChars make each CJK ideograph a word of its own
 * @param stripAccents       decompose (NFD) and drop nonspacing marks
 * @param lowercase          lower-case every code point
 */
record BasicTokenizer(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {
    /** Receives one word as UTF-16 bounds {@code [start, end)} into the text being split. */
    @FunctionalInterface
    interface WordSink {
        void word(int start, int end);
    }

    /**
     * {@code text} with each lone surrogate (a UTF-16 half with no partner) replaced by U+FFFD. Rust strings cannot
     * hold them, and the Java binding of Hugging Face's library hands them over as U+FFFD, which text cleaning then
     * deletes.
     */
    static String replaceLoneSurrogates(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean lone = Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1)));
            if (lone && sb == null) sb = new StringBuilder(text.length()).append(text, 0, i);
            if (sb != null) sb.append(lone ? '\uFFFD' : c);
            if (!lone && Character.isHighSurrogate(c)) {
                i++;
                if (sb != null) sb.append(text.charAt(i));
            }
        }
        return sb == null ? text : sb.toString();
    }

    /** The normalized text; the identity when every option is off. */
    String normalize(String text) {
        String s = text;
        if (cleanText || handleChineseChars) s = cleanAndSpaceIdeographs(s);
        if (stripAccents) s = stripAccents(s);
        if (lowercase) s = lowercase(s);
        return s;
    }

    /**
     * Calls {@code sink.word(start, end)} for each word of already normalized {@code s}, in order: maximal runs
     * of characters that are neither whitespace nor punctuation, and single punctuation characters. Bounds are UTF-16
     * indices into {@code s}, end exclusive.
     */
    void forEachWord(String s, WordSink sink) {
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int next = i + Character.charCount(c);
            boolean space = BertChars.isWhitespace(c);
            if (space || BertChars.isPunctuation(c)) {
                if (start >= 0) sink.word(start, i);
                start = -1;
                if (!space) sink.word(i, next);
            } else if (start < 0) {
                start = i;
            }
            i = next;
        }
        if (start >= 0) sink.word(start, s.length());
    }

    private String cleanAndSpaceIdeographs(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (cleanText) {
                if (c == 0 || c == 0xFFFD || BertChars.isControl(c)) continue;
                if (BertChars.isWhitespace(c)) {
                    sb.append(' ');
                    continue;
                }
            }
            if (handleChineseChars && BertChars.isChineseChar(c)) {
                sb.append(' ').appendCodePoint(c).append(' ');
            } else {
                sb.appendCodePoint(c);
            }
        }
        return sb.toString();
    }

    private static String stripAccents(String text) {
        String nfd = Normalizer.normalize(text, Normalizer.Form.NFD);
        StringBuilder sb = null;
        for (int i = 0; i < nfd.length(); ) {
            int c = nfd.codePointAt(i);
            int next = i + Character.charCount(c);
            if (BertChars.isNonspacingMark(c)) {
                if (sb == null) sb = new StringBuilder(nfd.length()).append(nfd, 0, i);
            } else if (sb != null) {
                sb.appendCodePoint(c);
            }
            i = next;
        }
        return sb == null ? nfd : sb.toString();
    }

    /**
     * Per-code-point full lower-casing, as Rust's {@code char::to_lowercase}: the simple mapping, except U+0130 (İ),
     * whose lower case is two code points ("i" + combining dot above). Java's {@link String#toLowerCase} would differ
     * by choosing ς for a word-final Σ.
     */
    private static String lowercase(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (c == 0x130) {
                sb.append("i\u0307");
            } else {
                sb.appendCodePoint(Character.toLowerCase(c));
            }
        }
        return sb.toString();
    }
}
