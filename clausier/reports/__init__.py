"""The indicators buyers expect, and their exports (HTML, XLSX, CSV)."""
