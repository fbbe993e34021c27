package dev.loupe.transformer.bert;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.tokenizer.Encoding;
import java.util.Arrays;
import java.util.List;

/**
 * A batch of encoder inputs: index tensors (float32 holding whole numbers) of one shape [batch, pos], padded on the
 * right. Padding positions have mask 0; keys at them are hidden from every query, while their own rows are computed
 * as Hugging Face computes them (attending to the real tokens), so every position of the output is defined.
 *
 * @param ids     token ids [batch, pos]
 * @param typeIds token type (segment) ids [batch, pos]
 * @param mask    1 for real tokens, 0 for padding [batch, pos]; every row has at least one real token
 */
public record BertInput(Tensor ids, Tensor typeIds, Tensor mask) {
    /** The id padding positions get ({@code [PAD]} in every BERT WordPiece vocabulary). */
    public static final int PAD_ID = 0;

    public BertInput {
        if (ids.rank() != 2) throw new IllegalArgumentException("ids must be [batch, pos] but got " + Arrays.toString(ids.shape()));
        if (!Arrays.equals(ids.shape(), typeIds.shape()) || !Arrays.equals(ids.shape(), mask.shape())) {
            throw new IllegalArgumentException("ids " + Arrays.toString(ids.shape()) + ", typeIds "
                    + Arrays.toString(typeIds.shape()) + " and mask " + Arrays.toString(mask.shape())
                    + " must have one shape [batch, pos]");
        }
        if (ids.size(0) < 1 || ids.size(1) < 1) {
            throw new IllegalArgumentException("an input needs at least one sequence of one token, got "
                    + Arrays.toString(ids.shape()));
        }
        float[] m = mask.toFloatArray();
        int p = ids.size(1);
        for (int r = 0; r < ids.size(0); r++) {
            boolean any = false;
            for (int i = 0; i < p; i++) {
                float v = m[r * p + i];
                if (v != 0 && v != 1) throw new IllegalArgumentException("mask must be 0 or 1, got " + v + " at [" + r + ", " + i + "]");
                any |= v == 1;
            }
            if (!any) throw new IllegalArgumentException("sequence " + r + " has no real token (its mask is all 0)");
        }
    }

    /** Encodings right-padded with {@link #PAD_ID} (type 0, mask 0) to the longest. */
    public static BertInput of(List<Encoding> encodings) {
        int[][] ids = new int[encodings.size()][], types = new int[encodings.size()][];
        for (int r = 0; r < ids.length; r++) {
            ids[r] = encodings.get(r).ids();
            types[r] = encodings.get(r).typeIds();
        }
        return padded(ids, types);
    }

    /** Token id sequences (special tokens included), all of type 0, right-padded with {@link #PAD_ID}. */
    public static BertInput ofIds(int[]... rows) {
        int[][] types = new int[rows.length][];
        for (int r = 0; r < rows.length; r++) types[r] = new int[rows[r].length];
        return padded(rows, types);
    }

    private static BertInput padded(int[][] ids, int[][] types) {
        if (ids.length == 0) throw new IllegalArgumentException("an input needs at least one sequence");
        int p = 0;
        for (int[] row : ids) p = Math.max(p, row.length);
        int[][] id = new int[ids.length][p], type = new int[ids.length][p], mask = new int[ids.length][p];
        for (int r = 0; r < ids.length; r++) {
            System.arraycopy(ids[r], 0, id[r], 0, ids[r].length);
            System.arraycopy(types[r], 0, type[r], 0, types[r].length);
            Arrays.fill(mask[r], 0, ids[r].length, 1);
            for (int i = ids[r].length; i < p; i++) id[r][i] = PAD_ID;
        }
        return new BertInput(Tensor.indices(id), Tensor.indices(type), Tensor.indices(mask));
    }

    public int batch() {
        return ids.size(0);
    }

    public int length() {
        return ids.size(1);
    }

    /** True when some position is padding. */
    public boolean padded() {
        return mask.sum().item() < batch() * length();
    }
}
