package dev.loupe.weights;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A weight, index or config file whose contents cannot be trusted: truncated, malformed, inconsistent, or (for
 * pickles) asking to run code. The message names the file, the tensor when one is involved, and what is wrong.
 *
 * <p>It is an {@link IOException} because it is an expected condition of reading user files, raised by the same
 * calls that already throw {@code IOException} for missing or unreadable files, so one {@code catch} reports both.
 * Readers throw it before returning anything: no half-opened checkpoint is left behind.
 */
public final class WeightFileException extends IOException {
    private final Path file;

    /** A problem with {@code file} as a whole (header, archive, index). */
    public WeightFileException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    /** A problem with one tensor of {@code file}. */
    public WeightFileException(Path file, String tensor, String problem) {
        super(file + ": tensor '" + tensor + "': " + problem);
        this.file = file;
    }

    /** As {@link #WeightFileException(Path, String)}, keeping the lower-level cause. */
    public WeightFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }
}
