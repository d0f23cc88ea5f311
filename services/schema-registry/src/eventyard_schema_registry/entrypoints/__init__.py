"""Entry points: the FastAPI application speaking Confluent's REST API, and the command line."""
