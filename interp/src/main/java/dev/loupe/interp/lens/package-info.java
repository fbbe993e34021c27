/** Lenses: reading intermediate residual streams as predictions (the logit lens). */
package dev.loupe.interp.lens;
