package dev.loupe.transformer.tokenizer;

/**
 * The character classes of BERT's basic tokenizer, as Hugging Face's Rust {@code BertNormalizer} and
 * {@code BertPreTokenizer} define them. All take a code point. Punctuation, nonspacing marks and control characters
 * follow Unicode 8.0 ({@link Unicode8}), as the Rust library's tables do; whitespace and case follow the JDK's Unicode,
 * as Rust's standard library does.
 */
final class BertChars {
    private BertChars() {}

    /**
     * Unicode's White_Space property (Rust's {@code char::is_whitespace}), which includes the no-break spaces that
     * Java's {@link Character#isWhitespace} leaves out and excludes the separators U+001C..U+001F that it adds.
     */
    static boolean isWhitespace(int c) {
        return switch (c) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> c >= 0x2000 && c <= 0x200A;
        };
    }

    /**
     * Characters the normalizer deletes as "control": the Unicode 8.0 categories Cc, Cf and Co, except tab, line feed
     * and carriage return, which count as whitespace. Unassigned code points are kept (and end up as [UNK]).
     */
    static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') return false;
        return Unicode8.isControlFormatOrPrivate(c);
    }

    /**
     * BERT's punctuation: every ASCII character that is neither a letter, digit, space nor control (so {@code $},
     * {@code +}, {@code ^}, {@code `} count although Unicode files them as symbols), plus the Unicode 8.0 P* categories.
     */
    static boolean isPunctuation(int c) {
        if (c < 128) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
        return Unicode8.isPunctuation(c);
    }

    /**
     * The CJK ideograph blocks BERT surrounds with spaces, so that each ideograph is its own word: CJK Unified
     * Ideographs and its extensions A-F, and the two compatibility blocks. Hangul, kana and CJK punctuation are not in
     * these blocks and tokenize as ordinary letters.
     */
    static boolean isChineseChar(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    /** Unicode 8.0 nonspacing marks (Mn): what accent stripping drops after canonical decomposition. */
    static boolean isNonspacingMark(int c) {
        return c >= 0x300 && Unicode8.isNonspacingMark(c);
    }
}
