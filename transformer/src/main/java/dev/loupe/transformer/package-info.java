/**
 * GPT-2, GPT-Neo and BERT implemented on {@link dev.loupe.tensor.Tensor}, with every activation a hook point named as
 * in TransformerLens ({@code blocks.3.attn.hook_pattern}), call-scoped hooks and caches, generation and tokenizers.
 */
package dev.loupe.transformer;
