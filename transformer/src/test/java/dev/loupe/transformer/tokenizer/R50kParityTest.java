package dev.loupe.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gpt2Tokenizer over the bundled r50k_base ranks, held against JTokkit's independent r50k_base encoder. */
class R50kParityTest {
    static final Encoding JTOKKIT = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    static final Gpt2Tokenizer TOKENIZER = Gpt2Tokenizer.r50kBase();
    static final int EOT = 50256;

    /** JTokkit's ids with "<|endoftext|>" treated as the special token: ordinary encoding between occurrences. */
    static int[] jtokkitWithSpecial(String text) {
        List<Integer> ids = new ArrayList<>();
        int start = 0;
        for (int at; (at = text.indexOf(Gpt2Tokenizer.END_OF_TEXT, start)) >= 0; ) {
            for (int id : JTOKKIT.encodeOrdinary(text.substring(start, at)).toArray()) ids.add(id);
            ids.add(EOT);
            start = at + Gpt2Tokenizer.END_OF_TEXT.length();
        }
        for (int id : JTOKKIT.encodeOrdinary(text.substring(start)).toArray()) ids.add(id);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    static void assertParity(Gpt2Tokenizer tok, List<String> corpus) {
        Gpt2Tokenizer ordinary = tok.withSpecialTokensInText(false);
        for (String text : corpus) {
            String shown = text.length() > 80 ? text.substring(0, 80) + "…" : text;
            assertArrayEquals(JTOKKIT.encodeOrdinary(text).toArray(), ordinary.encode(text),
                    () -> "ordinary encoding of \"" + shown + "\"");
            int[] withSpecial = tok.encode(text);
            assertArrayEquals(jtokkitWithSpecial(text), withSpecial, () -> "special-aware encoding of \"" + shown + "\"");
            assertEquals(text, tok.decode(withSpecial), () -> "round trip of \"" + shown + "\"");
            assertEquals(JTOKKIT.decode(JTOKKIT.encodeOrdinary(text)), ordinary.decode(ordinary.encode(text)));
        }
    }

    @Test
    void variedCorpusMatchesJtokkitAndRoundTrips() {
        List<String> corpus = Corpus.varied();
        assertTrue(corpus.size() >= 200, "corpus has " + corpus.size() + " strings");
        assertParity(TOKENIZER, corpus);
    }

    @Test
    void seededRandomCodePointsMatchJtokkitAndRoundTrip() {
        assertParity(TOKENIZER, Corpus.fuzz(20240607L, 500));
    }

    @Test
    void vocabularyIsGpt2Sized() {
        assertEquals(50257, TOKENIZER.vocabSize());
        assertEquals(Gpt2Tokenizer.END_OF_TEXT, TOKENIZER.tokenToString(EOT));
        assertEquals(TokenizerFiles.R50K_SOURCE, TOKENIZER.source());
    }

    @Test
    void everyTokenHasJtokkitsBytes() {
        for (int id = 0; id < 50256; id++) {
            IntArrayList one = new IntArrayList();
            one.add(id);
            int k = id;
            assertArrayEquals(JTOKKIT.decodeBytes(one), TOKENIZER.tokenBytes(id), () -> "bytes of token " + k);
        }
    }
}
