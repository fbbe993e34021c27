package dev.loupe.interp.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Autograd;
import dev.loupe.tensor.Rng;
import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.gpt2.Gpt2Config;
import dev.loupe.transformer.gpt2.Gpt2Model;
import dev.loupe.transformer.gpt2.Gpt2Weights;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Greater-than, subject–verb agreement, factual recall, and the pair checks every task shares. */
class TaskDatasetsTest {
    static final Gpt2Tokenizer TOK = Gpt2Tokenizer.r50kBase();
    static final Pattern START_YEAR = Pattern.compile("from the year 17(\\d\\d) to the year 17$");

    /** A tiny random GPT-2 over the full GPT-2 vocabulary, its weights large enough for a peaked softmax. */
    private static Gpt2Model tinyModel() {
        Gpt2Config c = Gpt2Config.gpt2(1, 16, 2, 50257, 32);
        Rng rng = new Rng(11);
        Gpt2Weights w = Gpt2Weights.init(c, rng);
        for (Tensor t : w.leaves()) if (t.rank() == 2) t.copyFrom(Tensor.randn(rng, t.shape()).mul(0.5f));
        return new Gpt2Model(c, w);
    }

    @Test
    void everyGeneratorIsDeterministicUnderItsSeed() {
        assertEquals(GreaterThan.generate(TOK, 30, 3).pairs(), GreaterThan.generate(TOK, 30, 3).pairs());
        assertNotEquals(GreaterThan.generate(TOK, 30, 3).pairs(), GreaterThan.generate(TOK, 30, 4).pairs());
        assertEquals(SubjectVerbAgreement.generate(TOK, 30, 3).pairs(),
                SubjectVerbAgreement.generate(TOK, 30, 3).pairs());
        assertNotEquals(SubjectVerbAgreement.generate(TOK, 30, 3).pairs(),
                SubjectVerbAgreement.generate(TOK, 30, 4).pairs());
        assertEquals(FactualRecall.generate(TOK, 30, 3).pairs(), FactualRecall.generate(TOK, 30, 3).pairs());
        assertNotEquals(FactualRecall.generate(TOK, 30, 3).pairs(), FactualRecall.generate(TOK, 30, 4).pairs());
    }

    @Test
    void greaterThanPromptsSplitTheYearAndCorruptItWith01() {
        int century = TOK.encode(" 17")[0];
        for (TaskPair p : GreaterThan.generate(TOK, 100, 1).pairs()) {
            Matcher m = START_YEAR.matcher(p.clean());
            assertTrue(m.find(), p.clean());
            String yy = m.group(1);
            int y = Integer.parseInt(yy);
            assertTrue(y >= 2 && y <= 98, p.clean());
            assertEquals(p.clean().replace("year 17" + yy, "year 1701"), p.corrupted());
            int[] ids = p.cleanIds();
            assertArrayEquals(TOK.encode(p.clean()), ids);
            assertEquals(ids.length, p.corruptedIds().length);
            // " 17" then the token "YY", at the same positions in both prompts
            int at = indexOf(ids, TOK.encode(yy)[0]);
            assertEquals(century, ids[at - 1], p.clean());
            assertEquals(TOK.encode("01")[0], p.corruptedIds()[at]);
            assertEquals(ids[ids.length - 1], century);
            assertEquals("> " + yy, p.answer());
        }
    }

    private static int indexOf(int[] ids, int id) {
        for (int i = 0; i < ids.length; i++) if (ids[i] == id) return i;
        throw new AssertionError("token " + id + " not found");
    }

    @Test
    void greaterThanMetricIsTheProbabilityDifferenceOverTwoDigitYears() {
        Gpt2Model model = tinyModel();
        TaskDataset d = GreaterThan.generate(TOK, 6, 2).largestLengthGroup();
        Tensor logits;
        try (var off = Autograd.noGrad()) {
            // [pairs, pos, vocab]; the year tokens raised so that they hold most of the probability
            float[] raise = new float[50257];
            for (int y = 0; y < 100; y++) {
                int[] ids = TOK.encode(String.format("%02d", y));
                if (ids.length == 1) raise[ids[0]] = 9;
            }
            logits = model.forward(d.clean()).add(Tensor.of(raise, 50257));
        }
        double expected = 0;
        for (int r = 0; r < d.size(); r++) {
            Matcher m = START_YEAR.matcher(d.pairs().get(r).clean());
            assertTrue(m.find());
            int yy = Integer.parseInt(m.group(1));
            float[] row = logits.select(0, r).select(0, logits.size(1) - 1).contiguous().toFloatArray();
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (float v : row) max = Math.max(max, v);
            for (float v : row) z += Math.exp(v - max);
            double diff = 0;
            for (int y = 0; y < 100; y++) {
                int[] ids = TOK.encode(String.format("%02d", y));
                if (ids.length != 1) continue;
                double p = Math.exp(row[ids[0]] - max) / z;
                diff += y > yy ? p : -p;
            }
            expected += diff / d.size();
        }
        float got = d.measure().apply(logits).item();
        assertEquals(expected, got, 1e-6);
        assertTrue(Math.abs(expected) > 0.05, "the random model's metric is not trivially zero: " + expected);
        assertTrue(d.measure().readsLastPositionOnly());
        assertEquals(got, d.measure().apply(logits.narrow(1, logits.size(1) - 1, 1)).item(), 1e-7);
    }

    @Test
    void subjectVerbPairsDifferOnlyInTheSubjectsNumber() {
        for (TaskPair p : SubjectVerbAgreement.generate(TOK, 80, 5).pairs()) {
            String[] c = p.clean().split(" "), k = p.corrupted().split(" ");
            assertEquals(5, c.length, p.clean());
            assertEquals(List.of(c[0], c[2], c[3], c[4]), List.of(k[0], k[2], k[3], k[4]));
            boolean plural = c[1].equals(k[1] + "s");
            assertTrue(plural || k[1].equals(c[1] + "s"), p.toString());
            assertEquals(plural ? " are" : " is", p.answer());
            assertEquals(plural ? " is" : " are", p.wrong());
            assertEquals(!plural, c[4].endsWith("s"), "the distractor has the other number: " + p.clean());
            assertEquals(p.cleanIds().length, p.corruptedIds().length);
            assertEquals(TOK.encode(p.answer())[0], p.answerIds()[0]);
        }
    }

    @Test
    void factualPairsAskOneRelationOfTwoSubjectsWithDifferentAnswers() {
        List<TaskPair> pairs = FactualRecall.generate(TOK, 200, 6).pairs();
        for (TaskPair p : pairs) {
            FactualRecall.Fact clean = fact(p.clean()), other = fact(p.corrupted());
            assertEquals(clean.relation(), other.relation());
            assertEquals(clean.answer(), p.answer());
            assertEquals(other.answer(), p.wrong());
            assertNotEquals(p.answer(), p.wrong());
            assertEquals(p.cleanIds().length, p.corruptedIds().length, p.toString());
            assertEquals(1, TOK.encode(p.answer()).length);
        }
        // skipped, not errors: Nairobi is several tokens, and no other landmark prompt has the Sagrada Familia's length
        assertTrue(pairs.stream().noneMatch(p -> p.clean().contains("Kenya") || p.corrupted().contains("Kenya")));
        assertTrue(pairs.stream().noneMatch(p -> p.clean().contains("Sagrada")));
        assertTrue(pairs.stream().anyMatch(p -> p.clean().equals("The Eiffel Tower is in the city of")));
        assertTrue(FactualRecall.FACTS.size() >= 20);
    }

    private static FactualRecall.Fact fact(String prompt) {
        return FactualRecall.FACTS.stream().filter(f -> f.prompt().equals(prompt)).findFirst()
                .orElseThrow(() -> new AssertionError("not a fact: " + prompt));
    }

    @Test
    void aUserGivenPairOfTwoLengthsIsAnErrorQuotingThePromptAndItsTokenCounts() {
        String clean = "When Mary and John went to the store, John gave a drink to";
        String shorter = "When Mary left, John gave a drink to";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskDataset.fromText(TOK,
                List.of(clean, clean), List.of(clean.replace("John gave", "Mary gave"), shorter),
                List.of(" Mary", " Mary"), List.of(" John", " John")));
        assertTrue(e.getMessage().contains("\"" + clean + "\" is " + TOK.encode(clean).length + " tokens"),
                e.getMessage());
        assertTrue(e.getMessage().contains("\"" + shorter + "\" is " + TOK.encode(shorter).length + " tokens"),
                e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> TaskPair.of(TOK, clean, clean, " Bartholomew",
                " John"));
        assertTrue(e.getMessage().contains("\" Bartholomew\" of prompt \"" + clean + "\" is "
                + TOK.encode(" Bartholomew").length + " tokens"), e.getMessage());
        assertTrue(TOK.encode(" Bartholomew").length > 1);

        TaskDataset mixed = TaskDataset.fromText(TOK, List.of(clean, shorter), List.of(clean, shorter),
                List.of(" Mary", " Mary"), List.of(" John", " John"));
        e = assertThrows(IllegalArgumentException.class, mixed::clean);
        assertTrue(e.getMessage().contains("\"" + shorter + "\" is " + TOK.encode(shorter).length + " tokens"),
                e.getMessage());
        assertEquals(2, mixed.byLength().size());

        e = assertThrows(IllegalArgumentException.class,
                () -> TaskMetric.LOGIT_DIFF.of(GreaterThan.generate(TOK, 2, 0).pairs()));
        assertTrue(e.getMessage().contains("one answer and one wrong token"), e.getMessage());
    }

    @Test
    void theLogitDifferenceOfATaskReadsEachPairsOwnTokens() {
        Gpt2Model model = tinyModel();
        TaskDataset d = SubjectVerbAgreement.generate(TOK, 4, 9);
        Tensor logits;
        try (var off = Autograd.noGrad()) {
            logits = model.forward(d.clean());
        }
        double expected = 0;
        for (int r = 0; r < d.size(); r++) {
            TaskPair p = d.pairs().get(r);
            int last = p.length() - 1;
            expected += (logits.get(r, last, TOK.encode(p.answer())[0])
                    - (double) logits.get(r, last, TOK.encode(p.wrong())[0])) / d.size();
        }
        assertEquals(expected, d.measure().apply(logits).item(), 1e-5);
        assertEquals(4, d.promptPairs().size());
        assertArrayEquals(d.clean().row(2), d.promptPairs().clean().row(2));
    }
}
