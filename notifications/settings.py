"""The configuration of reminders and delivery (``reminders:``, ``notifications:``, ``outbox:``,
``smtp:`` in config.yaml). Plain data, checked at start-up with the rest of the settings."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FOLLOWS = ("task", "declaration", "pace", "execution_end", "shortfall", "convention", "coverage")
ROLES = ("facilitator", "structure", "buyer", "contractor")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Repeat(_Strict):
    every_business_days: int = Field(ge=1, le=60)
    times: int = Field(ge=1, le=20)


class ReminderRule(_Strict):
    """A reminder: what it follows, who receives it, when, how often, and who is told next."""

    follows: Literal[FOLLOWS]  # type: ignore[valid-type]
    to: Literal[ROLES]  # type: ignore[valid-type]
    label: str = Field(min_length=3)  # what people read in lists, French
    subject: str = Field(min_length=3)  # a Jinja2 line, French
    template: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$"
    )  # notifications/templates/NAME.{txt,html}.j2
    before_business_days: int | None = Field(default=None, ge=0, le=120)
    after_business_days: int | None = Field(default=None, ge=0, le=120)
    before_weeks: int | None = Field(default=None, ge=1, le=52)
    repeat: Repeat | None = None
    escalate: tuple[Literal[ROLES], ...] = ()  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_delay(self) -> ReminderRule:
        delays = [self.before_business_days, self.after_business_days, self.before_weeks]
        if sum(d is not None for d in delays) != 1:
            raise ValueError(
                "une seule échéance : before_business_days, after_business_days ou before_weeks"
            )
        if (self.repeat or self.escalate) and self.after_business_days is None:
            raise ValueError(
                "repeat et escalate vont avec after_business_days (un rappel de retard)"
            )
        return self


DEFAULT_RULES: dict[str, ReminderRule] = {
    "task_due_soon": ReminderRule(
        label="Tâche bientôt due", follows="task", to="facilitator", before_business_days=2, template="task_due_soon",
        subject="À faire d'ici le {{ task.due_on }} : {{ task.label }} ({{ market.ref }})",
    ),
    "task_overdue": ReminderRule(
        label="Tâche en retard", follows="task", to="facilitator", after_business_days=1, template="task_overdue",
        repeat=Repeat(every_business_days=3, times=2), escalate=("structure", "buyer"),
        subject="En retard depuis le {{ task.due_on }} : {{ task.label }} ({{ market.ref }})",
    ),
    "declaration_due": ReminderRule(
        label="Relevé d'heures à déclarer", follows="declaration", to="contractor", before_business_days=3, template="declaration_due",
        subject="Relevé d'heures de {{ period.label }} à déclarer avant le {{ period.deadline }} ({{ market.ref }}, lot {{ lot.number }})",
    ),
    "declaration_missing": ReminderRule(
        label="Relevé d'heures manquant", follows="declaration", to="contractor", after_business_days=2, template="declaration_missing",
        repeat=Repeat(every_business_days=5, times=2), escalate=("structure",),
        subject="Relevé d'heures de {{ period.label }} manquant ({{ market.ref }}, lot {{ lot.number }})",
    ),
    "behind_pace": ReminderRule(
        label="Retard sur les heures d'insertion", follows="pace", to="contractor", before_business_days=0, template="behind_pace",
        subject="Heures d'insertion en retard : {{ pace.validated }} h validées sur {{ pace.expected }} h attendues ({{ market.ref }}, lot {{ lot.number }})",
    ),
    "execution_ending_contractor": ReminderRule(
        label="Fin d'exécution proche (titulaire)", follows="execution_end", to="contractor", before_weeks=6, template="execution_ending",
        subject="Fin d'exécution le {{ market.execution_ends_on }} : heures d'insertion à réaliser ({{ market.ref }})",
    ),
    "execution_ending_facilitator": ReminderRule(
        label="Fin d'exécution proche (facilitateur)", follows="execution_end", to="facilitator", before_weeks=6, template="execution_ending",
        subject="Fin d'exécution le {{ market.execution_ends_on }} : heures d'insertion manquantes ({{ market.ref }})",
    ),
    "shortfall_buyer": ReminderRule(
        label="Fin d'exécution : heures manquantes et pénalité (acheteur)", follows="shortfall", to="buyer", after_business_days=1, template="shortfall",
        subject="Fin d'exécution du marché {{ market.ref }} : {{ shortfall.missing }} h d'insertion manquantes{% if shortfall.penalty %}, pénalité de {{ shortfall.penalty }}{% endif %}",
    ),
    "convention_expiring_buyer": ReminderRule(
        label="Convention bientôt expirée (acheteur)", follows="convention", to="buyer", before_weeks=8, template="convention_expiring",
        subject="La convention {{ convention.ref }} expire le {{ convention.ends_on }}",
    ),
    "convention_expiring_structure": ReminderRule(
        label="Convention bientôt expirée (structure)", follows="convention", to="structure", before_weeks=8, template="convention_expiring",
        subject="La convention {{ convention.ref }} expire le {{ convention.ends_on }}",
    ),
    "market_uncovered": ReminderRule(
        label="Marché sans convention", follows="coverage", to="buyer", before_business_days=0, template="market_uncovered",
        subject="Plus aucune convention ne couvre le marché {{ market.ref }} ({{ market.commune }})",
    ),
}  # fmt: skip


class NotificationSettings(_Strict):
    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data):
        if isinstance(data, dict) and "base_url" in data:
            raise ValueError(
                "« base_url » a été déplacée dans « web.base_url » (l'adresse du site, où mènent "
                "les liens des e-mails)"
            )
        return data

    sender: str = "Clausier <clausier@localhost>"
    office_start: time = time(8, 0)  # messages leave on business days between these hours,
    office_end: time = time(18, 0)  # Europe/Paris
    digest_time: time = time(8, 30)  # facilitators' daily digest, from this hour


class OutboxSettings(_Strict):
    transport: Literal["maildir", "smtp"] = "maildir"
    maildir: Path = Path("outbox")
    max_attempts: int = Field(default=8, ge=1, le=50)
    backoff_seconds: int = Field(default=60, ge=1, le=3600)  # doubled at each attempt, with jitter
    backoff_max_seconds: int = Field(default=6 * 3600, ge=1)
    lease_seconds: int = Field(default=300, ge=10, le=86400)  # a dead worker's claim expires then
    batch_size: int = Field(default=200, ge=1, le=10000)
    sweep_seconds: int = Field(default=60, ge=1, le=3600)
    # the database does not answer a worker's planning: tried again after this, doubled each time
    reconnect_seconds: int = Field(default=5, ge=1, le=3600)
    reconnect_max_seconds: int = Field(default=300, ge=1, le=86400)


class SmtpSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    user: str | None = None
    password_env: str = "CLAUSIER_SMTP_PASSWORD"  # the password comes from this variable
    timeout_seconds: float = Field(default=30, gt=0, le=300)

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)
