/**
 * Tokenizers: {@link dev.loupe.transformer.tokenizer.Gpt2Tokenizer}, GPT-2's byte-level BPE, loaded from Hugging Face
 * files or the {@code r50k_base} ranks bundled with JTokkit, with ids identical to tiktoken's {@code r50k_base}.
 */
package dev.loupe.transformer.tokenizer;
