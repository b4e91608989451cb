"""The ``clausier`` command line (Typer), in French."""
