package dev.loupe.transformer.bert;

import static dev.loupe.transformer.bert.BertFixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Tensor;
import dev.loupe.transformer.Activation;
import dev.loupe.transformer.hooks.Hooks;
import dev.loupe.weights.WeightFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading BERT from ONNX graphs: torch 1.13's export of the tiny fixture model, and graphs that are not BERT. */
class BertOnnxTest {
    @Test
    void torchExportRecoversConfigWeightsAndOutputs() throws Exception {
        BertModel onnx = BertModel.loadOnnx(BertFixtures.path("tiny.onnx"), null);
        // heads from the √d_head divisor, ε from the variance Add, GELU from the Erf node
        assertEquals(new BertConfig(2, 16, 4, 4, 32, 40, 12, 2, 1e-12f, Activation.GELU), onnx.config());
        assertNull(onnx.weights().pooler(), "the exported graph does not use the pooler");
        Map<String, Tensor> fromHf = BertModel.load(BertFixtures.path("mlm")).weights().named();
        for (Map.Entry<String, Tensor> e : onnx.weights().named().entrySet()) {
            assertClose(e.getKey(), fromHf.get(e.getKey()), e.getValue(), 0);
        }
        Map<String, Tensor> exp = BertFixtures.expected();
        Tensor hidden = onnx.run(BertFixtures.input(exp), Hooks.none()).hidden();
        assertClose("hidden", exp.get("blocks.1.hook_normalized_resid_post"), hidden, 1e-4);
    }

    @Test
    void aGpt2ShapedGraphIsRejected() {
        var e = assertThrows(WeightFileException.class, () -> BertModel.loadOnnx(BertFixtures.path("gpt2_like.onnx"), null));
        assertTrue(e.getMessage().contains("not a BERT encoder graph: no initializer named "
                + "embeddings.word_embeddings.weight (initializers: [wte.weight, c_attn.bias"), e.getMessage());
    }

    @Test
    void randomAndTruncatedFilesFailCleanly(@TempDir Path dir) throws Exception {
        byte[] good = Files.readAllBytes(BertFixtures.path("tiny.onnx"));
        SplittableRandom rng = new SplittableRandom(7);
        for (int trial = 0; trial < 20; trial++) {
            byte[] b = trial % 2 == 0 ? Arrays.copyOf(good, rng.nextInt(good.length)) : new byte[1 + rng.nextInt(4096)];
            if (trial % 2 == 1) for (int i = 0; i < b.length; i++) b[i] = (byte) rng.nextInt(256);
            Path f = dir.resolve("m" + trial + ".onnx");
            Files.write(f, b);
            assertThrows(WeightFileException.class, () -> BertModel.loadOnnx(f, null), "trial " + trial);
        }
    }
}
