"""The FastAPI application: the API under ``/api``, OpenAPI at ``/openapi.json``."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from clausier import __version__
from clausier.api import declarations, description, directory, errors, markets, reports, tasks
from clausier.api.deps import refuse_duplicate_keys
from clausier.api.limits import BoundedRequests
from clausier.config import Settings
from clausier.db.engine import async_loop_reader, loop_reader, reader
from clausier.markets.status_cache import StatusCache
from clausier.web import pages
from clausier.web.common_http import SecurityHeaders


def create_app(engine: Engine, settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        """The async reads of kept lookups (PostgreSQL) belong to the serving loop: made here,
        disposed at shutdown. A client that runs no lifespan reads in the threadpool."""
        reads = async_loop_reader(engine, settings.database.pool_size)
        app.state.async_reader = (reads, asyncio.get_running_loop()) if reads else None
        try:
            yield
        finally:
            app.state.async_reader = None
            if reads is not None:
                await reads.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="Clausier",
        version=__version__,
        description="Les marchés publics à clause sociale d'insertion, de l'identification au bilan.",
        docs_url=None,  # Swagger UI and ReDoc run scripts from a CDN, which the CSP refuses
        redoc_url=None,
    )
    app.state.engine, app.state.settings = engine, settings
    app.state.reader, app.state.loop_reader = reader(engine), loop_reader(engine)
    app.state.async_reader = None
    app.state.status_cache = StatusCache(settings.cache.status_documents)
    app.openapi = description.documented(app.openapi)  # it says what the API refuses
    # the last added runs first: the proxy's word (if trusted) is read before headers are chosen
    app.add_middleware(BoundedRequests, limits=settings.limits)  # its refusals get the headers
    app.add_middleware(SecurityHeaders, https_site=settings.web.base_url.startswith("https://"))
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.web.trusted_proxies))
    errors.install(app)
    for module in (markets, tasks, directory, declarations, reports):
        app.include_router(module.router, dependencies=[Depends(refuse_duplicate_keys)])
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
