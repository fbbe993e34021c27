package dev.loupe.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Contracts of Gpt2Tokenizer beyond id parity: BOS, special-token option, errors, decoding, labels, threads. */
class Gpt2TokenizerTest {
    static final Gpt2Tokenizer TOK = R50kParityTest.TOKENIZER;
    static final int EOT = R50kParityTest.EOT;

    @Test
    void prependBosAddsEndOfTextInFront() {
        int[] plain = TOK.encode("Hello world");
        int[] withBos = TOK.encode("Hello world", true);
        assertEquals(EOT, withBos[0]);
        assertArrayEquals(plain, Arrays.copyOfRange(withBos, 1, withBos.length));
        assertArrayEquals(new int[] {EOT}, TOK.encode("", true));
        assertArrayEquals(new int[0], TOK.encode(""));
    }

    @Test
    void specialTokenTextIsOrdinaryWhenNotRecognised() {
        String text = "a<|endoftext|>b";
        assertArrayEquals(R50kParityTest.JTOKKIT.encodeOrdinary(text).toArray(),
                TOK.withSpecialTokensInText(false).encode(text));
        assertTrue(Arrays.stream(TOK.encode(text)).anyMatch(id -> id == EOT));
        assertTrue(Arrays.stream(TOK.withSpecialTokensInText(false).encode(text)).noneMatch(id -> id == EOT));
        assertEquals(text, TOK.withSpecialTokensInText(false).decode(TOK.withSpecialTokensInText(false).encode(text)));
    }

    @Test
    void unknownIdsAreRejectedNamingTheId() {
        for (int bad : new int[] {-1, 50257, Integer.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TOK.decode(new int[] {15496, bad}));
            assertTrue(e.getMessage().contains("token id " + bad) && e.getMessage().contains("50257"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> TOK.tokenToString(bad));
            assertThrows(IllegalArgumentException.class, () -> TOK.tokenBytes(bad));
        }
    }

    @Test
    void partialUtf8DecodesWithReplacementCharacters() {
        // "😀" is F0 9F 98 80; GPT-2 splits it over tokens, so a prefix of its ids holds a truncated sequence, which
        // Python's bytes.decode("utf-8", errors="replace") turns into one U+FFFD.
        int[] ids = TOK.encode("😀");
        com.knuddels.jtokkit.api.IntArrayList first = new com.knuddels.jtokkit.api.IntArrayList();
        first.add(ids[0]);
        byte[] firstBytes = R50kParityTest.JTOKKIT.decodeBytes(first);
        assertTrue(ids.length == 2 && firstBytes.length == 3, "expected 3 + 1 bytes, got " + Arrays.toString(ids));
        assertEquals("\uFFFD", TOK.decode(new int[] {ids[0]}));
        assertEquals("\uFFFD", TOK.decode(new int[] {ids[1]}));
        assertEquals("\uFFFDy", TOK.decode(new int[] {ids[0], TOK.encode("y")[0]}));
        assertEquals("😀", TOK.decode(ids));
    }

    @Test
    void loneSurrogateEncodesAsReplacementCharacter() {
        // JTokkit, an independent implementation, gives the ids of the replacement character's text.
        assertArrayEquals(R50kParityTest.JTOKKIT.encodeOrdinary("a\uFFFDb").toArray(), TOK.encode("a\uD800b"));
        assertEquals("a\uFFFDb", TOK.decode(TOK.encode("a\uDC00b")));
    }

    @Test
    void tokenStringsAreDecodedTextForLabels() {
        List<String> pieces = TOK.toStringTokens(TOK.encode("Hello world, it's"));
        assertEquals(List.of("Hello", " world", ",", " it", "'s"), pieces);
        assertEquals(" world", TOK.tokenToString(TOK.encode(" world")[0]));
    }

    @Test
    void byteLevelAlphabetMatchesGpt2sVocabSpelling() {
        // Facts of GPT-2's vocab.json: space is 'Ġ' (U+0120), newline 'Ċ' (U+010A), tab 'ĉ' (U+0109), NUL 'Ā' (U+0100).
        assertEquals('\u0120', ByteLevel.charOf(' '));
        assertEquals('\u010A', ByteLevel.charOf('\n'));
        assertEquals('\u0109', ByteLevel.charOf('\t'));
        assertEquals('\u0100', ByteLevel.charOf(0));
        assertEquals('A', ByteLevel.charOf('A'));
        assertEquals('\u00A1', ByteLevel.charOf(0xA1));
        for (int b = 0; b < 256; b++) {
            assertArrayEquals(new byte[] {(byte) b}, ByteLevel.decode(String.valueOf(ByteLevel.charOf(b))));
        }
        assertThrows(IllegalArgumentException.class, () -> ByteLevel.decode("日"));
    }

    @Test
    void everyByteMapsAsGpt2sBytesToUnicodeRuleSays() {
        // The rule behind GPT-2's vocab.json: printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves; the
        // other 68 bytes, in increasing order, take U+0100, U+0101, ... in turn.
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char expected = printable ? (char) b : (char) next++;
            assertEquals(expected, ByteLevel.charOf(b), "byte " + b);
        }
        assertEquals(0x100 + 68, next);
    }

    @Test
    void concurrentEncodingAgreesWithJtokkit() {
        List<String> corpus = Corpus.fuzz(3L, 400);
        IntStream.range(0, corpus.size()).parallel().forEach(i -> assertArrayEquals(
                R50kParityTest.JTOKKIT.encodeOrdinary(corpus.get(i)).toArray(),
                TOK.withSpecialTokensInText(false).encode(corpus.get(i))));
    }

    @Test
    void wordCacheStaysBounded() {
        Gpt2Tokenizer tok = TokenizerFiles.r50kBase(); // its own cache, not the shared instance's
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Gpt2Tokenizer.CACHE_LIMIT + 1000; i++) sb.append(" w").append(i);
        String text = sb.toString();
        assertArrayEquals(R50kParityTest.JTOKKIT.encodeOrdinary(text).toArray(), tok.encode(text));
        assertTrue(tok.cachedWords() <= Gpt2Tokenizer.CACHE_LIMIT, "cache holds " + tok.cachedWords());
    }
}
