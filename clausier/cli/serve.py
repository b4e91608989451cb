"""``clausier serve`` (the HTTP API and the reminder sweep) and ``clausier token …``."""

from __future__ import annotations

import gc
import socket
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from clausier import clock
from clausier.auth import tokens
from clausier.auth.models import ROLE_LABELS, Role
from clausier.cli import runtime
from clausier.cli.reminders import worker_name
from clausier.clock import PARIS
from clausier.config import DEFAULT_BASE_URL, DatabaseSettings
from clausier.db import migrate
from clausier.db.engine import make_engine, session_scope
from clausier.errors import InvalidInput
from clausier.loading.loader import load

token_app = typer.Typer(
    help="Jetons d'accès à l'API (un rôle, une organisation).", no_args_is_help=True
)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "basse-normandie.yaml"
DEMO_ORGS = {
    Role.admin: None,
    Role.buyer: "Région Normandie",
    Role.facilitator: "plie-caen",  # follows MKT-2026-012, where the demo contractor declares
    Role.contractor: "41234567000019",
}


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option("--role", help="admin, buyer, facilitator ou contractor.")],
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            help="Acheteur (nom ou SIRET), structure (réf.) ou l'un de ses facilitateurs (e-mail), "
            "titulaire (SIRET).",
        ),
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Date d'expiration AAAA-MM-JJ.")
    ] = None,
) -> None:
    """Crée un jeton : il est affiché une seule fois, seule son empreinte est conservée."""
    expires_at = None
    if expires:
        try:
            expires_at = datetime.combine(
                date.fromisoformat(expires), datetime.min.time(), tzinfo=PARIS
            ).astimezone(UTC)
        except ValueError as exc:
            raise InvalidInput(f"--expires « {expires} » : attendu une date AAAA-MM-JJ.") from exc
    with session_scope(runtime.engine()) as session:
        token, row = tokens.create(
            session, role=role, org=org, expires_at=expires_at, now=clock.now()
        )
        number, label = row.id, row.label
    runtime.say(
        f"Jeton n° {number} ({ROLE_LABELS[role]}, {label}) — conservez-le, il ne sera plus affiché :"
    )
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="Numéro du jeton.")]) -> None:
    """Révoque un jeton."""
    with session_scope(runtime.engine()) as session:
        tokens.revoke(session, token_id, now=clock.now())
    runtime.say(f"Jeton n° {token_id} révoqué.")


def _address(sock: socket.socket) -> str:
    """Where this server is reached: the bound address (a free port when 0 was asked for); a
    wildcard address is reached by the machine's name."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    host: Annotated[str, typer.Option("--host", help="Adresse d'écoute.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port d'écoute.")] = 8000,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Sans l'envoi des rappels.")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Base SQLite neuve avec le territoire d'exemple.")
    ] = False,
) -> None:
    """Le serveur HTTP (API) et l'envoi des rappels."""
    import uvicorn

    from clausier.app import create_app
    from notifications.worker import scheduler

    settings = runtime.settings()
    if demo:
        folder = Path(tempfile.mkdtemp(prefix="clausier-demo-"))
        settings = settings.model_copy(
            update={"database": DatabaseSettings(url=f"sqlite:///{folder / 'clausier.db'}")}
        )
    engine = make_engine(settings) if demo else runtime.engine()
    if demo:
        if not EXAMPLE.exists():
            raise InvalidInput(
                f"Territoire d'exemple introuvable ({EXAMPLE}) : lancez depuis le dépôt."
            )
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            load(session, EXAMPLE, today=clock.today(), settings=settings)
            issued = {role: tokens.create(session, role=role, org=org, expires_at=None, now=clock.now())[0]
                      for role, org in DEMO_ORGS.items()}  # fmt: skip
        runtime.say(f"Démonstration : base {folder / 'clausier.db'}, territoire {EXAMPLE.name}")
        for role, token in issued.items():
            runtime.say(f"  jeton {ROLE_LABELS[role]:<15} {DEMO_ORGS[role] or '':<20} {token}")
    try:  # bound before saying so: « écoute sur » is true when read, and a busy port is named
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
    except OSError as error:
        raise InvalidInput(f"Impossible d'écouter sur {host}:{port} : {error.strerror}.") from error
    address = _address(sock)
    runtime.say(f"Clausier écoute sur {address}/ (API : /api, description : /openapi.json)")
    if settings.web.base_url == DEFAULT_BASE_URL and address != DEFAULT_BASE_URL:
        settings = settings.model_copy(
            update={"web": settings.web.model_copy(update={"base_url": address})}
        )
        runtime.say(
            f"Les liens des e-mails mènent à {address}/ (web.base_url est laissé à sa valeur "
            "par défaut ; réglez-le dans config.yaml pour une autre adresse)."
        )
    jobs = (
        None if no_scheduler else scheduler(engine, settings, worker=worker_name(), blocking=False)
    )
    if jobs is not None:
        jobs.start()
    try:
        config = uvicorn.Config(  # the app reads proxy headers from web.trusted_proxies only
            create_app(engine, settings), log_level=settings.logging.level.lower(),
            proxy_headers=False,
        )  # fmt: skip
        # Everything loaded so far (the libraries, the app) lives as long as the server: out of
        # the collector's reach, a full collection no longer walks it. Those walks stopped every
        # request for ~100 ms now and then: the p99 of /api/health fell from 108 to 20 ms under
        # wrk, the status lookup's from 200 to 80 ms (docs/performance.md, throughput).
        gc.collect()
        gc.freeze()
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if jobs is not None:
            jobs.shutdown(wait=False)
