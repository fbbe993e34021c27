package dev.loupe.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Runs {@link Main} in-process with stdout and stderr captured. */
record CliRun(int code, String out, String err) {
    static synchronized CliRun of(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            int code = Main.run(List.of(args));
            return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** Asserts exit code 0 and returns stdout. */
    String ok() {
        if (code != 0) throw new AssertionError("exit " + code + ": " + err);
        return out;
    }

    /** Asserts that {@code args} fail as a usage error: exit code 2, nothing on stdout, one stderr line naming the command. */
    static void assertUsageError(String message, String... args) {
        CliRun r = CliRun.of(args);
        org.junit.jupiter.api.Assertions.assertEquals(2, r.code(), r.err());
        org.junit.jupiter.api.Assertions.assertEquals("", r.out());
        String line = r.err().strip();
        org.junit.jupiter.api.Assertions.assertFalse(line.contains("\n"), line);
        org.junit.jupiter.api.Assertions.assertTrue(line.startsWith("loupe " + args[0] + ": ") && line.contains(message),
                line);
    }
}
