"""The pages, one module per family; ``clausier.app`` includes their routers in this order (a
family's fixed addresses before another's patterns)."""

from __future__ import annotations

from clausier.web.routes import (
    beneficiaries,
    conventions,
    coverage,
    declarations,
    directory,
    evaluation,
    markets,
    offer,
    reports,
    review,
    signin,
    tasks,
    transitions,
)

FAMILIES = (
    signin,
    markets,
    transitions,
    tasks,
    coverage,
    conventions,
    declarations,
    review,
    beneficiaries,
    evaluation,
    offer,
    reports,
    directory,
)
