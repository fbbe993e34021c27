/** Activation patching: metrics, and sweeps that patch one component at a time from a source run into a target run. */
package dev.loupe.interp.patching;
