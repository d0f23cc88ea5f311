"""``python -m eventyard.outbox``: the same as the ``eventyard-outbox`` command."""

from ._cli import main

main()
