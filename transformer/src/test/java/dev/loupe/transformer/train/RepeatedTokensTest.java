package dev.loupe.transformer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.tensor.Rng;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The induction task's rows: BOS, a block of distinct tokens, then the block repeated with a per-row period. */
class RepeatedTokensTest {
    @Test
    void rowsAreBosThenADistinctBlockRepeatedToTheEnd() {
        RepeatedTokens task = new RepeatedTokens(0, 1, 20, 30, 3, 9, 200);
        Set<Integer> periods = new HashSet<>();
        for (int[] row : task.rows(new Rng(4))) {
            assertEquals(30, row.length);
            assertEquals(0, row[0]);
            // the period is the first position whose token appeared before
            int period = 1;
            Set<Integer> seen = new HashSet<>();
            while (seen.add(row[period])) period++;
            period -= 1;
            assertTrue(period >= 3 && period <= 9, "period " + period);
            periods.add(period);
            for (int i = 1; i < 30; i++) {
                assertTrue(row[i] >= 1 && row[i] <= 20, "token " + row[i]);
                if (i > period) assertEquals(row[i - period], row[i], "position " + i);
            }
        }
        assertEquals(7, periods.size(), "every block length 3..9 occurs in 200 rows");
    }

    @Test
    void rejectsABlockLongerThanTheTokenPool() {
        assertThrows(IllegalArgumentException.class, () -> new RepeatedTokens(0, 1, 5, 30, 3, 6, 1));
        assertThrows(IllegalArgumentException.class, () -> new RepeatedTokens(1, 1, 5, 30, 3, 4, 1));
    }
}
