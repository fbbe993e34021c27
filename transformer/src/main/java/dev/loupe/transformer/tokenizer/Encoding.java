package dev.loupe.transformer.tokenizer;

/**
 * One encoded text (or text pair) for an encoder model, special tokens included, before padding. All arrays have the
 * same length [pos].
 *
 * @param ids     token ids
 * @param typeIds segment ids: 0 for the first text (and its [CLS]/[SEP]), 1 for the second of a pair
 * @param tokens  the vocabulary strings of {@code ids} (e.g. {@code "[CLS]"}, {@code "play"}, {@code "##ing"})
 */
public record Encoding(int[] ids, int[] typeIds, String[] tokens) {
    public Encoding {
        if (ids.length != typeIds.length || ids.length != tokens.length) {
            throw new IllegalArgumentException("ids (" + ids.length + "), typeIds (" + typeIds.length + ") and tokens ("
                    + tokens.length + ") must have one length");
        }
        ids = ids.clone();
        typeIds = typeIds.clone();
        tokens = tokens.clone();
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    @Override
    public int[] typeIds() {
        return typeIds.clone();
    }

    @Override
    public String[] tokens() {
        return tokens.clone();
    }

    /** Number of tokens. */
    public int length() {
        return ids.length;
    }
}
