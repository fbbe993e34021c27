/**
 * Float32 tensors with views and NumPy broadcasting, define-by-run reverse-mode autodiff ({@link
 * dev.loupe.tensor.Autograd}), and the {@link dev.loupe.tensor.Backend} interface that devices implement. The CPU
 * backend ({@code dev.loupe.tensor.cpu}) uses the Vector API and all cores.
 */
package dev.loupe.tensor;
