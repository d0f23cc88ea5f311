"""``python -m eventyard_customers``: the command line."""

from eventyard_customers.entrypoints.cli import main

main()
