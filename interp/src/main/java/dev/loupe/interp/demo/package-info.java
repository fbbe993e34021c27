/**
 * The built-in demo models that Loupe trains itself (no download): an attention-only induction model and a small
 * GPT-2 trained on synthetic indirect-object-identification sentences, built deterministically and cached.
 */
package dev.loupe.interp.demo;
