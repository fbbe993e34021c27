package dev.loupe.transformer;

import dev.loupe.tensor.Tensor;

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
