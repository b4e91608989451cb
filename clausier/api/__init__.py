"""The HTTP API (FastAPI, JSON under ``/api``)."""
