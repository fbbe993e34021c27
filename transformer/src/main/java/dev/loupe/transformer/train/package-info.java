/**
 * Training: optimizers that update parameter tensors in place from their accumulated {@code grad()}, with the
 * parameter groups that exempt biases, LayerNorm weights and embeddings from weight decay.
 */
package dev.loupe.transformer.train;
