package dev.loupe.interp.tasks;

import dev.loupe.tensor.Rng;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.List;

/**
 * Factual recall: "The Eiffel Tower is in the city of" → " Paris". A pair's corrupted prompt asks the same relation
 * about another subject with a different answer and the same token length ("The Colosseum is in the city of" →
 * " Rome"); the metric is the logit difference of the clean answer over the corrupted prompt's answer.
 */
public final class FactualRecall {
    private FactualRecall() {
    }

    /**
     * One fact: a relation template with {@code {S}} for the subject, the subject, and the answer (one token with
     * its leading space under GPT-2's vocabulary).
     */
    public record Fact(String relation, String subject, String answer) {
        /** The prompt: the relation with the subject filled in. */
        public String prompt() {
            return relation.replace("{S}", subject);
        }
    }

    static final String LANDMARK = "{S} is in the city of", CAPITAL = "The capital of {S} is the city of";
    /** The curated facts. */
    public static final List<Fact> FACTS = List.of(
            new Fact(LANDMARK, "The Eiffel Tower", " Paris"), new Fact(LANDMARK, "The Colosseum", " Rome"),
            new Fact(LANDMARK, "Big Ben", " London"), new Fact(LANDMARK, "The Brandenburg Gate", " Berlin"),
            new Fact(LANDMARK, "The Kremlin", " Moscow"), new Fact(LANDMARK, "The Acropolis", " Athens"),
            new Fact(LANDMARK, "The Space Needle", " Seattle"),
            new Fact(LANDMARK, "The Sagrada Familia", " Barcelona"),
            new Fact(LANDMARK, "The Forbidden City", " Beijing"),
            new Fact(LANDMARK, "The Sydney Opera House", " Sydney"),
            new Fact(LANDMARK, "The CN Tower", " Toronto"), new Fact(LANDMARK, "The Louvre", " Paris"),
            new Fact(LANDMARK, "The Vatican", " Rome"), new Fact(LANDMARK, "The Tower of London", " London"),
            new Fact(CAPITAL, "France", " Paris"), new Fact(CAPITAL, "Germany", " Berlin"),
            new Fact(CAPITAL, "Japan", " Tokyo"), new Fact(CAPITAL, "Italy", " Rome"),
            new Fact(CAPITAL, "Spain", " Madrid"), new Fact(CAPITAL, "Russia", " Moscow"),
            new Fact(CAPITAL, "Egypt", " Cairo"), new Fact(CAPITAL, "Canada", " Ottawa"),
            new Fact(CAPITAL, "Greece", " Athens"), new Fact(CAPITAL, "Kenya", " Nairobi"),
            new Fact(CAPITAL, "China", " Beijing"));

    /**
     * {@code n} pairs drawn with {@code seed}: a random fact, and as its corruption a random fact of the same
     * relation with a different answer; candidates whose prompts differ in token length or whose answers are not one
     * token are skipped.
     */
    public static TaskDataset generate(Gpt2Tokenizer tokenizer, int n, long seed) {
        Rng rng = new Rng(seed);
        return new TaskDataset("factual", TaskMetric.LOGIT_DIFF, TaskDataset.draw("factual", n, () -> {
            Fact clean = FACTS.get(rng.nextInt(FACTS.size())), other = FACTS.get(rng.nextInt(FACTS.size()));
            if (!other.relation().equals(clean.relation()) || other.answer().equals(clean.answer())) {
                throw new IllegalArgumentException("\"" + other.prompt() + "\" does not corrupt \"" + clean.prompt()
                        + "\"");
            }
            return TaskPair.of(tokenizer, clean.prompt(), other.prompt(), clean.answer(), other.answer());
        }));
    }
}
