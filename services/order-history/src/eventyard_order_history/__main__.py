"""``python -m eventyard_order_history``: the command line."""

from eventyard_order_history.entrypoints.cli import main

main()
