"""``python -m eventyard_inventory``: the command line."""

from eventyard_inventory.entrypoints.cli import main

main()
