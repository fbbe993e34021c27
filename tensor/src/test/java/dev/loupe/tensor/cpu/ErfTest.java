package dev.loupe.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link Erf} against published values of erf (Abramowitz & Stegun, table 7.1; extended by tables of erfc). */
class ErfTest {
    @Test
    void matchesTabulatedValuesOnBothSidesOfTheSeriesCutover() {
        double[][] table = {
            {0.0, 0.0},
            {0.1, 0.1124629160182849},
            {0.5, 0.5204998778130465},
            {1.0, 0.8427007929497149},
            {1.5, 0.9661051464753108},
            {2.0, 0.9953222650189527},
            {2.5, 0.9995930479825550},
            {3.0, 0.9999779095030014},
            {4.0, 0.9999999845827421},
        };
        for (double[] row : table) {
            assertEquals(row[1], Erf.erf(row[0]), 1e-13, "erf(" + row[0] + ")");
            assertEquals(-row[1], Erf.erf(-row[0]), 1e-13, "erf(-" + row[0] + ")");
        }
        assertEquals(1.0, Erf.erf(7.0), 0.0);
    }
}
