"""``clausier demo-data``: a national data set for demonstrations and benchmarks."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from clausier.cli import runtime
from clausier.demo.national import generate


def demo_data(
    markets: Annotated[int, typer.Option("--markets", min=1, help="Nombre de marchés.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Graine : même graine, mêmes données.")] = 1,
) -> None:
    """Remplit une base vide d'un jeu national réaliste (acheteurs, structures, conventions,
    marchés dans tous les états, tâches, rappels, déclarations)."""
    with typer.progressbar(length=markets, label="Marchés", file=sys.stderr) as bar:
        counts = generate(
            runtime.engine(), markets=markets, seed=seed, settings=runtime.settings(),
            progress=bar.update,
        )  # fmt: skip
    runtime.say(
        "Données de démonstration écrites : "
        + ", ".join(f"{table} {count}" for table, count in counts.items())
    )
