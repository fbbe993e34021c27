package dev.loupe.cli;

import java.util.List;

/** One {@code loupe} subcommand. */
interface Command {
    /** One line for {@code loupe help}. */
    String summary();

    /** Runs with the arguments after the command's name; returns the process exit code. */
    int run(List<String> args) throws Exception;
}
