"""Typed settings read from ``config.yaml`` at start-up.

A wrong value stops the program before anything runs, with a French message naming the file,
the key and what is expected. ``CLAUSIER_CONFIG`` points to another file and
``CLAUSIER_DATABASE_URL`` overrides the database URL (deployments keep one config file and set
the database per environment).
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from clausier.errors import ConfigError
from clausier.validation.messages import dotted, french_message
from clausier.validation.yaml_keys import DuplicateKey, UniqueKeyLoader
from notifications.settings import (
    DEFAULT_RULES,
    NotificationSettings,
    OutboxSettings,
    ReminderRule,
    SmtpSettings,
)

CONFIG_ENV = "CLAUSIER_CONFIG"
DATABASE_URL_ENV = "CLAUSIER_DATABASE_URL"
DEFAULT_CONFIG = Path("config.yaml")
# events that open a task: a statement to check, a lot behind pace, every required hour validated
TASK_EVENTS = ("declaration", "behind_pace", "hours_reached")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Strict):
    url: str = "sqlite:///clausier.db"
    echo: bool = False
    # at most this many PostgreSQL connections per pool, opened as needed and kept: as many as
    # the requests one server answers at once (16 under wrk; a new connection per request beyond
    # the pool cost 2.5x the p99, docs/performance.md, throughput). clausier serve has two: its
    # requests' and the kept status lookups' (async, on the event loop).
    pool_size: int = Field(default=20, ge=1, le=200)
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


ANCHORS = ("entered", "consultation_on", "award_on", "execution_starts_on", "execution_ends_on")


class DueRule(_Strict):
    """When a task falls due: so many business days (and months) after a date of the market."""

    after: Literal[ANCHORS] = "entered"  # type: ignore[valid-type]
    business_days: int = Field(default=0, ge=-260, le=260)
    months: int = Field(default=0, ge=0, le=60)


class TaskKind(_Strict):
    label: str = Field(min_length=3)
    state: str
    # the convention service this work belongs to: a structure whose convention lacks it does not
    # get the task, the market's buyer does; none named (a config written before the key): the
    # structure's, as it always was
    service: str | None = None
    due: DueRule = DueRule()
    priority: Literal["high", "normal", "low"] = "normal"
    done_by: tuple[str, ...] = ()  # leaving the state by these triggers means the work is done
    # opened by an event of the state rather than by entering it (one task per lot and month)
    opened_by: Literal[TASK_EVENTS] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _known_lifecycle(self) -> TaskKind:
        from clausier.partnerships.models import Service
        from workflow.lifecycle import STATE_NAMES, TRANSITIONS

        if self.service is not None and self.service not in set(Service):
            raise ValueError(f"service « {self.service} » inconnu (attendu : {', '.join(Service)})")

        if self.state not in STATE_NAMES:
            raise ValueError(f"état « {self.state} » inconnu (attendu : {', '.join(STATE_NAMES)})")
        if self.opened_by is not None and self.state != "execution":
            raise ValueError(
                f"opened_by : « {self.opened_by} » n'arrive qu'en exécution (state: execution)"
            )
        leaving = [t.trigger for t in TRANSITIONS if self.state in t.sources]
        for trigger in self.done_by:
            if trigger not in leaving:
                raise ValueError(
                    f"done_by : « {trigger} » ne fait pas quitter l'état {self.state} "
                    f"(possibles : {', '.join(leaving) or 'aucun'})"
                )
        return self


DEFAULT_TASK_KINDS: dict[str, TaskKind] = {
    "assess_market": TaskKind(
        label="Étudier le marché identifié : peut-il porter une clause ?",
        state="identification",
        service="identify",
        due=DueRule(business_days=5),
        done_by=("prepare_offer", "decline"),
    ),
    "prepare_offer": TaskKind(
        label="Préparer l'offre d'insertion (heures, texte de clause)",
        state="insertion_offer",
        service="prepare_offer",
        due=DueRule(after="consultation_on", business_days=-10),
        priority="high",
        done_by=("publish",),
    ),
    "inform_bidders": TaskKind(
        label="Informer les candidats de la clause pendant la consultation",
        state="consultation",
        service="advise",
        due=DueRule(business_days=5),
    ),
    "kickoff_meeting": TaskKind(
        label="Tenir la réunion de démarrage avec le titulaire",
        state="execution",
        service="follow",
        due=DueRule(business_days=10),
        priority="high",
    ),
    "present_candidates": TaskKind(
        label="Présenter des candidats au titulaire",
        state="execution",
        service="facilitate",
        due=DueRule(after="execution_starts_on", business_days=15),
        priority="high",
    ),
    "check_declaration": TaskKind(
        label="Contrôler le relevé d'heures déclaré par le titulaire",
        state="execution",
        service="control",
        due=DueRule(business_days=5),
        opened_by="declaration",
    ),
    "review_pace": TaskKind(
        label="Le titulaire est en retard sur les heures d'insertion : faire le point avec lui",
        state="execution",
        service="follow",
        due=DueRule(business_days=5),
        priority="high",
        opened_by="behind_pace",
    ),
    "propose_completion": TaskKind(
        label="Toutes les heures requises sont validées : proposer la fin d'exécution",
        state="execution",
        service="follow",
        due=DueRule(business_days=10),
        priority="low",
        opened_by="hours_reached",
        done_by=("complete",),
    ),
    "evaluation_report": TaskKind(
        label="Rédiger le bilan de la clause",
        state="evaluation",
        service="evaluate",
        due=DueRule(business_days=20),
        done_by=("close",),
    ),
    "outcomes_follow_up": TaskKind(
        label="Suivre la situation des bénéficiaires six mois après la fin",
        state="evaluation",
        service="evaluate",
        due=DueRule(after="execution_ends_on", months=6),
        priority="low",
        done_by=("close",),
    ),
}


class TaskSettings(_Strict):
    due_time: time = time(18, 0)  # a task due on a day is due at this hour, Europe/Paris
    kinds: dict[str, TaskKind] = Field(default_factory=lambda: dict(DEFAULT_TASK_KINDS))

    @field_validator("kinds")
    @classmethod
    def _slugs(cls, kinds: dict[str, TaskKind]) -> dict[str, TaskKind]:
        for name in kinds:
            if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", name):
                raise ValueError(f"nom de tâche « {name} » : lettres minuscules, chiffres et _")
        return kinds


Share = Annotated[Decimal, Field(gt=0, le=1)]


class OfferSettings(_Strict):
    """Defaults of the hours formula; a convention's or a buyer's own settings win over them."""

    insertion_rate: Share = Decimal("0.05")
    hourly_cost: Annotated[Decimal, Field(gt=0, le=500)] = Decimal("30")
    round_to: int = Field(default=5, ge=1, le=100)
    rounding: Literal["nearest", "up", "down"] = "nearest"
    floor_hours: int = Field(default=35, ge=0)
    labour_shares: dict[str, Share] = Field(default_factory=dict)  # by CPV prefix, over the table
    default_labour_share: Share | None = None  # for a CPV outside the table; None: ask for it
    declaration_day: int = Field(default=10, ge=1, le=28)  # monthly declarations due that day
    clause_template: Path | None = None  # a Jinja2 template of the clause; None: the shipped one

    @field_validator("labour_shares")
    @classmethod
    def _cpv_prefixes(cls, shares: dict[str, Decimal]) -> dict[str, Decimal]:
        for prefix in shares:
            if not re.fullmatch(r"\d{2,8}", prefix):
                raise ValueError(f"« {prefix} » : un début de code CPV, 2 à 8 chiffres")
        return shares

    @field_validator("clause_template")
    @classmethod
    def _template_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"modèle introuvable : {path}")
        return path


class DeclarationSettings(_Strict):
    """Hours declarations: what is plausible, and when a contractor is behind pace."""

    max_hours_per_person_month: Annotated[Decimal, Field(gt=0, le=744)] = Decimal("180")
    pace_threshold: Annotated[Decimal, Field(gt=0, lt=1)] = Decimal("0.20")


class BeneficiarySettings(_Strict):
    """Personal data: how long names are kept after a market closes (RGPD), 5 years by default;
    ``clausier purge`` refuses to erase sooner."""

    retention_months: int = Field(default=60, ge=1, le=240)


# How long a check of each eligible public holds, in months (DOMAIN.md, « Eligible publics »):
# an IAE eligibility diagnosis 6 months, a PASS IAE 24 (les-emplois); the others are the
# facilitators' usual re-check (docs/execution.md, « Eligibility in time »).
DEFAULT_VALIDITY_MONTHS = {
    "deld": 12,
    "minima_sociaux": 12,
    "jeune": 12,
    "rqth": 60,
    "senior": 24,
    "siae": 6,
    "plie": 24,
    "qpv": 12,
    "other": 6,
}


class EligibilitySettings(_Strict):
    """A person's hours count from the check of a criterion, for its validity: ``validity_months``
    per public (every public, the defaults for those not written), ``pass_iae_months`` for an
    ``siae`` check made on a PASS IAE."""

    validity_months: dict[str, Annotated[int, Field(ge=1, le=120)]] = Field(
        default_factory=lambda: dict(DEFAULT_VALIDITY_MONTHS)
    )
    pass_iae_months: int = Field(default=24, ge=1, le=120)

    @field_validator("validity_months")
    @classmethod
    def _every_public(cls, months: dict[str, int]) -> dict[str, int]:
        from clausier.beneficiaries.vocabulary import PUBLICS

        for public in months:
            if public not in PUBLICS:
                raise ValueError(f"public « {public} » inconnu (attendu : {', '.join(PUBLICS)})")
        return {**DEFAULT_VALIDITY_MONTHS, **months}


DEFAULT_BASE_URL = "http://127.0.0.1:8000"  # clausier serve's default address


class WebSettings(_Strict):
    """Where people reach the pages: the links in e-mails point here. Behind a reverse proxy,
    ``trusted_proxies`` lists its addresses: only a request from one of them may say, with
    ``X-Forwarded-Proto`` and ``X-Forwarded-For``, that it came over https and from whom."""

    base_url: str = DEFAULT_BASE_URL
    trusted_proxies: tuple[str, ...] = ()

    @field_validator("trusted_proxies")
    @classmethod
    def _ip_networks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        checked = []
        for value in values:
            try:
                network = ipaddress.ip_network(value.strip())
            except ValueError as exc:
                raise ValueError(
                    f"« {value} » : attendu une adresse IP ou un réseau (10.0.0.5, 10.0.0.0/24, "
                    "::1)"
                ) from exc
            checked.append(str(network) if "/" in value else str(network.network_address))
        return tuple(checked)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"« {value} » : attendu une adresse http(s) du site, par exemple "
                "https://clausier.example.fr"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"« {value} » : une adresse sans « ? » ni « # »")
        return value.rstrip("/")


class SignInSettings(_Strict):
    """Throttling of signing in, counted in the database so that every process of an
    installation shares the counts: links asked for one address or from one client, and token or
    link guesses from one client (a right one is not counted)."""

    links_per_address_per_hour: int = Field(default=5, ge=1, le=1000)
    links_per_client_per_hour: int = Field(default=30, ge=1, le=100_000)
    attempts_per_client_per_minute: int = Field(default=10, ge=1, le=100_000)


class LimitSettings(_Strict):
    """How much one request may send, in bytes, by kind of address: over it, the answer is 413
    as soon as the size is known (``Content-Length``, or the bytes counted as they arrive), and
    the rest is not read. A CSV of hours (one month or several) has a number of lines too."""

    body_bytes: int = Field(default=1_000_000, ge=1_000, le=1_000_000_000)  # any other request
    load_bytes: int = Field(default=3_000_000, ge=1_000, le=1_000_000_000)  # POST /api/load
    statement_csv_bytes: int = Field(default=5_000_000, ge=1_000, le=1_000_000_000)
    form_bytes: int = Field(default=64_000, ge=1_000, le=1_000_000_000)  # a page's form
    statement_lines: int = Field(default=10_000, ge=1, le=1_000_000)  # of one CSV of hours


class CacheSettings(_Strict):
    """What one server keeps in memory. A status document is about 10 kB: 2,000 of them, 20 MB;
    0 keeps none (each lookup builds its document)."""

    status_documents: int = Field(default=2_000, ge=0, le=200_000)


class Settings(_Strict):
    database: DatabaseSettings = DatabaseSettings()
    logging: LoggingSettings = LoggingSettings()
    tasks: TaskSettings = TaskSettings()
    offer: OfferSettings = OfferSettings()
    declarations: DeclarationSettings = DeclarationSettings()
    beneficiaries: BeneficiarySettings = BeneficiarySettings()
    eligibility: EligibilitySettings = EligibilitySettings()
    reminders: dict[str, ReminderRule] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    web: WebSettings = WebSettings()
    limits: LimitSettings = LimitSettings()
    cache: CacheSettings = CacheSettings()
    sign_in: SignInSettings = SignInSettings()
    notifications: NotificationSettings = NotificationSettings()
    outbox: OutboxSettings = OutboxSettings()
    smtp: SmtpSettings = SmtpSettings()

    @model_validator(mode="after")
    def _smtp_password_present(self) -> Settings:
        if self.outbox.transport == "smtp" and self.smtp.user and not self.smtp.password:
            raise ValueError(
                f"smtp.user est renseigné mais la variable d'environnement "
                f"{self.smtp.password_env} (mot de passe SMTP) est absente"
            )
        return self


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the configuration; raise ``ConfigError`` on any problem."""
    explicit = path or os.environ.get(CONFIG_ENV)
    source = Path(explicit) if explicit else DEFAULT_CONFIG
    data: dict = {}
    if source.exists():
        try:
            loaded = yaml.load(source.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
        except DuplicateKey as exc:
            raise ConfigError(str(source), [exc.problem]) from exc
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
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = dotted(error["loc"])
            if key == "database.url" and override:
                key = f"database.url (via {DATABASE_URL_ENV})"
            problems.append(f"clé « {key} » : {french_message(error)}")
        raise ConfigError(str(source), problems) from exc
    from clausier.offers.clause import template_problem

    problem = template_problem(settings.offer)
    if problem:
        raise ConfigError(str(source), [f"clé « offer.clause_template » : {problem}"])
    from notifications.rendering import template_problems

    problems = template_problems(settings)
    if problems:
        raise ConfigError(str(source), problems)
    return settings


@cache
def get_settings() -> Settings:
    """The settings of this process, read once (``get_settings.cache_clear()`` to re-read)."""
    return load_settings()
