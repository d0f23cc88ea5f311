"""orders entrypoints."""
