package dev.loupe.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** WordPieceTokenizer on a hand-written vocabulary with hand-derived pieces, its loaders, and its edge rules. */
class WordPieceTokenizerTest {
    /** Ids are indices: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4, un=5, ##aff=6, ##able=7, ... */
    static final List<String> VOCAB = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able",
            "runn", "##ing", "want", "##want", "##ed", "wa", ",", "!", "a", "##a", "hello", "中", "Un", "é", "##é");
    static final WordPieceTokenizer UNCASED = WordPieceTokenizer.fromVocab(VOCAB, true);
    static final WordPieceTokenizer CASED = WordPieceTokenizer.fromVocab(VOCAB, false);

    static String[] tokens(WordPieceTokenizer t, String text) {
        String[] all = t.encode(text).tokens();
        return Arrays.copyOfRange(all, 1, all.length - 1);
    }

    @Test
    void greedyLongestMatchFirstWithContinuations() {
        assertArrayEquals(new String[] {"un", "##aff", "##able"}, tokens(UNCASED, "unaffable"));
        // "unwanted": "un" is the longest prefix ("unw..." is not a token), then ##want, then ##ed.
        assertArrayEquals(new String[] {"un", "##want", "##ed", ",", "runn", "##ing"},
                tokens(UNCASED, "UNwant\u00e9d,running"));
        // "wanted": the longest prefix is "want" (not "wa"), then ##ed.
        assertArrayEquals(new String[] {"want", "##ed"}, tokens(UNCASED, "wanted"));
    }

    @Test
    void aWordWithAnUnmatchableRestIsOneUnknown() {
        // "unaffablex": un ##aff ##able, then "x" has no ##x: the whole word, not just its tail, becomes [UNK].
        assertArrayEquals(new String[] {"[UNK]", "hello"}, tokens(UNCASED, "unaffablex hello"));
        assertArrayEquals(new String[] {"[UNK]"}, tokens(UNCASED, "xyz"));
    }

    @Test
    void wordsLongerThan100CodePointsAreUnknown() {
        String[] hundred = tokens(UNCASED, "a".repeat(100));
        assertEquals(100, hundred.length);
        assertEquals("a", hundred[0]);
        assertEquals("##a", hundred[99]);
        assertArrayEquals(new String[] {"[UNK]"}, tokens(UNCASED, "a".repeat(101)));
        // The limit counts code points, not UTF-16 units: 100 accented letters decomposed and stripped are 100 a's.
        assertEquals(100, tokens(UNCASED, "\u00e1".repeat(100)).length);
    }

    @Test
    void casingAccentsPunctuationAndIdeographs() {
        // Uncased: lower-cased and accents stripped; cased: neither, so "Un" and "é" match as written.
        assertArrayEquals(new String[] {"un", "##aff", "##able"}, tokens(UNCASED, "ÚNAFFÄBLE"));
        assertArrayEquals(new String[] {"Un", "##aff", "##able"}, tokens(CASED, "Unaffable"));
        assertArrayEquals(new String[] {"é", "##é"}, tokens(CASED, "éé"));
        assertArrayEquals(new String[] {"[UNK]"}, tokens(UNCASED, "éé")); // stripped to "ee": no "e"
        // Every punctuation character is a word; each CJK ideograph is a word even inside letters.
        assertArrayEquals(new String[] {"hello", "!", "!", ",", "a"}, tokens(UNCASED, "hello!!,a"));
        assertArrayEquals(new String[] {"a", "中", "a"}, tokens(UNCASED, "a中a"));
        // Control characters vanish, whitespace of any kind separates.
        assertArrayEquals(new String[] {"un", "##aff", "##able", "hello"},
                tokens(UNCASED, "un\u0000aff\u200bable\u00a0hello"));
    }

    @Test
    void specialTokensInTextAndTemplates() {
        Encoding e = UNCASED.encode("hello [MASK]!", "un");
        assertArrayEquals(new String[] {"[CLS]", "hello", "[MASK]", "!", "[SEP]", "un", "[SEP]"}, e.tokens());
        assertArrayEquals(new int[] {2, 18, 4, 15, 3, 5, 3}, e.ids());
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1}, e.typeIds());
        assertArrayEquals(new String[] {"[CLS]", "[SEP]"}, UNCASED.encode("").tokens());
        assertArrayEquals(new String[] {"[CLS]", "[SEP]", "[SEP]"}, UNCASED.encode("", "").tokens());
        assertEquals(0, UNCASED.padId());
        assertEquals(1, UNCASED.unkId());
        assertEquals(2, UNCASED.clsId());
        assertEquals(3, UNCASED.sepId());
        assertEquals(4, UNCASED.maskId());
        assertEquals(VOCAB.size(), UNCASED.vocabSize());
        assertEquals(6, UNCASED.tokenId("##aff"));
        assertEquals("##able", UNCASED.token(7));
        assertThrows(IllegalArgumentException.class, () -> UNCASED.tokenId("nope"));
        assertThrows(IllegalArgumentException.class, () -> UNCASED.token(VOCAB.size()));
        assertThrows(IllegalArgumentException.class, () -> UNCASED.token(-1));
    }

    @Test
    void truncationKeepsTheShorterTextWhenTheLongerCanGiveWay() {
        // "unaffable" = 3 pieces, "hello a a a a" = 5; max 7 leaves 4 tokens of room: both get 2.
        Encoding e = UNCASED.encode("unaffable", "hello a a a a", 7);
        assertArrayEquals(new String[] {"[CLS]", "un", "##aff", "[SEP]", "hello", "a", "[SEP]"}, e.tokens());
        // max 9 leaves 6: the shorter (3) stays whole, the longer keeps 3.
        assertArrayEquals(new String[] {"[CLS]", "un", "##aff", "##able", "[SEP]", "hello", "a", "a", "[SEP]"},
                UNCASED.encode("unaffable", "hello a a a a", 9).tokens());
        assertArrayEquals(new String[] {"[CLS]", "un", "[SEP]"}, UNCASED.encode("unaffable", null, 3).tokens());
        assertArrayEquals(new String[] {"[CLS]", "[SEP]"}, UNCASED.encode("unaffable", null, 2).tokens());
        assertThrows(IllegalArgumentException.class, () -> UNCASED.encode("unaffable", null, 1));
        assertThrows(IllegalArgumentException.class, () -> UNCASED.encode("a", "a", 2));
    }

    /** The expected lengths are those of the unit test of Hugging Face's truncation (max_length 7, inputs 0/2/4/8). */
    @Test
    void longestFirstLengthsMatchHuggingFacesTable() {
        int[] sizes = {0, 2, 4, 8};
        int[][][] expected = {
            {{0, 0}, {0, 2}, {0, 4}, {0, 7}},
            {{2, 0}, {2, 2}, {2, 4}, {2, 5}},
            {{4, 0}, {4, 2}, {3, 4}, {3, 4}},
            {{7, 0}, {5, 2}, {4, 3}, {3, 4}},
        };
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                assertArrayEquals(expected[i][j], WordPieceTokenizer.longestFirst(sizes[i], sizes[j], 7),
                        "lengths " + sizes[i] + ", " + sizes[j]);
            }
        }
    }

    @Test
    void decodeJoinsPiecesAndSkipsSpecialTokens() {
        assertEquals("unaffable, hello!", UNCASED.decode(UNCASED.encode("Unaffable , hello !").ids()));
        assertEquals("hello un", UNCASED.decode(UNCASED.encode("hello [MASK]", "un").ids()));
        assertThrows(IllegalArgumentException.class, () -> UNCASED.decode(new int[] {VOCAB.size()}));
    }

    @Test
    void decodeRoundTripsPlainLowercaseAscii() {
        WordPieceTokenizer minilm = WordPieceParityTest.OURS;
        Random rnd = new Random(11);
        for (int i = 0; i < 300; i++) {
            StringBuilder sb = new StringBuilder();
            int words = 1 + rnd.nextInt(12);
            for (int w = 0; w < words; w++) {
                if (w > 0) sb.append(' ');
                int len = 1 + rnd.nextInt(12);
                for (int k = 0; k < len; k++) sb.append((char) ('a' + rnd.nextInt(26)));
            }
            String text = sb.toString();
            assertEquals(text, minilm.decode(minilm.encode(text).ids()));
        }
    }

    @Test
    void vocabTxtFolderAgreesWithTokenizerJson(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("vocab.txt"), vocabByIdFromJson(HfOracle.MINILM_JSON), StandardCharsets.UTF_8);
        WordPieceTokenizer fromTxt = WordPieceTokenizer.fromFolder(dir);
        WordPieceTokenizer fromJson = WordPieceParityTest.OURS;
        assertEquals(fromJson.vocabSize(), fromTxt.vocabSize());
        List<String> texts = new ArrayList<>(WordPieceParityTest.corpus());
        texts.addAll(Corpus.fuzz(3L, 500));
        for (int i = 0; i + 1 < texts.size(); i++) {
            String a = texts.get(i);
            String b = texts.get(i + 1);
            Encoding expected = fromJson.encode(a, b);
            Encoding actual = fromTxt.encode(a, b);
            assertArrayEquals(expected.ids(), actual.ids(), () -> HfOracle.shorten(a));
            assertArrayEquals(expected.typeIds(), actual.typeIds(), () -> HfOracle.shorten(a));
            assertArrayEquals(expected.tokens(), actual.tokens(), () -> HfOracle.shorten(a));
        }
    }

    @Test
    void tokenizerConfigOptionsApplyToVocabTxt(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("vocab.txt"), vocabByIdFromJson(HfOracle.MINILM_JSON), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"do_lower_case\": false}");
        WordPieceTokenizer cased = WordPieceTokenizer.fromFolder(dir);
        // Checked against Hugging Face with the same options written into the tokenizer.json.
        String json = HfOracle.withNormalizer(HfOracle.MINILM_JSON, true, true, null, false);
        try (HfOracle hf = new HfOracle(json)) {
            for (String text : WordPieceParityTest.corpus()) hf.assertSame(cased, text, null, 0);
        }
    }

    @Test
    void unsupportedFilesAreRejectedByName(@TempDir Path dir) {
        String bpe = "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WordPieceTokenizer.fromTokenizerJson(bpe));
        assertEquals("tokenizer.json: model type is BPE, not WordPiece", e.getMessage());
        assertThrows(IOException.class, () -> WordPieceTokenizer.fromFolder(dir));
        assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.fromVocab(List.of("[CLS]", "[SEP]"), true));
    }

    /** The WordPiece vocabulary of a tokenizer.json as vocab.txt lines (line number = id). */
    static List<String> vocabByIdFromJson(String json) {
        Map<?, ?> vocab = (Map<?, ?>) ((Map<?, ?>) ((Map<?, ?>) Json.parse(json)).get("model")).get("vocab");
        String[] lines = new String[vocab.size()];
        for (Map.Entry<?, ?> e : vocab.entrySet()) lines[((Long) e.getValue()).intValue()] = (String) e.getKey();
        return Arrays.asList(lines);
    }
}
