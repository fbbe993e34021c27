/**
 * Text generation from GPT-2-family models: {@link dev.loupe.transformer.generate.GenerationConfig} (Hugging Face
 * {@code generate}-style settings), {@link dev.loupe.transformer.generate.Sampler} (temperature, top-k, top-p) and
 * {@link dev.loupe.transformer.generate.Generator}, which runs the prompt once through a KV cache and then one token
 * per step, with hooks (e.g. steering vectors) active on every step.
 */
package dev.loupe.transformer.generate;
