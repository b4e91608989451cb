"""Validation shared by the configuration, the load files and later the API."""
