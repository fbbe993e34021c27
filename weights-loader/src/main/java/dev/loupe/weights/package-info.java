/**
 * Readers for weight files as users have them in Hugging Face folders. Start at {@link dev.loupe.weights.Checkpoints}
 * (finds {@code model.safetensors}, a sharded index, or {@code pytorch_model.bin}) and
 * {@link dev.loupe.weights.HfConfig} ({@code config.json}).
 *
 * <p>Weights are memory-mapped and served as {@link dev.loupe.tensor.MappedStorage} views, never copied unless asked
 * ({@link dev.loupe.weights.Checkpoint#load}). PyTorch {@code .bin} pickles go through a restricted unpickler that
 * executes nothing. Malformed, truncated or hostile files fail with {@link dev.loupe.weights.WeightFileException}
 * naming the file and tensor, before any checkpoint is returned. ONNX files: {@code onnx}. Still to come in this module:
 * tokenizer files (the JSON parser in {@code json} is meant for them).
 */
package dev.loupe.weights;
