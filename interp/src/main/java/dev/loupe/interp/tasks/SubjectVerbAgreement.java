package dev.loupe.interp.tasks;

import dev.loupe.tensor.Rng;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.List;

/**
 * Subject–verb agreement: "The keys on the cabinet" should continue with " are", "The key on the cabinets" with
 * " is". A clean prompt and its corrupted twin differ only in the subject's number; the prepositional phrase's noun
 * (the distractor) has the number opposite to the clean subject, so that the nearest noun points the wrong way.
 * The metric is the logit difference of the clean subject's verb form over the other one.
 */
public final class SubjectVerbAgreement {
    private SubjectVerbAgreement() {
    }

    /** The template: subject noun, preposition, distractor noun. */
    public static final String TEMPLATE = "The {SUBJECT} {PREP} the {DISTRACTOR}";
    /** Singular and plural forms of the subjects. */
    static final List<String[]> SUBJECTS = List.of(new String[] {"key", "keys"}, new String[] {"author", "authors"},
            new String[] {"pilot", "pilots"}, new String[] {"doctor", "doctors"}, new String[] {"farmer", "farmers"},
            new String[] {"teacher", "teachers"}, new String[] {"student", "students"},
            new String[] {"book", "books"}, new String[] {"dog", "dogs"}, new String[] {"car", "cars"},
            new String[] {"girl", "girls"}, new String[] {"boy", "boys"}, new String[] {"officer", "officers"},
            new String[] {"manager", "managers"}, new String[] {"player", "players"},
            new String[] {"painting", "paintings"}, new String[] {"letter", "letters"},
            new String[] {"bird", "birds"});
    /** Singular and plural forms of the distractors. */
    static final List<String[]> DISTRACTORS = List.of(new String[] {"cabinet", "cabinets"},
            new String[] {"table", "tables"}, new String[] {"desk", "desks"}, new String[] {"door", "doors"},
            new String[] {"tree", "trees"}, new String[] {"bridge", "bridges"}, new String[] {"window", "windows"},
            new String[] {"road", "roads"}, new String[] {"chair", "chairs"}, new String[] {"wall", "walls"});
    static final List<String> PREPOSITIONS = List.of("on", "near", "behind", "beside", "under", "by", "above");
    /** The verb forms: singular, plural. */
    static final String SINGULAR_VERB = " is", PLURAL_VERB = " are";

    /** {@code n} pairs drawn with {@code seed}; word pairs that are not one token each are skipped. */
    public static TaskDataset generate(Gpt2Tokenizer tokenizer, int n, long seed) {
        Rng rng = new Rng(seed);
        return new TaskDataset("sva", TaskMetric.LOGIT_DIFF, TaskDataset.draw("sva", n, () -> {
            String[] subject = SUBJECTS.get(rng.nextInt(SUBJECTS.size()));
            String[] distractor = DISTRACTORS.get(rng.nextInt(DISTRACTORS.size()));
            String prep = PREPOSITIONS.get(rng.nextInt(PREPOSITIONS.size()));
            boolean plural = rng.nextInt(2) == 1;
            for (String w : List.of(subject[0], subject[1], distractor[0], distractor[1])) {
                TaskPair.singleToken(tokenizer, " " + w, "word", TEMPLATE);
            }
            String clean = prompt(subject[plural ? 1 : 0], prep, distractor[plural ? 0 : 1]);
            String corrupted = prompt(subject[plural ? 0 : 1], prep, distractor[plural ? 0 : 1]);
            return TaskPair.of(tokenizer, clean, corrupted, plural ? PLURAL_VERB : SINGULAR_VERB,
                    plural ? SINGULAR_VERB : PLURAL_VERB);
        }));
    }

    static String prompt(String subject, String prep, String distractor) {
        return TEMPLATE.replace("{SUBJECT}", subject).replace("{PREP}", prep).replace("{DISTRACTOR}", distractor);
    }
}
