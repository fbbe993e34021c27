/**
 * Ablation: zero, mean, resample, soft and explicit-value edits of heads, patterns, neurons and residual streams,
 * turned into forward hooks so that any number run in one pass.
 */
package dev.loupe.interp.ablation;
