package dev.loupe.transformer.bert;

import static dev.loupe.transformer.bert.BertFixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.Activation;
import dev.loupe.transformer.hooks.Hooks;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * A tiny random BERT against the torch implementation in {@code make_bert_fixtures.py}: MLM logits, pooler, the
 * sentence-transformers embedding, every hook point, and the gradients of
 * L = Σ logits·R₁ + Σ embedding·R₂ + Σ pooler·R₃ at every hook point and every parameter.
 */
class BertTorchParityTest {
    private static final double TOL = 1e-4;

    @Test
    void loadsHfMaskedLmFolderWithPrefixPositionIdsAndTiedDecoder() throws Exception {
        BertModel m = BertModel.load(BertFixtures.path("mlm"));
        BertConfig c = m.config();
        assertEquals(new BertConfig(2, 16, 4, 4, 32, 40, 12, 2, 1e-12f, Activation.GELU), c);
        assertNotNull(m.weights().mlm());
        assertTrue(m.weights().tied(), "decoder left out of the file: tied to the word embedding");
        assertNotNull(m.weights().pooler());
        assertEquals(new Pooling(Pooling.Mode.MEAN, false), m.pooling());
    }

    @Test
    void sentenceTransformersFolderFromPytorchBinHasItsPoolingAndTheSameWeights() throws Exception {
        BertModel st = BertModel.load(BertFixtures.path("st"));
        BertModel mlm = BertModel.load(BertFixtures.path("mlm"));
        assertEquals(new Pooling(Pooling.Mode.MAX, true), st.pooling());
        assertNull(st.weights().mlm());
        Map<String, Tensor> a = st.weights().named(), b = mlm.weights().named();
        for (Map.Entry<String, Tensor> e : a.entrySet()) {
            assertClose(e.getKey(), b.get(e.getKey()), e.getValue(), 0);
        }
        Map<String, Tensor> exp = BertFixtures.expected();
        BertModel.Output out = st.run(BertFixtures.input(exp), Hooks.none());
        assertClose("embedding", exp.get("embedding"), out.embedding(), TOL);
        assertClose("pooler", exp.get("pooler"), out.pooler(), TOL);
        assertNull(out.logits());
    }

    @Test
    void everyHookPointLogitsAndGradientMatchTorch() throws Exception {
        Map<String, Tensor> exp = BertFixtures.expected();
        BertModel mlm = BertModel.load(BertFixtures.path("mlm"));
        BertModel model = new BertModel(mlm.config(), mlm.weights().requireGrad(), new Pooling(Pooling.Mode.MAX, true));
        BertModel.Output out = model.runMaskedLm(BertFixtures.input(exp),
                Hooks.builder().cacheAll().cacheGradients().build());
        Tensor loss = out.logits().mul(exp.get("R.logits")).sum()
                .add(out.embedding().mul(exp.get("R.embedding")).sum())
                .add(out.pooler().mul(exp.get("R.pooler")).sum());
        loss.backward();

        assertClose("logits", exp.get("logits"), out.logits(), TOL);
        assertClose("pooler", exp.get("pooler"), out.pooler(), TOL);
        assertClose("embedding", exp.get("embedding"), out.embedding(), TOL);

        Set<String> torchHooks = exp.keySet().stream().filter(n -> n.startsWith("blocks.") || n.startsWith("embed.")
                || n.startsWith("hook_") || n.startsWith("mlm_head.") || n.startsWith("pooler.")).collect(
                Collectors.toCollection(TreeSet::new));
        assertEquals(torchHooks, new TreeSet<>(out.cache().names()), "cached points = the reference's points");
        double worstAct = 0, worstGrad = 0, worstParam = 0;
        for (String name : torchHooks) {
            worstAct = Math.max(worstAct, assertClose(name, exp.get(name), out.cache().get(name), TOL));
            worstGrad = Math.max(worstGrad, assertClose("grad " + name, exp.get("grad." + name), out.cache().grad(name), TOL));
        }
        for (Map.Entry<String, Tensor> e : model.weights().named().entrySet()) {
            Tensor grad = e.getValue().grad() != null ? e.getValue().grad() : gradOfView(model, e.getKey());
            worstParam = Math.max(worstParam, assertClose("grad " + e.getKey(), exp.get("pgrad." + e.getKey()), grad, TOL));
        }
        System.out.printf("tiny BERT vs torch: activations %.2g, activation grads %.2g, parameter grads %.2g "
                + "(max abs error / max(1, max |ref|))%n", worstAct, worstGrad, worstParam);
    }

    /**
     * named() returns views of our contiguous [in, out] leaves (HF-layout transposes, and Q/K/V as thirds of W_QKV);
     * a view's gradient is the same view (offset and strides) of its leaf's gradient.
     */
    private static Tensor gradOfView(BertModel model, String hfName) {
        Tensor view = model.weights().named().get(hfName);
        for (Tensor leaf : model.weights().leaves()) {
            if (view.storage() != leaf.storage()) continue;
            assertTrue(leaf.isContiguous(), hfName + "'s leaf is contiguous");
            Tensor g = leaf.grad().contiguous();
            return Tensor.fromStorage(g.storage(), view.shape(), view.strides(), g.offset() + view.offset() - leaf.offset());
        }
        throw new AssertionError("no leaf behind " + hfName);
    }
}
