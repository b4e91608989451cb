"""The application, assembled once: the API under ``/api`` (OpenAPI at ``/openapi.json``), the
pages, their static files, and one answer for each kind of error, the API's JSON under ``/api``
and a page of the site elsewhere. The API and the pages do not know each other."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from clausier import __version__
from clausier.api import declarations, description, directory, markets, reports, tasks
from clausier.api import errors as api_errors
from clausier.api.deps import refuse_duplicate_keys
from clausier.config import Settings
from clausier.db.engine import async_loop_reader, loop_reader, reader
from clausier.documents import Health
from clausier.errors import ClausierError
from clausier.http.headers import SecurityHeaders
from clausier.http.limits import BoundedRequests
from clausier.http.status import under_api
from clausier.markets.status_cache import StatusCache
from clausier.web import common as pages
from clausier.web.routes import FAMILIES


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
    app.add_middleware(BoundedRequests, limits=settings.limits, answer=http_error_response)
    app.add_middleware(SecurityHeaders, https_site=settings.web.base_url.startswith("https://"))
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.web.trusted_proxies))
    install_errors(app)
    for module in (markets, tasks, directory, declarations, reports):
        app.include_router(module.router, dependencies=[Depends(refuse_duplicate_keys)])
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    for family in FAMILIES:
        app.include_router(family.router)

    @app.get("/", include_in_schema=False)
    def root() -> dict:
        return {
            "service": "Clausier",
            "api": "/api/markets",
            "openapi": "/openapi.json",
            "health": "/api/health",
        }

    @app.get("/api/health", tags=["service"], summary="Le service répond", response_model=Health)
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    return app


async def http_error_response(request: Request, error: HTTPException) -> Response:
    """What the framework answers itself (an unknown address, a wrong method, a body it cannot
    read or will not read), in the shape of the channel."""
    if error.status_code in (204, 304):
        return Response(status_code=error.status_code, headers=error.headers)
    if under_api(request.url.path):
        return api_errors.http_response(request, error)
    return pages.http_page(request, error)


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(ClausierError)
    async def _domain(request: Request, error: ClausierError) -> Response:
        if under_api(request.url.path):
            return api_errors.domain_response(error)
        return pages.domain_page(request, error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        if under_api(request.url.path):
            return api_errors.invalid_response(error)
        return pages.validation_page(request, error, api_errors.invalid_message(error))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        return await http_error_response(request, error)
