package dev.loupe.transformer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.loupe.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** AdamW and SGD against torch.optim on the fixture's problem, step by step, plus the argument checks. */
class OptimizerTest {
    private static final OptimizerFixture FIX = new OptimizerFixture();

    private static List<ParamGroup> groups(Map<String, Tensor> params, double wd) {
        return ParamGroup.split(params, (name, t) -> FIX.decayed().contains(name), wd);
    }

    @Test
    void adamWMatchesTorchWithDecayExemptionsAndASkippedGradient() {
        Map<String, Tensor> params = FIX.params();
        AdamW opt = new AdamW(groups(params, FIX.option("adamw", "weight_decay")), FIX.option("adamw", "lr"),
                FIX.option("adamw", "beta1"), FIX.option("adamw", "beta2"), FIX.option("adamw", "eps"));
        for (int s = 0; s < FIX.steps; s++) {
            FIX.setGrads(params, s);
            opt.step();
            FIX.assertParams("adamw", s, params, 1e-6);
        }
    }

    @Test
    void sgdWithNesterovMomentumMatchesTorch() {
        Map<String, Tensor> params = FIX.params();
        SGD opt = new SGD(groups(params, FIX.option("sgd", "weight_decay")), FIX.option("sgd", "lr"),
                FIX.option("sgd", "momentum"), FIX.option("sgd", "nesterov") != 0);
        for (int s = 0; s < FIX.steps; s++) {
            FIX.setGrads(params, s);
            opt.step();
            FIX.assertParams("sgd", s, params, 1e-6);
        }
    }

    @Test
    void aTransposedParameterIsUpdatedLikeItsContiguousTwin() {
        // Same values, one stored [3, 4] and viewed transposed as [4, 3]: both must end at the same [4, 3] values.
        Tensor plain = FIX.params().get("w");
        Tensor base = Tensor.of(plain.transpose(0, 1).toFloatArray(), 3, 4);
        Tensor viewed = base.transpose(0, 1).setRequiresGrad(true);
        AdamW a = new AdamW(List.of(new ParamGroup(List.of(plain), 0.1)), 0.05);
        AdamW b = new AdamW(List.of(new ParamGroup(List.of(viewed), 0.1)), 0.05);
        Tensor g = Tensor.of(new float[] {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12}, 4, 3);
        for (int s = 0; s < 3; s++) {
            plain.zeroGrad();
            viewed.zeroGrad();
            plain.mul(g).sum().backward();
            viewed.mul(g).sum().backward();
            a.step();
            b.step();
        }
        assertArrayEquals(plain.toFloatArray(), viewed.toFloatArray());
    }

    @Test
    void zeroGradClearsEveryParameter() {
        Map<String, Tensor> params = FIX.params();
        AdamW opt = new AdamW(groups(params, 0.1), 1e-3);
        FIX.setGrads(params, 0);
        opt.zeroGrad();
        for (Tensor p : params.values()) assertNull(p.grad());
    }

    @Test
    void splitPutsMatricesInTheDecayedGroupAndEmbeddingsWhereAsked() {
        Tensor wte = Tensor.zeros(5, 2), w = Tensor.zeros(2, 2), b = Tensor.zeros(2);
        Map<String, Tensor> named = new java.util.LinkedHashMap<>();
        named.put("wte.weight", wte);
        named.put("h.0.attn.c_attn.weight", w);
        named.put("h.0.attn.c_attn.bias", b);
        List<ParamGroup> g = ParamGroup.split(named, ParamGroup.MATRICES_NOT_EMBEDDINGS, 0.1);
        assertEquals(List.of(w), g.get(0).params());
        assertEquals(List.of(wte, b), g.get(1).params());
        assertEquals(0.0, g.get(1).weightDecay());
        assertEquals(List.of(wte, w), ParamGroup.split(named, ParamGroup.MATRICES, 0.1).get(0).params());
    }

    @Test
    void badArgumentsFailEarlyNamingTheValue() {
        Tensor p = Tensor.zeros(2).setRequiresGrad(true);
        List<ParamGroup> one = List.of(new ParamGroup(List.of(p), 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(one, -1));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(one, 1e-3, 1.0, 0.999, 1e-8));
        assertThrows(IllegalArgumentException.class, () -> new SGD(one, 0.1, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new ParamGroup(List.of(p), -0.1));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(new ParamGroup(List.of(p, p), 0)), 1));
        Tensor notLeaf = p.mul(2f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(List.of(new ParamGroup(List.of(notLeaf), 0)), 1e-3));
        assertEquals(true, e.getMessage().contains("not a leaf"), e.getMessage());
        Tensor strided = Tensor.zeros(4).slice(0, 0, 4, 2);
        assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(new ParamGroup(List.of(strided), 0)),
                0.1, 0, false));
    }
}
