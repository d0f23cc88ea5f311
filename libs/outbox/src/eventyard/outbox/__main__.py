"""``python -m eventyard.outbox``: the same as the ``eventyard-outbox`` command."""

from eventyard.outbox._cli import main

main()
