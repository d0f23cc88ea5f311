"""HTTP (FastAPI) and the command line."""
