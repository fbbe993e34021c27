package dev.loupe.transformer.bert;

import static dev.loupe.transformer.bert.BertFixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.transformer.tokenizer.Encoding;
import dev.loupe.weights.WeightFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hook semantics, optional points, padding and input checks on the tiny fixture model. */
class BertModelTest {
    static BertModel model;

    @BeforeAll
    static void load() throws Exception {
        model = BertModel.load(BertFixtures.path("mlm"));
    }

    static BertInput input() {
        return BertInput.of(List.of(
                new Encoding(new int[] {1, 7, 3, 39, 12, 5, 2}, new int[] {0, 0, 0, 0, 1, 1, 1},
                        new String[] {"a", "b", "c", "d", "e", "f", "g"}),
                new Encoding(new int[] {1, 20, 33, 2}, new int[4], new String[] {"a", "b", "c", "d"})));
    }

    @Test
    void inputFromEncodingsIsRightPadded() {
        BertInput in = input();
        assertEquals(2, in.batch());
        assertEquals(7, in.length());
        assertTrue(in.padded());
        assertEquals(List.of(1f, 20f, 33f, 2f, 0f, 0f, 0f), floats(in.ids().select(0, 1)));
        assertEquals(List.of(1f, 1f, 1f, 1f, 0f, 0f, 0f), floats(in.mask().select(0, 1)));
        assertEquals(List.of(0f, 0f, 0f, 0f, 1f, 1f, 1f), floats(in.typeIds().select(0, 0)));
    }

    @Test
    void paddingDoesNotChangeARealTokensOutput() {
        BertInput batch = BertInput.ofIds(new int[] {1, 7, 3, 39, 12, 5, 2}, new int[] {1, 20, 33, 2});
        BertInput alone = BertInput.ofIds(new int[] {1, 20, 33, 2});
        BertModel.Output b = model.run(batch, Hooks.none()), a = model.run(alone, Hooks.none());
        assertClose("hidden", a.hidden().select(0, 0), b.hidden().select(0, 1).narrow(0, 0, 4), 1e-5);
        assertClose("mean embedding", a.embedding().select(0, 0), b.embedding().select(0, 1), 1e-5);
    }

    @Test
    void hookPointsFollowTheWeightsAndPooling() {
        List<String> p = model.hookPoints();
        assertEquals(List.of("embed.hook_embed", "embed.hook_pos_embed", "embed.hook_token_type_embed",
                "embed.ln.hook_scale", "embed.ln.hook_normalized", "hook_full_embed", "blocks.0.hook_resid_pre"),
                p.subList(0, 7));
        assertTrue(p.contains("pooler.hook_pooler_out") && p.contains("hook_pooled"));
        assertFalse(p.contains("hook_normalized_embedding"), "mean pooling without Normalize");
        assertTrue(p.contains("mlm_head.ln.hook_normalized"));
        BertModel normalized = new BertModel(model.config(), model.weights(), new Pooling(Pooling.Mode.CLS, true));
        assertTrue(normalized.hookPoints().contains("hook_normalized_embedding"));
        var e = assertThrows(IllegalArgumentException.class,
                () -> model.run(input(), Hooks.builder().forward("blocks.0.attn.hook_patern", (x, n) -> x).build()));
        assertTrue(e.getMessage().contains("did you mean 'blocks.0.attn.hook_pattern'"), e.getMessage());
    }

    @Test
    void forwardHooksAreCallScoped() {
        Tensor base = model.run(input(), Hooks.none()).hidden();
        Hooks ablate = Hooks.builder().forward("blocks.0.attn.hook_z", (z, n) -> z.mul(0f)).cacheAll().build();
        BertModel.Output ablated = model.run(input(), ablate);
        // with z zeroed, attn_out is the output bias alone
        Tensor attnOut = ablated.cache().get("blocks.0.hook_attn_out");
        Tensor bias = model.weights().blocks().get(0).bO().expand(attnOut.shape());
        assertClose("attn_out = b_O", bias, attnOut, 1e-6);
        assertTrue(ablated.hidden().sub(base).abs().max(-1, false).max(-1, false).max(-1, false).item() > 1e-3);
        assertClose("no hook left behind", base, model.run(input(), Hooks.none()).hidden(), 0);
    }

    @Test
    void optionalPerHeadPointsReproduceTheFusedPath() {
        BertModel.Output base = model.run(input(), Hooks.cacheAll());
        BertModel.Output perHead = model.run(input(), Hooks.builder().cache(n -> n.startsWith("blocks.0.")).build());
        Tensor result = perHead.cache().get("blocks.0.attn.hook_result"); // [b, p, head, d_model]
        assertEquals(List.of(2, 7, 4, 16), List.of(result.size(0), result.size(1), result.size(2), result.size(3)));
        Tensor summed = result.sum(2).add(model.weights().blocks().get(0).bO());
        assertClose("Σ heads + b_O = attn_out", base.cache().get("blocks.0.hook_attn_out"), summed, 1e-5);
        assertTrue(perHead.cache().has("blocks.0.hook_q_input"));
        assertClose("hidden", base.hidden(), perHead.hidden(), 1e-5);
    }

    @Test
    void mlpPreActivationIsObservableAndTheFusedMlpMatchesIt() {
        // Unobserved, hook_pre never exists (the activation runs inside the product); observed, it is a real step.
        // Both give the same numbers, bit for bit, and hook_post is the activation of hook_pre.
        Tensor fused = model.run(input(), Hooks.builder().cache("blocks.1.mlp.hook_post").build()).cache()
                .get("blocks.1.mlp.hook_post");
        BertModel.Output seen = model.run(input(), Hooks.builder().cache(n -> n.startsWith("blocks.1.mlp.")).build());
        Tensor pre = seen.cache().get("blocks.1.mlp.hook_pre");
        assertClose("hook_post = gelu(hook_pre)", pre.gelu(), seen.cache().get("blocks.1.mlp.hook_post"), 0);
        assertClose("fused hook_post", seen.cache().get("blocks.1.mlp.hook_post"), fused, 0);
        Tensor zeroed = model.run(input(), Hooks.builder().forward("blocks.1.mlp.hook_pre", (x, n) -> x.mul(0f))
                .cache("blocks.1.mlp.hook_post").build()).cache().get("blocks.1.mlp.hook_post");
        assertClose("a hook on hook_pre takes effect", Tensor.zeros(zeroed.shape()), zeroed, 0);
        assertClose("hidden", model.run(input(), Hooks.none()).hidden(), seen.hidden(), 0);
    }

    @Test
    void backwardHooksSeeAndReplaceGradients() {
        Hooks hooks = Hooks.builder().cache(n -> n.equals("hook_full_embed") || n.equals("blocks.1.hook_resid_pre"))
                .cacheGradients().backward("blocks.1.hook_resid_pre", (g, n) -> g.mul(0f)).build();
        BertModel.Output out = model.run(input(), hooks);
        out.embedding().sum().backward();
        assertEquals(0f, out.cache().grad("hook_full_embed").abs().sum().item(),
                "everything downstream of the embedding passes through blocks.1.hook_resid_pre");
        BertModel.Output free = model.run(input(), Hooks.builder().cache("hook_full_embed").cacheGradients().build());
        free.embedding().sum().backward();
        assertTrue(free.cache().grad("hook_full_embed").abs().sum().item() > 0);
    }

    @Test
    void badInputsFailWithMessagesNamingTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> model.run(BertInput.ofIds(new int[] {1, 40}), Hooks.none()));
        assertTrue(e.getMessage().contains("token id 40.0 at [0, 1] is outside the vocabulary (0..39)"), e.getMessage());
        var tooLong = assertThrows(IllegalArgumentException.class, () -> model.run(BertInput.ofIds(new int[13]), Hooks.none()));
        assertTrue(tooLong.getMessage().contains("13 positions exceeds max_position_embeddings 12"), tooLong.getMessage());
        var noToken = assertThrows(IllegalArgumentException.class, () -> new BertInput(Tensor.indices(new int[][] {{1, 2}}),
                Tensor.indices(new int[][] {{0, 0}}), Tensor.indices(new int[][] {{0, 0}})));
        assertTrue(noToken.getMessage().contains("sequence 0 has no real token"), noToken.getMessage());
        var noMlm = assertThrows(IllegalStateException.class, () -> new BertModel(model.config(),
                new BertWeights(4, model.weights().wordEmb(), model.weights().posEmb(), model.weights().typeEmb(),
                        model.weights().embLnW(), model.weights().embLnB(), model.weights().blocks(), null, null),
                model.pooling()).runMaskedLm(input(), Hooks.none()));
        assertTrue(noMlm.getMessage().contains("no masked-LM head"));
    }

    @Test
    void unsupportedSentenceTransformerModulesAreRejected(@TempDir Path dir) throws Exception {
        for (String f : List.of("config.json", "pytorch_model.bin")) {
            Files.copy(BertFixtures.path("st").resolve(f), dir.resolve(f));
        }
        Files.writeString(dir.resolve("modules.json"), """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                 {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]""");
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.writeString(dir.resolve("1_Pooling/config.json"), "{\"pooling_mode_mean_tokens\": true}");
        var e = assertThrows(WeightFileException.class, () -> BertModel.load(dir));
        assertTrue(e.getMessage().contains("module type 'sentence_transformers.models.Dense' is not supported"),
                e.getMessage());
        Files.writeString(dir.resolve("modules.json"), """
                [{"path": "", "type": "sentence_transformers.models.Transformer"},
                 {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]""");
        Files.writeString(dir.resolve("1_Pooling/config.json"),
                "{\"pooling_mode_mean_tokens\": true, \"pooling_mode_cls_token\": true}");
        var two = assertThrows(WeightFileException.class, () -> BertModel.load(dir));
        assertTrue(two.getMessage().contains("expected exactly one pooling mode but found [MEAN, CLS]"), two.getMessage());
        Files.writeString(dir.resolve("1_Pooling/config.json"), "{\"pooling_mode_cls_token\": true}");
        assertEquals(new Pooling(Pooling.Mode.CLS, false), BertModel.load(dir).pooling());
    }

    private static List<Float> floats(Tensor t) {
        float[] v = t.toFloatArray();
        List<Float> out = new java.util.ArrayList<>();
        for (float x : v) out.add(x);
        return out;
    }
}
