"""``python -m eventyard_schema_registry``: the command line."""

from eventyard_schema_registry.entrypoints.cli import main

main()
