"""Entry points: the saga commands, the HTTP API, the application and the command line."""
