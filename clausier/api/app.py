"""The FastAPI application: the API under ``/api``, OpenAPI at ``/openapi.json``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from clausier import __version__
from clausier.api import declarations, directory, errors, markets, reports, tasks
from clausier.config import Settings
from clausier.web import pages


def create_app(engine: Engine, settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Clausier",
        version=__version__,
        description="Les marchés publics à clause sociale d'insertion, de l'identification au bilan.",
    )
    app.state.engine, app.state.settings = engine, settings
    errors.install(app)
    for module in (markets, tasks, directory, declarations, reports):
        app.include_router(module.router)
    app.mount(
        "/static", StaticFiles(directory=Path(pages.__file__).parent / "static"), name="static"
    )
    pages.install(app)

    @app.get("/", include_in_schema=False)
    def root() -> dict:
        return {
            "service": "Clausier",
            "api": "/api/markets",
            "openapi": "/openapi.json",
            "health": "/api/health",
        }

    @app.get("/api/health", tags=["service"], summary="Le service répond")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    return app
