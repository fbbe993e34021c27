/**
 * Head detectors: how closely each attention head's pattern follows a reference pattern (previous token, duplicate
 * token, induction, prefix matching, or any pattern the caller gives), as [layer, head] scores.
 */
package dev.loupe.interp.detect;
