"""``python -m eventyard_orders``: the command line."""

from eventyard_orders.entrypoints.cli import main

main()
