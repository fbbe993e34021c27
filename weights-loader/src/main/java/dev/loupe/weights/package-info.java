/**
 * Readers for weight files as users have them: safetensors (memory-mapped), PyTorch {@code .bin} through a restricted
 * unpickler that never executes code, ONNX initializers, {@code config.json} and tokenizer files.
 */
package dev.loupe.weights;
