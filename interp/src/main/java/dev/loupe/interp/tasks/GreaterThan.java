package dev.loupe.interp.tasks;

import dev.loupe.tensor.Rng;
import dev.loupe.transformer.tokenizer.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Greater-than (Hanna et al. 2023): "The war lasted from the year 1732 to the year 17" should continue with a
 * two-digit year greater than 32. The metric is the probability difference Σ p(y > YY) − Σ p(y ≤ YY) over the
 * two-digit year tokens 00..99 at the last position; the corrupted prompt starts in 1701, which leaves (almost) every
 * year possible.
 *
 * <p>A start year YY is used only when " 17YY" tokenizes as " 17" followed by the token "YY" (GPT-2 has single
 * tokens such as " 1700", which would shift the positions); YY runs over 02..98, as in the paper, so that both sums
 * are non-empty.
 */
public final class GreaterThan {
    private GreaterThan() {
    }

    /** The template: {@code {NOUN}} and the start year's last two digits {@code {YY}}. */
    public static final String TEMPLATE = "The {NOUN} lasted from the year 17{YY} to the year 17";
    /** The corrupted start year's last two digits. */
    public static final String CORRUPT_YEAR = "01";

    /** Nouns of the paper's list (events that last); those that are not one token with a leading space are dropped. */
    static final List<String> NOUNS = List.of("abduction", "accord", "affair", "agreement", "assessment", "attack",
            "campaign", "captivity", "case", "challenge", "chaos", "clash", "collaboration", "competition", "conflict",
            "consultation", "contract", "cooperation", "custody", "deal", "decline", "development", "dispute",
            "dynasty", "effort", "employment", "engagement", "epidemic", "exchange", "expansion", "expedition", "fall",
            "friendship", "growth", "illness", "impact", "imprisonment", "investigation", "journey", "kingdom",
            "marriage", "occupation", "operation", "partnership", "period", "pilgrimage", "plague", "practice",
            "process", "program", "project", "rebellion", "relationship", "reign", "research", "revolt", "rivalry",
            "rule", "search", "settlement", "service", "shift", "strike", "struggle", "study", "tenure", "training",
            "transition", "trial", "trip", "uprising", "venture", "voyage", "war", "work");

    /**
     * {@code n} pairs drawn with {@code seed}: a random noun and a random usable start year each.
     *
     * @throws IllegalStateException when no noun or no start year is usable under {@code tokenizer}
     */
    public static TaskDataset generate(Gpt2Tokenizer tokenizer, int n, long seed) {
        List<String> nouns = IndirectObjectIdentification.singleTokenWords(tokenizer, NOUNS);
        int[] yearTokens = yearTokens(tokenizer);
        List<Integer> starts = new ArrayList<>();
        for (int yy = 2; yy <= 98; yy++) if (splitsAsCenturyAndYear(tokenizer, yy, yearTokens)) starts.add(yy);
        if (nouns.isEmpty() || starts.isEmpty() || !splitsAsCenturyAndYear(tokenizer, 1, yearTokens)) {
            throw new IllegalStateException("greater-than: no usable noun (" + nouns.size() + ") or start year ("
                    + starts.size() + ") under this tokenizer");
        }
        Rng rng = new Rng(seed);
        return new TaskDataset("greater-than", TaskMetric.PROB_DIFF, TaskDataset.draw("greater-than", n, () -> {
            String noun = nouns.get(rng.nextInt(nouns.size()));
            int yy = starts.get(rng.nextInt(starts.size()));
            String clean = prompt(noun, String.format("%02d", yy)), corrupted = prompt(noun, CORRUPT_YEAR);
            int[] c = tokenizer.encode(clean), k = tokenizer.encode(corrupted);
            List<Integer> above = new ArrayList<>(), atOrBelow = new ArrayList<>();
            for (int y = 0; y < 100; y++) {
                if (yearTokens[y] < 0) continue;
                (y > yy ? above : atOrBelow).add(yearTokens[y]);
            }
            return new TaskPair(clean, corrupted, c, k, String.format("> %02d", yy), String.format("<= %02d", yy),
                    above.stream().mapToInt(Integer::intValue).toArray(),
                    atOrBelow.stream().mapToInt(Integer::intValue).toArray());
        }));
    }

    /** The prompt for {@code noun} and a start year ending in {@code yy} (two digits). */
    public static String prompt(String noun, String yy) {
        return TEMPLATE.replace("{NOUN}", noun).replace("{YY}", yy);
    }

    /** [100]: the token of the two digits "00".."99" (no leading space), or −1 where they are not one token. */
    public static int[] yearTokens(Gpt2Tokenizer tokenizer) {
        int[] out = new int[100];
        for (int y = 0; y < 100; y++) {
            int[] ids = tokenizer.encode(String.format("%02d", y));
            out[y] = ids.length == 1 ? ids[0] : -1;
        }
        return out;
    }

    /** Whether " 17YY" is " 17" and then the year token of YY. */
    private static boolean splitsAsCenturyAndYear(Gpt2Tokenizer tokenizer, int yy, int[] yearTokens) {
        int[] ids = tokenizer.encode(String.format(" 17%02d", yy));
        int[] century = tokenizer.encode(" 17");
        return yearTokens[yy] >= 0 && century.length == 1 && ids.length == 2 && ids[0] == century[0]
                && ids[1] == yearTokens[yy];
    }
}
