package dev.loupe.interp.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.interp.tasks.IndirectObjectIdentification.Corruption;
import dev.loupe.interp.tasks.IndirectObjectIdentification.Options;
import dev.loupe.interp.tasks.IndirectObjectIdentification.Order;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** IOI pairs are read back word by word: which names sit where, and which of them the corruption changed. */
class IndirectObjectIdentificationTest {
    static final Gpt2Tokenizer TOK = Gpt2Tokenizer.r50kBase();

    /** The capitalised words of a prompt, in order (names, and the template's own capitalised words). */
    private static List<String> words(String text) {
        return Arrays.stream(text.split("[^A-Za-z]+")).filter(w -> !w.isEmpty()).toList();
    }

    /** Positions of the words that differ between two prompts of the same template. */
    private static List<Integer> differing(List<String> a, List<String> b) {
        assertEquals(a.size(), b.size(), a + " vs " + b);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) if (!a.get(i).equals(b.get(i))) out.add(i);
        return out;
    }

    @Test
    void theSameSeedGivesTheSamePairsAndAnotherSeedOthers() {
        TaskDataset a = IndirectObjectIdentification.generate(TOK, 40, 7, Options.defaults());
        TaskDataset b = IndirectObjectIdentification.generate(TOK, 40, 7, Options.defaults());
        TaskDataset c = IndirectObjectIdentification.generate(TOK, 40, 8, Options.defaults());
        assertEquals(a.pairs(), b.pairs());
        assertNotEquals(a.pairs(), c.pairs());
        assertEquals(40, a.size());
    }

    @Test
    void everyPairHasOneTokenLengthAndSingleTokenNamesAsAnswers() {
        for (Corruption corruption : Corruption.values()) {
            TaskDataset d = IndirectObjectIdentification.generate(TOK, 100, 1, new Options(Order.MIXED, corruption,
                    false));
            for (TaskPair p : d.pairs()) {
                assertArrayEquals(TOK.encode(p.clean()), p.cleanIds());
                assertArrayEquals(TOK.encode(p.corrupted()), p.corruptedIds());
                assertEquals(p.cleanIds().length, p.corruptedIds().length, p.toString());
                assertArrayEquals(TOK.encode(p.answer()), p.answerIds(), p.answer());
                assertArrayEquals(TOK.encode(p.wrong()), p.wrongIds(), p.wrong());
                assertTrue(p.answer().startsWith(" ") && p.wrong().startsWith(" "));
                assertTrue(p.clean().endsWith(" to"), p.clean());
            }
            assertTrue(d.byLength().size() > 1, "the templates differ in length");
        }
    }

    @Test
    void abbaNamesTheIndirectObjectFirstAndBabaTheSubject() {
        for (Order order : List.of(Order.ABBA, Order.BABA)) {
            for (TaskPair p : IndirectObjectIdentification.generate(TOK, 50, 2,
                    new Options(order, Corruption.S2_SWAP, false)).pairs()) {
                List<String> w = words(p.clean());
                String io = p.answer().strip(), s = p.wrong().strip();
                int first = Math.min(w.indexOf(io), w.indexOf(s));
                assertEquals(order == Order.ABBA ? io : s, w.get(first), p.clean());
                assertEquals(1, w.stream().filter(io::equals).count(), "IO once: " + p.clean());
                assertEquals(2, w.stream().filter(s::equals).count(), "S twice: " + p.clean());
                assertEquals(s, w.get(w.lastIndexOf(s)), p.clean());
                assertTrue(w.lastIndexOf(s) > w.indexOf(io), "S2 after both names: " + p.clean());
            }
        }
        // mixed order uses both
        Set<Boolean> ioFirst = new HashSet<>();
        for (TaskPair p : IndirectObjectIdentification.generate(TOK, 40, 3, Options.defaults()).pairs()) {
            List<String> w = words(p.clean());
            ioFirst.add(w.indexOf(p.answer().strip()) < w.indexOf(p.wrong().strip()));
        }
        assertEquals(Set.of(true, false), ioFirst);
    }

    @Test
    void theS2SwapReplacesOnlyTheRepeatedSubjectByTheIndirectObject() {
        for (TaskPair p : IndirectObjectIdentification.generate(TOK, 60, 4,
                new Options(Order.MIXED, Corruption.S2_SWAP, false)).pairs()) {
            List<String> c = words(p.clean()), k = words(p.corrupted());
            List<Integer> diff = differing(c, k);
            assertEquals(List.of(c.lastIndexOf(p.wrong().strip())), diff, p.toString());
            assertEquals(p.answer().strip(), k.get(diff.get(0)));
        }
    }

    @Test
    void theAbcCorruptionReplacesAllThreeNamesByThreeOthers() {
        for (TaskPair p : IndirectObjectIdentification.generate(TOK, 60, 5, Options.defaults()).pairs()) {
            List<String> c = words(p.clean()), k = words(p.corrupted());
            String io = p.answer().strip(), s = p.wrong().strip();
            List<Integer> names = new ArrayList<>();
            for (int i = 0; i < c.size(); i++) if (c.get(i).equals(io) || c.get(i).equals(s)) names.add(i);
            assertEquals(3, names.size(), p.clean());
            assertEquals(names, differing(c, k), p.toString());
            Set<String> fresh = new HashSet<>();
            for (int i : names) fresh.add(k.get(i));
            assertEquals(3, fresh.size(), "three different names: " + p.corrupted());
            assertTrue(!fresh.contains(io) && !fresh.contains(s), p.toString());
        }
    }

    @Test
    void flippedPairsSwapThePromptsAndForTheS2SwapTheAnswers() {
        Options s2 = new Options(Order.MIXED, Corruption.S2_SWAP, false);
        List<TaskPair> plain = IndirectObjectIdentification.generate(TOK, 20, 6, s2).pairs();
        List<TaskPair> flipped = IndirectObjectIdentification.generate(TOK, 20, 6,
                new Options(Order.MIXED, Corruption.S2_SWAP, true)).pairs();
        List<TaskPair> abc = IndirectObjectIdentification.generate(TOK, 20, 6, Options.defaults()).pairs();
        List<TaskPair> abcFlipped = IndirectObjectIdentification.generate(TOK, 20, 6,
                new Options(Order.MIXED, Corruption.ABC, true)).pairs();
        for (int i = 0; i < 20; i++) {
            TaskPair p = plain.get(i), f = flipped.get(i);
            assertEquals(p.corrupted(), f.clean());
            assertEquals(p.clean(), f.corrupted());
            assertEquals(p.wrong(), f.answer());
            assertEquals(p.answer(), f.wrong());
            // the flipped clean prompt's IO (named once) is its answer
            assertEquals(1, words(f.clean()).stream().filter(f.answer().strip()::equals).count(), f.clean());
            assertEquals(abc.get(i).corrupted(), abcFlipped.get(i).clean());
            assertEquals(abc.get(i).answer(), abcFlipped.get(i).answer());
        }
    }

    @Test
    void thereAreFifteenTemplatesWithThreeNameSlots() {
        assertEquals(15, IndirectObjectIdentification.TEMPLATES.size());
        for (String t : IndirectObjectIdentification.TEMPLATES) {
            assertTrue(t.indexOf("{A}") < t.indexOf("{B}") && t.indexOf("{B}") < t.indexOf("{S}"), t);
        }
    }
}
