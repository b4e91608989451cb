"""What every command shares: the validated settings, the engine, the clock, the output."""

from __future__ import annotations

import getpass
import json
import os
from functools import cache
from typing import Any

import typer
from sqlalchemy.engine import Engine

from clausier.config import Settings, get_settings
from clausier.db.engine import make_engine


def settings() -> Settings:
    return get_settings()


@cache
def engine() -> Engine:
    return make_engine(settings())


def default_actor() -> str:
    return os.environ.get("CLAUSIER_ACTOR") or f"cli:{getpass.getuser()}"


def emit_json(document: Any) -> None:
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


def say(message: str) -> None:
    """A message for the person (stderr), so that stdout stays clean for ``--json``."""
    typer.echo(message, err=True)
