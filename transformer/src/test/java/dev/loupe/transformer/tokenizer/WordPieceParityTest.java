package dev.loupe.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * WordPieceTokenizer on all-MiniLM-L6-v2's real tokenizer.json (bert-base-uncased's vocabulary), held against Hugging
 * Face's Rust tokenizers on the same file: ids, type ids and tokens, single texts, pairs, truncation and decoding.
 */
class WordPieceParityTest {
    static final WordPieceTokenizer OURS = WordPieceTokenizer.fromTokenizerJson(HfOracle.MINILM_JSON);
    static final HfOracle HF = new HfOracle(HfOracle.MINILM_JSON);

    @AfterAll
    static void close() {
        HF.close();
    }

    /** Corpus.varied() (shared with GPT-2's parity tests) plus what BERT's basic tokenizer treats specially. */
    static List<String> corpus() {
        List<String> c = new ArrayList<>(Corpus.varied());
        c.addAll(List.of(
                "unaffable", "UNAFFABLE", "UnAffAble", "playing played player", "The capital of France is [MASK].",
                "[CLS] [SEP] [PAD] [UNK] [MASK]", "[mask] [Mask] [MASK", "MASK]", "[[MASK]]", "x[MASK]y", "[SEP][SEP]",
                "ΟΔΟΣ Σ σ ς", "İstanbul", "ǅemal ǈ ǋ", "Straße STRASSE", "ﬁnance ﬀ", "Å Ω K", "Ⅷ ⅷ", "Ⓐⓑ",
                "naïve Naïve NAÏVE", "Crème Brûlée", "ñandú", "Ἀθῆναι", "\u1e9b\u0323", "\u0041\u030a\u0301", "\u0301abc",
                "abc\u0301\u0302\u0303", "東京都 中文 漢字 ＣＪＫ", "你好世界", "한국어 안녕하세요", "こんにちは 世界", "カタカナ ｶﾀｶﾅ",
                "𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽", "\u3400\u4dbf" + Character.toString(0x2B820) + Character.toString(0x2B91F)
                        + Character.toString(0x2B920) + Character.toString(0x2CEAF) + Character.toString(0x30000), "emoji 🤗🥰🫠 👩🏽‍💻", "2023-10-05T12:34:56Z", "3.14e-10",
                "1,000,000.00", "$100 €50 £20 ¥1000", "a+b=c; x^2 | y & z", "~~~!!!???...,,,;;;:::", "(((nested)))",
                "#hashtag @mention", "http://x.y/z?a=b&c=d", "snake_case_word", "\u00ad soft\u00adhyphen",
                "zero\u200bwidth\u200cjoiner\u200dx", "\u202ertl override", "\ue000private\uf8ff", "\ufffd\ufffdx",
                "\u0000a\u0001b\u001fc\u007fd\u0080e\u009ff", "a\u0085b", "a\u000bb\u000cc", "x\u2028y\u2029z",
                "a\u00a0b\u1680c\u2000d\u200ae\u202ff\u205fg\u3000h", "\u180e mongolian vowel separator",
                "tab\tnew\nline\rreturn", "\u0378\u0379 unassigned", "\ud800 lone high", "lone low \udc00 here",
                "x\ud83dy", "A" + "b".repeat(99), "A" + "b".repeat(100), "b".repeat(100), "b".repeat(101),
                "ab".repeat(60), "é".repeat(101), "e\u0301".repeat(60), "中".repeat(150), "1".repeat(120),
                "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
                "Mixed CASE words With Capitals AND numbers 123abc ABC123", "don't won't can't it's I'm you're we've",
                "do not do not", "hello . hello ? hello ! hello , hello ' s", "  ", "\t\n\r ", "\u3000\u3000"));
        return c;
    }

    @Test
    void variedCorpusMatches() {
        List<String> corpus = corpus();
        assertTrue(corpus.size() >= 300, "corpus has " + corpus.size() + " strings");
        for (String text : corpus) HF.assertSame(OURS, text, null, 0);
    }

    @Test
    void seededRandomUnicodeMatches() {
        for (String text : Corpus.fuzz(20250521L, 3000)) HF.assertSame(OURS, text, null, 0);
    }

    @Test
    void pairsMatchWithTypeIds() {
        List<String> corpus = corpus();
        for (int i = 0; i + 1 < corpus.size(); i++) HF.assertSame(OURS, corpus.get(i), corpus.get(i + 1), 0);
        List<String> fuzz = Corpus.fuzz(99L, 400);
        for (int i = 0; i + 1 < fuzz.size(); i += 2) HF.assertSame(OURS, fuzz.get(i), fuzz.get(i + 1), 0);
    }

    @Test
    void truncationToSmallLengthsMatchesLongestFirst() {
        List<String> texts = List.of("", "a", "hello world", "The quick brown fox jumps over the lazy dog.",
                "unaffable unaffable unaffable", "東京都 中文 漢字", "one two three four five six seven eight nine ten",
                "a b c d e f g h i j k l m n o p q r s t u v w x y z", "[MASK] [MASK] [MASK]");
        for (int max : new int[] {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16, 32}) {
            for (String a : texts) {
                HF.assertSame(OURS, a, null, max);
                if (max < 3) continue;
                for (String b : texts) HF.assertSame(OURS, a, b, max);
            }
        }
        List<String> fuzz = Corpus.fuzz(5L, 200);
        for (int i = 0; i + 1 < fuzz.size(); i += 2) {
            int max = 3 + i % 17;
            HF.assertSame(OURS, fuzz.get(i), null, max);
            HF.assertSame(OURS, fuzz.get(i), fuzz.get(i + 1), max);
        }
    }

    /**
     * Every code point (surrogates aside) inside a word, alone, after a capital and before a combining accent, 300
     * code points per text: this sweeps the Unicode tables (punctuation, marks, controls, whitespace, CJK, case).
     */
    @Test
    void everyCodePointInContextMatches() {
        for (String text : codePointSweep()) HF.assertSame(OURS, text, null, 0);
    }

    static List<String> codePointSweep() {
        List<String> texts = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        int inText = 0;
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) continue;
            String c = Character.toString(cp);
            sb.append('a').append(c).append("b ").append(c).append(" A").append(c).append("\u0301 ");
            if (++inText == 300 || cp == Character.MAX_CODE_POINT) {
                texts.add(sb.toString());
                sb.setLength(0);
                inText = 0;
            }
        }
        return texts;
    }

    @Test
    void cjkAndCasedVariantsMatch() {
        // The other BertNormalizer settings: cased (no lower-casing, no accent stripping), accents stripped without
        // lower-casing, and cleaning and CJK splitting switched off.
        String[] variants = {
            HfOracle.withNormalizer(HfOracle.MINILM_JSON, true, true, null, false),
            HfOracle.withNormalizer(HfOracle.MINILM_JSON, true, true, true, false),
            HfOracle.withNormalizer(HfOracle.MINILM_JSON, false, false, false, true),
        };
        List<String> texts = new ArrayList<>(corpus());
        texts.addAll(Corpus.fuzz(31L, 1000));
        List<String> sweep = codePointSweep();
        for (int i = 0; i < sweep.size(); i += 7) texts.add(sweep.get(i));
        for (String json : variants) {
            WordPieceTokenizer ours = WordPieceTokenizer.fromTokenizerJson(json);
            try (HfOracle hf = new HfOracle(json)) {
                for (String text : texts) hf.assertSame(ours, text, null, 0);
            }
        }
    }

    @Test
    void addedTokensMatchInRawOrNormalizedText() {
        // A normalized token is looked for after lower-casing and accent stripping, a raw one as written.
        String json = HfOracle.withAddedTokens(HfOracle.MINILM_JSON, List.of(
                Map.of("id", 30522L, "content", "Foo Bär", "special", false, "normalized", true),
                Map.of("id", 30523L, "content", "<Raw>", "special", false, "normalized", false),
                Map.of("id", 30524L, "content", "<Raw>x", "special", true, "normalized", false)));
        WordPieceTokenizer ours = WordPieceTokenizer.fromTokenizerJson(json);
        List<String> texts = List.of("foo bar", "FOO BÄR!", "xfoo barx", "foo  bar", "<Raw>", "<raw>", "a<Raw>xb",
                "<Raw><Raw>x", "[MASK]<Raw>foo bar[SEP]", "foo bär <Raw> FOO BAR");
        try (HfOracle hf = new HfOracle(json)) {
            for (String text : texts) {
                hf.assertSame(ours, text, null, 0);
                int[] ids = ours.encode(text).ids();
                assertEquals(hf.decode(ids), ours.decode(ids), () -> "decode of " + text);
            }
        }
    }

    @Test
    void decodeMatchesHuggingFace() {
        List<String> texts = new ArrayList<>(corpus());
        texts.addAll(Corpus.fuzz(77L, 300));
        for (String text : texts) {
            int[] ids = OURS.encode(text).ids();
            assertEquals(HF.decode(ids), OURS.decode(ids), () -> "decode of \"" + HfOracle.shorten(text) + "\"");
        }
    }
}
