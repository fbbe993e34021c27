package dev.loupe.transformer.tokenizer;

import java.io.ByteArrayOutputStream;

/**
 * GPT-2's byte-level alphabet: every byte 0..255 is written as one printable character so that {@code vocab.json}
 * and {@code merges.txt} can hold arbitrary byte strings as text (and so that a space, byte 32, becomes 'Ġ' U+0120,
 * never a separator inside {@code merges.txt}).
 *
 * <p>The map: the 188 bytes that are already printable and not whitespace ({@code '!'..'~'}, {@code '¡'..'¬'},
 * {@code '®'..'ÿ'}) map to the character with the same code; the remaining 68 bytes map, in increasing byte order,
 * to U+0100, U+0101, ... Stateless and thread-safe.
 */
final class ByteLevel {
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Inverse of {@link #BYTE_TO_CHAR}, indexed by char; -1 where a char is not in the alphabet. */
    private static final int[] CHAR_TO_BYTE = new int[256 + 68];

    static {
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = (char) (printable ? b : next++);
        }
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        for (int b = 0; b < 256; b++) CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
    }

    private ByteLevel() {}

    /** The alphabet character standing for byte {@code b} (0..255). */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b];
    }

    /** The alphabet spelling of {@code bytes}, as found in {@code vocab.json} and {@code merges.txt}. */
    static String encode(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) sb.append(BYTE_TO_CHAR[b & 0xFF]);
        return sb.toString();
    }

    /**
     * The bytes spelled by {@code text} in the byte-level alphabet. Throws {@link IllegalArgumentException} naming the
     * first character outside the alphabet (a vocabulary file from some other tokenizer family).
     */
    static byte[] decode(String text) {
        byte[] out = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                throw new IllegalArgumentException(String.format(
                        "token '%s' has character U+%04X at %d, outside GPT-2's byte-level alphabet", text, (int) c, i));
            }
            out[i] = (byte) b;
        }
        return out;
    }

    /**
     * UTF-8 bytes of {@code s}. Unlike {@code String.getBytes(UTF_8)}, which writes '?' for a lone surrogate, a lone
     * surrogate becomes U+FFFD, the same replacement decoding produces, so a malformed string round-trips to the
     * string a UTF-8 decoder would give.
     */
    static byte[] utf8(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length() + 8);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            if (cp < 0x80) {
                out.write(cp);
            } else if (cp < 0x800) {
                out.write(0xC0 | (cp >> 6));
                out.write(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out.write(0xE0 | (cp >> 12));
                out.write(0x80 | ((cp >> 6) & 0x3F));
                out.write(0x80 | (cp & 0x3F));
            } else {
                out.write(0xF0 | (cp >> 18));
                out.write(0x80 | ((cp >> 12) & 0x3F));
                out.write(0x80 | ((cp >> 6) & 0x3F));
                out.write(0x80 | (cp & 0x3F));
            }
        }
        return out.toByteArray();
    }
}
