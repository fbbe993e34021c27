package dev.loupe.transformer.gpt2;

import dev.loupe.tensor.Tensor;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-Neo (3 layers global/local/global, window 3, d_model 16, 4 heads, intermediate 48) against the torch fixture
 * in {@code fixtures/gptneo}, whose file uses {@code transformer.} names and nn.Linear [out, in] weights.
 */
class GptNeoParityTest extends HookParityTest {
    private static final Pattern BLOCK = Pattern.compile("h\\.(\\d+)\\.(attn\\.c_attn|attn\\.c_proj|mlp\\.c_fc|mlp"
            + "\\.c_proj)\\.(weight|bias)");

    @Override
    String family() {
        return "gptneo";
    }

    /**
     * Our fused wQkv [d, 3d] is [q_proj^T | k_proj^T | v_proj^T]; our wO, wIn, wOut are the transposed Linear weights
     * of out_proj, c_fc, c_proj; everything else keeps its name under {@code transformer.}.
     */
    @Override
    Tensor referenceGrad(String ourName, Set<String> used) {
        Matcher m = BLOCK.matcher(ourName);
        if (!m.matches()) return file("transformer." + ourName, used, false);
        String p = "transformer.h." + m.group(1) + ".", a = p + "attn.attention.";
        boolean weight = m.group(3).equals("weight");
        return switch (m.group(2)) {
            case "attn.c_attn" -> {
                if (!weight) throw new AssertionError("GPT-Neo has no q/k/v bias, yet we have " + ourName);
                yield Tensor.cat(1, file(a + "q_proj.weight", used, true), file(a + "k_proj.weight", used, true),
                        file(a + "v_proj.weight", used, true));
            }
            case "attn.c_proj" -> file(a + "out_proj." + m.group(3), used, weight);
            default -> file(p + m.group(2) + "." + m.group(3), used, weight);
        };
    }

    private Tensor file(String name, Set<String> used, boolean transpose) {
        used.add(name);
        Tensor g = ref("grad:" + name);
        return transpose ? g.transpose(0, 1) : g;
    }
}
