"""Typed settings read from ``config.yaml`` at start-up.

A wrong value stops the program before anything runs, with a French message naming the file,
the key and what is expected. ``CLAUSIER_CONFIG`` points to another file and
``CLAUSIER_DATABASE_URL`` overrides the database URL (deployments keep one config file and set
the database per environment).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from clausier.errors import ConfigError
from clausier.validation.messages import dotted, french_message

CONFIG_ENV = "CLAUSIER_CONFIG"
DATABASE_URL_ENV = "CLAUSIER_DATABASE_URL"
DEFAULT_CONFIG = Path("config.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Strict):
    url: str = "sqlite:///clausier.db"
    echo: bool = False
    pool_size: int = Field(default=5, ge=1, le=200)
    sqlite_busy_timeout_seconds: float = Field(default=30, gt=0, le=600)

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(
                "attendu : une URL de base de données, par exemple sqlite:///clausier.db ou "
                "postgresql+psycopg://utilisateur@hôte/base"
            ) from exc
        if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
            raise ValueError(
                f"pilote « {url.drivername} » non pris en charge : utilisez sqlite:///… "
                "ou postgresql+psycopg://…"
            )
        return value


class LoggingSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


class Settings(_Strict):
    database: DatabaseSettings = DatabaseSettings()
    logging: LoggingSettings = LoggingSettings()


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the configuration; raise ``ConfigError`` on any problem."""
    explicit = path or os.environ.get(CONFIG_ENV)
    source = Path(explicit) if explicit else DEFAULT_CONFIG
    data: dict = {}
    if source.exists():
        try:
            loaded = yaml.safe_load(source.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"ligne {mark.line + 1}" if mark else "lecture"
            raise ConfigError(str(source), [f"{where} : YAML illisible ({exc})"]) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(str(source), ["le fichier doit contenir des clés (un dictionnaire)"])
        data = loaded or {}
    elif explicit:
        raise ConfigError(str(source), ["fichier introuvable"])
    override = os.environ.get(DATABASE_URL_ENV)
    if override:
        data = {**data, "database": {**(data.get("database") or {}), "url": override}}
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = dotted(error["loc"])
            if key == "database.url" and override:
                key = f"database.url (via {DATABASE_URL_ENV})"
            problems.append(f"clé « {key} » : {french_message(error)}")
        raise ConfigError(str(source), problems) from exc
