package dev.loupe.interp.demo;

import dev.loupe.tensor.Rng;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Synthetic indirect-object-identification sentences in the shapes of Wang et al. (2022): two names are introduced,
 * the subject (S) is repeated, and the sentence ends by giving something to the other one, the indirect object
 * (IO): "When Mary and John went to the store, John gave a drink to" → " Mary". Both orders of the introduction
 * occur (ABBA and BABA). Filler sentences use every name, place and object outside that structure.
 *
 * <p>Names and templates are split: the training corpus uses {@link #TRAIN_TEMPLATES} and all but the last
 * {@link #HELD_OUT_NAMES} names in IOI position; evaluation prompts use the held-out templates and names (which the
 * model has seen only in filler sentences). Every name, place and object is one GPT-2 token with its leading space.
 */
public final class IoiCorpus {
    static final List<String> NAMES = List.of(" Mary", " John", " Tom", " James", " Dan", " Sam", " Paul", " Mark",
            " Anna", " Kate", " Lisa", " Sarah", " Emma", " Jack", " Mike", " David", " Chris", " Alex", " Ben",
            " Max", " Joe", " Bob", " Jane", " Amy", " Michael", " Robert", " William", " Richard", " Thomas",
            " Steve", " Kevin", " Brian", " George", " Peter", " Jason", " Matt", " Andrew", " Daniel", " Tony", " Jim",
            " Nick", " Jeff", " Scott", " Frank", " Henry", " Carl", " Fred", " Harry", " Ian", " Justin", " Kyle",
            " Sean", " Tim", " Laura", " Linda", " Maria", " Anne", " Julia", " Jennifer", " Jessica", " Karen",
            " Susan", " Helen", " Alice", " Emily", " Rachel", " Ruth", " Diana", " Victoria", " Elizabeth", " Nancy",
            " Betty",
            // held out of the IOI sentences in training (HELD_OUT_NAMES)
            " Ryan", " Adam", " Luke", " Eric", " Rose", " Grace");
    static final int HELD_OUT_NAMES = 6;
    static final List<String> PLACES = List.of(" store", " park", " school", " beach", " office", " garden",
            " station", " house", " restaurant", " hospital");
    static final List<String> OBJECTS = List.of(" drink", " book", " ball", " gift", " letter", " key", " bag",
            " ring", " pen", " cake");
    /** {A} and {B} introduced, {S} the repeated one, {P} a place, {O} an object; the IO follows the prompt. */
    static final List<String> TRAIN_TEMPLATES = List.of(
            "Then,{A} and{B} went to the{P}.{S} gave a{O} to",
            "When{A} and{B} got a{O} at the{P},{S} decided to give it to",
            "After{A} and{B} went to the{P},{S} gave a{O} to",
            "While{A} and{B} were working at the{P},{S} gave a{O} to",
            "Friends{A} and{B} found a{O} at the{P}.{S} gave it to",
            "Then,{A} and{B} had a lot of fun at the{P}.{S} gave a{O} to");
    static final List<String> HELD_OUT_TEMPLATES = List.of(
            "After{A} and{B} found a{O} at the{P},{S} decided to give it to",
            "When{A} and{B} were working at the{P},{S} gave it to");
    static final List<String> FILLERS = List.of(
            "{N} likes the{P}.", "The{O} is at the{P}.", "{N} went home.", "{N} has a{O}.",
            "{N} was working at the{P}.", "It was a lot of fun.", "{N} found the{O}.",
            // Names repeated outside the IOI structure, so that every name (held-out ones too) is copied somewhere.
            "{N} met{M}, and{M} said hi to{N}.", "{N} and{M} went home, then{N} left.");

    /** One IOI prompt: its text, the IO and S names (with their leading space), and the template. */
    public record Prompt(String text, String io, String s, String template) {
        /** The S2-swap corruption: the second S replaced by IO, which turns the answer around (to S). */
        public String s2Swapped() {
            int cut = text.lastIndexOf(s);
            return text.substring(0, cut) + io + text.substring(cut + s.length());
        }
    }

    private IoiCorpus() {
    }

    /** The names of IOI sentences in training ({@code heldOut} false) or in evaluation (true). */
    static List<String> names(boolean heldOut) {
        int split = NAMES.size() - HELD_OUT_NAMES;
        return heldOut ? NAMES.subList(split, NAMES.size()) : NAMES.subList(0, split);
    }

    /** A prompt from {@code template} with IO and S in random order (ABBA or BABA). */
    static Prompt prompt(Rng rng, String template, List<String> names) {
        int a = rng.nextInt(names.size()), b = rng.nextInt(names.size() - 1);
        if (b >= a) b++;
        String io = names.get(a), s = names.get(b);
        boolean ioFirst = rng.nextInt(2) == 0;
        String text = template.replace("{A}", ioFirst ? io : s).replace("{B}", ioFirst ? s : io).replace("{S}", s)
                .replace("{P}", PLACES.get(rng.nextInt(PLACES.size())))
                .replace("{O}", OBJECTS.get(rng.nextInt(OBJECTS.size())));
        return new Prompt(text, io, s, template);
    }

    /**
     * A training row: an IOI sentence from the training templates and names, its answer, then filler sentences (the
     * row is cut to length later).
     *
     * @param prompt the IOI prompt the row opens with (the answer {@code prompt.io()} follows it in {@code text})
     * @param text   the whole row
     */
    record TrainingRow(Prompt prompt, String text) {
    }

    static TrainingRow trainingRow(Rng rng, int fillers) {
        Prompt p = prompt(rng, TRAIN_TEMPLATES.get(rng.nextInt(TRAIN_TEMPLATES.size())), names(false));
        StringBuilder sb = new StringBuilder(p.text()).append(p.io()).append('.');
        for (int i = 0; i < fillers; i++) sb.append(' ').append(filler(rng));
        return new TrainingRow(p, sb.toString());
    }

    static String filler(Rng rng) {
        int a = rng.nextInt(NAMES.size()), b = rng.nextInt(NAMES.size() - 1);
        if (b >= a) b++;
        return FILLERS.get(rng.nextInt(FILLERS.size())).replace("{N}", NAMES.get(a)).replace("{M}", NAMES.get(b))
                .replace("{P}", PLACES.get(rng.nextInt(PLACES.size())))
                .replace("{O}", OBJECTS.get(rng.nextInt(OBJECTS.size()))).stripLeading();
    }

    /** {@code n} evaluation prompts from the held-out templates with two held-out names each. */
    public static List<Prompt> heldOut(Rng rng, int n) {
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(prompt(rng, HELD_OUT_TEMPLATES.get(i % HELD_OUT_TEMPLATES.size()), names(true)));
        }
        return out;
    }

    /**
     * Every GPT-2 token id the corpus can produce, sorted, with {@code <|endoftext|>} first: the reduced vocabulary
     * (model id i is GPT-2 id {@code result[i]}).
     *
     * @throws IllegalStateException when a name, place or object is not a single token
     */
    public static int[] vocabulary(Gpt2Tokenizer tok) {
        for (List<String> words : List.of(NAMES, PLACES, OBJECTS)) {
            for (String w : words) {
                if (tok.encode(w).length != 1) throw new IllegalStateException("'" + w + "' is not one GPT-2 token");
            }
        }
        Set<Integer> ids = new java.util.TreeSet<>();
        List<String> texts = new ArrayList<>();
        for (List<String> ts : List.of(TRAIN_TEMPLATES, HELD_OUT_TEMPLATES, FILLERS)) {
            for (String t : ts) {
                String x = t.replaceAll("\\{[A-Z]}", " X") + " X.";
                texts.add(x);
                texts.add(" " + x);
            }
        }
        for (String t : texts) for (int id : tok.encode(t)) ids.add(id);
        for (List<String> words : List.of(NAMES, PLACES, OBJECTS)) for (String w : words) ids.add(tok.encode(w)[0]);
        ids.remove(tok.encode(" X")[0]);
        ids.add(tok.encode(".")[0]);
        Set<Integer> out = new LinkedHashSet<>();
        out.add(tok.specialTokens().get(Gpt2Tokenizer.END_OF_TEXT));
        out.addAll(ids);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Maps GPT-2 ids into the reduced vocabulary; throws naming the first id outside it. */
    static int[] remap(int[] gpt2Ids, int[] vocab) {
        int[] out = new int[gpt2Ids.length];
        for (int i = 0; i < gpt2Ids.length; i++) {
            int k = Arrays.binarySearch(vocab, 1, vocab.length, gpt2Ids[i]);
            if (k < 0) {
                if (gpt2Ids[i] == vocab[0]) k = 0;
                else throw new IllegalArgumentException("GPT-2 token " + gpt2Ids[i] + " is not in the demo vocabulary");
            }
            out[i] = k;
        }
        return out;
    }
}
