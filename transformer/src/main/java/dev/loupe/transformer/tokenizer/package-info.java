/**
 * Tokenizers: {@link dev.loupe.transformer.tokenizer.Gpt2Tokenizer}, GPT-2's byte-level BPE, loaded from Hugging Face
 * files or the {@code r50k_base} ranks bundled with JTokkit, with ids identical to tiktoken's {@code r50k_base}; and
 * {@link dev.loupe.transformer.tokenizer.WordPieceTokenizer}, BERT's WordPiece, with the ids, type ids and tokens of
 * Hugging Face's Rust {@code tokenizers}, giving {@link dev.loupe.transformer.tokenizer.Encoding}s.
 */
package dev.loupe.transformer.tokenizer;
