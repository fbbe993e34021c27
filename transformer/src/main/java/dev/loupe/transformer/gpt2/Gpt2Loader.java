package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import dev.loupe.weights.Checkpoint;
import dev.loupe.weights.WeightFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Maps a Hugging Face GPT-2 or GPT-Neo state dict onto {@link Gpt2Weights}. Names may carry the
 * {@code transformer.} prefix or not; the causal-mask buffers ({@code attn.bias}, {@code attn.masked_bias}) are
 * ignored; {@code lm_head.weight} is used only when present and not the token embedding itself. Every tensor's shape
 * is checked against the config before anything is returned.
 */
final class Gpt2Loader {
    private final Gpt2Config c;
    private final Checkpoint ckpt;
    private final boolean heap;
    private final String prefix;

    private Gpt2Loader(Gpt2Config c, Checkpoint ckpt, boolean heap) {
        this.c = c;
        this.ckpt = ckpt;
        this.heap = heap;
        Set<String> names = ckpt.names();
        this.prefix = names.contains("transformer.wte.weight") ? "transformer." : "";
    }

    /**
     * @param heap copy every tensor into a float32 heap tensor (fast to compute on, costs the heap) rather than keep
     *             views over the mapped file
     */
    static Gpt2Weights load(Gpt2Config c, Checkpoint ckpt, boolean heap) throws WeightFileException {
        return new Gpt2Loader(c, ckpt, heap).load();
    }

    private Gpt2Weights load() throws WeightFileException {
        int d = c.dModel();
        Tensor wte = tensor("wte.weight", c.dVocab(), d), wpe = tensor("wpe.weight", c.nCtx(), d);
        List<Gpt2Weights.Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.nLayers(); l++) {
            blocks.add(c.family() == Gpt2Config.Family.GPT2 ? gpt2Block(l) : neoBlock(l));
        }
        Tensor wU = wte.transpose(0, 1);
        String head = "lm_head.weight";
        if (ckpt.names().contains(head)) {
            Tensor lm = get(head, c.dVocab(), d);
            // A .bin stores a tied lm_head as a view of wte's storage; safetensors files usually omit it.
            if (lm.storage() != wte.storage() && !sameValues(lm, wte)) wU = lm.transpose(0, 1);
        }
        Tensor bU = ckpt.names().contains("lm_head.bias") ? get("lm_head.bias", c.dVocab()) : null;
        return new Gpt2Weights(c.nHeads(), wte, wpe, blocks, tensor("ln_f.weight", d), tensor("ln_f.bias", d), wU, bU);
    }

    private Gpt2Weights.Block gpt2Block(int l) throws WeightFileException {
        int d = c.dModel(), m = c.dMlp();
        String p = "h." + l + ".";
        Tensor ln2W = null, ln2B = null, wIn = null, bIn = null, wOut = null, bOut = null;
        if (!c.attnOnly()) {
            ln2W = tensor(p + "ln_2.weight", d);
            ln2B = tensor(p + "ln_2.bias", d);
            wIn = tensor(p + "mlp.c_fc.weight", d, m);
            bIn = tensor(p + "mlp.c_fc.bias", m);
            wOut = tensor(p + "mlp.c_proj.weight", m, d);
            bOut = tensor(p + "mlp.c_proj.bias", d);
        }
        return new Gpt2Weights.Block(tensor(p + "ln_1.weight", d), tensor(p + "ln_1.bias", d),
                tensor(p + "attn.c_attn.weight", d, 3 * d), tensor(p + "attn.c_attn.bias", 3 * d),
                tensor(p + "attn.c_proj.weight", d, d), tensor(p + "attn.c_proj.bias", d), ln2W, ln2B, wIn, bIn, wOut,
                bOut);
    }

    /** GPT-Neo's nn.Linear weights are [out, in]: transposed views, and q, k, v joined into one matrix. */
    private Gpt2Weights.Block neoBlock(int l) throws WeightFileException {
        int d = c.dModel(), m = c.dMlp();
        String p = "h." + l + ".", a = p + "attn.attention.";
        Tensor q = tensor(a + "q_proj.weight", d, d), k = tensor(a + "k_proj.weight", d, d);
        Tensor v = tensor(a + "v_proj.weight", d, d);
        Tensor wQkv = Tensor.cat(1, q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1));
        Tensor bQkv = null;
        if (has(a + "q_proj.bias")) {
            bQkv = Tensor.cat(0, tensor(a + "q_proj.bias", d), tensor(a + "k_proj.bias", d),
                    tensor(a + "v_proj.bias", d));
        }
        return new Gpt2Weights.Block(tensor(p + "ln_1.weight", d), tensor(p + "ln_1.bias", d), wQkv, bQkv,
                tensor(a + "out_proj.weight", d, d).transpose(0, 1), tensor(a + "out_proj.bias", d),
                tensor(p + "ln_2.weight", d), tensor(p + "ln_2.bias", d),
                tensor(p + "mlp.c_fc.weight", m, d).transpose(0, 1), tensor(p + "mlp.c_fc.bias", m),
                tensor(p + "mlp.c_proj.weight", d, m).transpose(0, 1), tensor(p + "mlp.c_proj.bias", d));
    }

    private boolean has(String name) {
        return ckpt.names().contains(prefix + name);
    }

    private Tensor tensor(String name, int... shape) throws WeightFileException {
        return get(prefix + name, shape);
    }

    private Tensor get(String full, int... shape) throws WeightFileException {
        if (!ckpt.names().contains(full)) {
            String hint = ckpt.skipped().containsKey(full) ? " (stored as " + ckpt.skipped().get(full)
                    + ", not a float type)" : "";
            throw new WeightFileException(ckpt.path(), "missing tensor '" + full + "'" + hint + " for a "
                    + c.family().name().toLowerCase(java.util.Locale.ROOT) + " model with " + c.nLayers() + " layers");
        }
        int[] actual = ckpt.shape(full);
        if (!Arrays.equals(actual, shape)) {
            throw new WeightFileException(ckpt.path(), "tensor '" + full + "' has shape " + Arrays.toString(actual)
                    + " but the config (d_model " + c.dModel() + ", d_mlp " + c.dMlp() + ", vocab " + c.dVocab()
                    + ", n_ctx " + c.nCtx() + ") needs " + Arrays.toString(shape));
        }
        return heap ? ckpt.load(full) : ckpt.get(full);
    }

    private static boolean sameValues(Tensor a, Tensor b) {
        // Cheap check on a few rows: an untied head differs almost everywhere.
        int rows = Math.min(4, a.size(0));
        return Arrays.equals(a.narrow(0, 0, rows).toFloatArray(), b.narrow(0, 0, rows).toFloatArray())
                && Arrays.equals(a.narrow(0, a.size(0) - rows, rows).toFloatArray(),
                b.narrow(0, b.size(0) - rows, rows).toFloatArray());
    }
}
