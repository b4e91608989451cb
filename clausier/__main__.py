"""``python -m clausier`` is the ``clausier`` command."""

from clausier.cli.app import main

main()
