package dev.loupe.transformer;

import dev.loupe.tensor.Tensor;
import dev.loupe.tensor.UnaryOp;

/** MLP activation functions, by the names Hugging Face configs use. */
public enum Activation {
    /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): GPT-2's {@code gelu_new} (also {@code gelu_fast}, {@code gelu_pytorch_tanh}). */
    GELU_TANH,
    /** x·Φ(x) with the exact error function: BERT's {@code gelu}. */
    GELU,
    RELU,
    /** x·σ(x). */
    SILU;

    /** Elementwise, any shape. */
    public Tensor apply(Tensor x) {
        return switch (this) {
            case GELU_TANH -> x.geluTanh();
            case GELU -> x.gelu();
            case RELU -> x.relu();
            case SILU -> x.mul(x.sigmoid());
        };
    }

    /**
     * {@code apply(x.linear(w, b))} for x [..., k], w [k, n], b [n] or null → [..., n], the same values bit for bit,
     * with the activation fused into the product where it is one op (no pre-activation tensor is made then).
     */
    public Tensor linear(Tensor x, Tensor w, Tensor b) {
        return switch (this) {
            case GELU_TANH -> x.linear(w, b, UnaryOp.GELU_TANH);
            case GELU -> x.linear(w, b, UnaryOp.GELU_ERF);
            case RELU -> x.linear(w, b, UnaryOp.RELU);
            case SILU -> apply(x.linear(w, b));
        };
    }

    /** The activation a config's {@code activation_function} / {@code hidden_act} names. */
    public static Activation fromConfig(String name) {
        return switch (name) {
            case "gelu_new", "gelu_fast", "gelu_pytorch_tanh" -> GELU_TANH;
            case "gelu" -> GELU;
            case "relu" -> RELU;
            case "silu", "swish" -> SILU;
            default -> throw new IllegalArgumentException("unsupported activation function '" + name
                    + "' (supported: gelu_new, gelu_fast, gelu_pytorch_tanh, gelu, relu, silu)");
        };
    }

    /** The name written to a config file. */
    public String configName() {
        return switch (this) {
            case GELU_TANH -> "gelu_new";
            case GELU -> "gelu";
            case RELU -> "relu";
            case SILU -> "silu";
        };
    }
}
