"""Migration scripts, one revision per file (0001, 0002, ...)."""
