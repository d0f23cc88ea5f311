"""``python -m eventyard.saga``: the admin command."""

from ._cli import main

main()
