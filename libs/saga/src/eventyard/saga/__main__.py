"""``python -m eventyard.saga``: the admin command."""

from eventyard.saga._cli import main

main()
