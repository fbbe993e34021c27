/**
 * Analysis of one run's {@link dev.loupe.transformer.hooks.ActivationCache}, as TransformerLens's
 * {@code ActivationCache} offers it: accumulated and decomposed residual streams, per-head and per-neuron results,
 * LayerNorm applied with cached scales, logit attribution. Every stack is labelled.
 */
package dev.loupe.interp.cache;
