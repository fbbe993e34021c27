/** JMH micro-benchmarks of the CPU kernels; run with {@code ./loupe jmh}. */
package dev.loupe.jmh;
