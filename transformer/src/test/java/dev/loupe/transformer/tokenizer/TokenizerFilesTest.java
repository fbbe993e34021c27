package dev.loupe.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.weights.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Hugging Face file formats: vocab.json + merges.txt and tokenizer.json written from the r50k_base ranks must
 * tokenize exactly as JTokkit does; folder loading picks the right source.
 */
class TokenizerFilesTest {
    @TempDir
    static Path dir;

    static Map<String, Object> vocab;
    static List<String[]> merges;

    @BeforeAll
    static void writeGpt2Files() throws IOException {
        List<byte[]> ranks = TokenizerFiles.readRanks();
        vocab = new LinkedHashMap<>();
        for (int r = 0; r < ranks.size(); r++) vocab.put(ByteLevel.encode(ranks.get(r)), (long) r);
        vocab.put(Gpt2Tokenizer.END_OF_TEXT, (long) ranks.size());
        merges = new ArrayList<>();
        for (int[] m : TokenizerFiles.deriveMerges(ranks)) {
            merges.add(new String[] {ByteLevel.encode(ranks.get(m[0])), ByteLevel.encode(ranks.get(m[1]))});
        }
        Path hf = Files.createDirectories(dir.resolve("hf"));
        Files.writeString(hf.resolve("vocab.json"), Json.write(vocab));
        StringBuilder txt = new StringBuilder("#version: 0.2\n");
        for (String[] m : merges) txt.append(m[0]).append(' ').append(m[1]).append('\n');
        Files.writeString(hf.resolve("merges.txt"), txt);
    }

    static Path writeTokenizerJson(String name, boolean pairMerges) throws IOException {
        List<Object> mergeList = new ArrayList<>();
        for (String[] m : merges) mergeList.add(pairMerges ? List.of(m[0], m[1]) : m[0] + " " + m[1]);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("vocab", vocab);
        model.put("merges", mergeList);
        Map<String, Object> eot = new LinkedHashMap<>();
        eot.put("id", 50256L);
        eot.put("content", Gpt2Tokenizer.END_OF_TEXT);
        eot.put("special", true);
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", List.of(eot));
        root.put("model", model);
        Path folder = Files.createDirectories(dir.resolve(name));
        Files.writeString(folder.resolve("tokenizer.json"), Json.write(root));
        return folder;
    }

    @Test
    void derivedMergesAreGpt2sMergesTxt() {
        // GPT-2's merges.txt has 50,000 lines, opening "Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he".
        assertEquals(50_000, merges.size());
        String[][] opening = {{"Ġ", "t"}, {"Ġ", "a"}, {"h", "e"}, {"i", "n"}, {"r", "e"}, {"o", "n"}, {"Ġt", "he"}};
        for (int i = 0; i < opening.length; i++) assertArrayEquals(opening[i], merges.get(i), "merge " + i);
    }

    @Test
    void vocabAndMergesTokenizeLikeJtokkit() throws IOException {
        Gpt2Tokenizer tok = Gpt2Tokenizer.fromFolder(dir.resolve("hf"));
        assertTrue(tok.source().endsWith("merges.txt"), tok.source());
        assertEquals(50257, tok.vocabSize());
        R50kParityTest.assertParity(tok, Corpus.varied());
        R50kParityTest.assertParity(tok, Corpus.fuzz(99L, 200));
    }

    @Test
    void tokenizerJsonWithStringMergesTokenizesLikeJtokkit() throws IOException {
        Gpt2Tokenizer tok = Gpt2Tokenizer.fromFolder(writeTokenizerJson("json-strings", false));
        assertTrue(tok.source().endsWith("tokenizer.json"), tok.source());
        R50kParityTest.assertParity(tok, Corpus.varied());
    }

    @Test
    void tokenizerJsonWithPairMergesTokenizesLikeJtokkit() throws IOException {
        Gpt2Tokenizer tok = Gpt2Tokenizer.fromFolder(writeTokenizerJson("json-pairs", true));
        R50kParityTest.assertParity(tok, Corpus.fuzz(5L, 200));
    }

    @Test
    void folderWithoutTokenizerFilesFallsBackToBundledRanks() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("weights-only"));
        assertEquals(TokenizerFiles.R50K_SOURCE, Gpt2Tokenizer.fromFolder(empty).source());
    }

    @Test
    void tokenizerJsonIsPreferredOverVocabAndMerges() throws IOException {
        Path both = writeTokenizerJson("both", true);
        Files.copy(dir.resolve("hf/vocab.json"), both.resolve("vocab.json"));
        Files.copy(dir.resolve("hf/merges.txt"), both.resolve("merges.txt"));
        assertTrue(Gpt2Tokenizer.fromFolder(both).source().endsWith("tokenizer.json"));
    }

    @Test
    void vocabularyMissingAByteIsRejected() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("no-bytes"));
        Files.writeString(folder.resolve("vocab.json"), "{\"a\": 0, \"b\": 1}");
        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\na b\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gpt2Tokenizer.fromFolder(folder));
        assertTrue(e.getMessage().contains("no token for byte 0x00"), e.getMessage());
    }

    @Test
    void mergeNamingAnUnknownTokenIsRejected() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("bad-merge"));
        Map<String, Object> small = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) small.put(String.valueOf(ByteLevel.charOf(b)), (long) b);
        Files.writeString(folder.resolve("vocab.json"), Json.write(small));
        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\nĠ t\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gpt2Tokenizer.fromFolder(folder));
        assertTrue(e.getMessage().contains("merge 0 'Ġ t'"), e.getMessage());
    }

    @Test
    void smallVocabularyMergesOnlyWhatItLists() throws IOException {
        // Bytes plus the single merge "Ġ t": " t" is one token, everything else stays bytes.
        Path folder = Files.createDirectories(dir.resolve("small"));
        Map<String, Object> small = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) small.put(String.valueOf(ByteLevel.charOf(b)), (long) b);
        small.put("Ġt", 256L);
        Files.writeString(folder.resolve("vocab.json"), Json.write(small));
        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\nĠ t\n");
        Gpt2Tokenizer tok = Gpt2Tokenizer.fromFolder(folder);
        assertArrayEquals(new int[] {'a', 256, 256}, tok.encode("a t t"));
        assertArrayEquals(new int[] {'t', 't'}, tok.encode("tt"));
        assertThrows(IllegalStateException.class, () -> tok.encode("x", true), "no <|endoftext|> to prepend");
    }
}
