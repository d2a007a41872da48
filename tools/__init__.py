"""Command-line tools around the program: offline synth, diff, preflight and smoke checks."""
