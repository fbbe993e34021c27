package dev.loupe.interp.tasks;

import dev.loupe.tensor.Rng;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Indirect object identification (Wang et al. 2022): two names are introduced, one of them (the subject, S) is
 * repeated, and the sentence ends by giving something to the other, the indirect object (IO): "Then, John and Mary
 * went to the store. John gave a drink to" → " Mary". The metric is the logit difference IO − S at the last
 * position.
 *
 * <p>The templates are the fifteen of the paper's appendix. In ABBA order the IO is named first ("Mary and John ...
 * John"), in BABA order the subject is ("John and Mary ... John"). Names, places and objects are kept only when they
 * are one token (with their leading space) under the given tokenizer, so a corrupted prompt has the clean one's length.
 *
 * <p>Corruptions: {@link Corruption#S2_SWAP} replaces the repeated subject (S2) by the IO, so that the other name is
 * now the indirect object; {@link Corruption#ABC} replaces all three names by three different random names (neither IO
 * nor S), the paper's ABC distribution, which keeps the sentence's shape but removes the information about which name
 * is repeated.
 */
public final class IndirectObjectIdentification {
    private IndirectObjectIdentification() {
    }

    /** Order of the two introduced names. */
    public enum Order {
        /** IO first: "Mary and John ..., John gave ... to". */
        ABBA,
        /** S first: "John and Mary ..., John gave ... to". */
        BABA,
        /** Each prompt draws ABBA or BABA with equal chance. */
        MIXED
    }

    /** How the corrupted prompt is made from the clean one. */
    public enum Corruption {
        /** The three names (both introductions and S2) replaced by three new, different names. */
        ABC,
        /** S2 replaced by the IO. */
        S2_SWAP
    }

    /**
     * @param order      ABBA, BABA or both
     * @param corruption how the corrupted prompt differs
     * @param flipped    swap clean and corrupted prompts; with {@link Corruption#S2_SWAP} the answer and wrong token
     *                   swap too (the new clean prompt's IO is the old S), with {@link Corruption#ABC} they stay the
     *                   IOI prompt's IO and S
     */
    public record Options(Order order, Corruption corruption, boolean flipped) {
        /** Mixed order, ABC corruption, not flipped: the paper's usual setting. */
        public static Options defaults() {
            return new Options(Order.MIXED, Corruption.ABC, false);
        }
    }

    /**
     * The templates, BABA-shaped as the paper lists them: {@code {A}} the first name, {@code {B}} the second, {@code
     * {S}} the repeated subject (in ABBA order {@code {A}} becomes the IO).
     */
    public static final List<String> TEMPLATES = List.of(
            "Then, {A} and {B} went to the {PLACE}. {S} gave a {OBJECT} to",
            "Then, {A} and {B} had a lot of fun at the {PLACE}. {S} gave a {OBJECT} to",
            "Then, {A} and {B} were working at the {PLACE}. {S} decided to give a {OBJECT} to",
            "Then, {A} and {B} were thinking about going to the {PLACE}. {S} wanted to give a {OBJECT} to",
            "Then, {A} and {B} had a long argument, and afterwards {S} said to",
            "After {A} and {B} went to the {PLACE}, {S} gave a {OBJECT} to",
            "When {A} and {B} got a {OBJECT} at the {PLACE}, {S} decided to give it to",
            "When {A} and {B} got a {OBJECT} at the {PLACE}, {S} decided to give the {OBJECT} to",
            "While {A} and {B} were working at the {PLACE}, {S} gave a {OBJECT} to",
            "While {A} and {B} were commuting to the {PLACE}, {S} gave a {OBJECT} to",
            "After the lunch, {A} and {B} went to the {PLACE}. {S} gave a {OBJECT} to",
            "Afterwards, {A} and {B} went to the {PLACE}. {S} gave a {OBJECT} to",
            "Then, {A} and {B} had a long argument. Afterwards {S} said to",
            "The {PLACE} {A} and {B} went to had a {OBJECT}. {S} gave it to",
            "Friends {A} and {B} found a {OBJECT} at the {PLACE}. {S} gave it to");

    /** Candidate names; those that are not one token with a leading space are dropped per tokenizer. */
    static final List<String> NAMES = List.of("Mary", "John", "Tom", "James", "Dan", "Sam", "Paul", "Mark", "Anna",
            "Kate", "Lisa", "Sarah", "Emma", "Jack", "Mike", "David", "Chris", "Alex", "Ben", "Max", "Joe", "Bob",
            "Jane", "Amy", "Ryan", "Adam", "Luke", "Eric", "Rose", "Grace", "Michael", "Daniel", "Robert", "Joseph",
            "Andrew", "Jason", "Justin", "William", "Brian", "Kevin", "Jessica", "Laura", "Steven", "Thomas",
            "Richard", "Susan", "Karen", "Peter", "George", "Henry");
    /** The paper's places and objects. */
    static final List<String> PLACES = List.of("store", "garden", "restaurant", "school", "hospital", "office",
            "house", "station");
    static final List<String> OBJECTS = List.of("ring", "kiss", "bone", "basketball", "computer", "necklace",
            "drink", "snack");

    /**
     * {@code n} pairs drawn with {@code seed}: a random template, two different names, a place and an object each.
     *
     * @throws IllegalStateException when fewer than four names (or no place or object) are one token under
     *                               {@code tokenizer}
     */
    public static TaskDataset generate(Gpt2Tokenizer tokenizer, int n, long seed, Options options) {
        List<String> names = singleTokenWords(tokenizer, NAMES), places = singleTokenWords(tokenizer, PLACES);
        List<String> objects = singleTokenWords(tokenizer, OBJECTS);
        if (names.size() < 5 || places.isEmpty() || objects.isEmpty()) {
            throw new IllegalStateException("too few IOI names (" + names.size() + "), places (" + places.size()
                    + ") or objects (" + objects.size() + ") are single tokens under this tokenizer");
        }
        Rng rng = new Rng(seed);
        return new TaskDataset("ioi", TaskMetric.LOGIT_DIFF, TaskDataset.draw("ioi", n, () -> {
            String template = TEMPLATES.get(rng.nextInt(TEMPLATES.size()));
            List<String> picked = distinct(rng, names, 5); // IO, S, then three for ABC
            String io = picked.get(0), s = picked.get(1);
            String place = places.get(rng.nextInt(places.size())), object = objects.get(rng.nextInt(objects.size()));
            boolean abba = switch (options.order()) {
                case ABBA -> true;
                case BABA -> false;
                case MIXED -> rng.nextInt(2) == 0;
            };
            String clean = fill(template, abba ? io : s, abba ? s : io, s, place, object);
            String corrupted = options.corruption() == Corruption.S2_SWAP
                    ? fill(template, abba ? io : s, abba ? s : io, io, place, object)
                    : fill(template, picked.get(2), picked.get(3), picked.get(4), place, object);
            TaskPair pair = TaskPair.of(tokenizer, clean, corrupted, " " + io, " " + s);
            if (!options.flipped()) return pair;
            TaskPair swapped = pair.swapPrompts();
            return options.corruption() == Corruption.S2_SWAP ? swapped.swapAnswers() : swapped;
        }));
    }

    /** {@code template} with the names, place and object filled in. */
    static String fill(String template, String a, String b, String s, String place, String object) {
        return template.replace("{A}", a).replace("{B}", b).replace("{S}", s).replace("{PLACE}", place)
                .replace("{OBJECT}", object);
    }

    /** The words that are one token with a leading space. */
    static List<String> singleTokenWords(Gpt2Tokenizer tokenizer, List<String> words) {
        return words.stream().filter(w -> tokenizer.encode(" " + w).length == 1).toList();
    }

    /** {@code k} different words drawn from {@code words}. */
    static List<String> distinct(Rng rng, List<String> words, int k) {
        List<String> pool = new ArrayList<>(words), out = new ArrayList<>();
        for (int i = 0; i < k; i++) out.add(pool.remove(rng.nextInt(pool.size())));
        return out;
    }
}
