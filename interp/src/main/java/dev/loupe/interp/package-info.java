/**
 * Mechanistic-interpretability methods built on the hooked models: logit lens, direct logit attribution, ablation,
 * activation / path / attribution patching, input attribution, head detectors, circuit discovery, SAEs, steering.
 */
package dev.loupe.interp;
