"""Typed domain errors.

Every error a person may meet is a ``ClausierError`` whose French message is built here, in one
place. The CLI (exit codes) and later the HTTP API (status codes) map the three families below
once: ``Refused`` (the domain says no), ``InvalidInput`` (the request is malformed) and
``NotFound``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from clausier.formatting import fr_number


class ClausierError(Exception):
    """Erreur Clausier."""

    def __init__(self, message: str | None = None):
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


class Refused(ClausierError):
    """Opération refusée."""


class InvalidInput(ClausierError):
    """Donnée invalide."""


class NotFound(ClausierError):
    """Introuvable."""


def _quote_all(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(f"« {item} »" for item in items) if items else "aucun"


# --- lifecycle ---------------------------------------------------------------------------


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} et {items[-1]}"


def _triggers_now(
    allowed: Sequence[str], needs: Mapping[str, list[str]], blocked: Mapping[str, list[str]]
) -> str:
    """The triggers whose guards pass now (with the data some take when fired), then apart each
    one a guard blocks, with its reasons: a refusal never calls possible what it would refuse."""
    possible = ", ".join(
        f"« {t} »" + (f" (avec {_and(needs[t])})" if needs.get(t) else "") for t in allowed
    )
    text = f"Déclencheurs possibles maintenant : {possible or 'aucun'}."
    for trigger, reasons in blocked.items():
        text += f" « {trigger} » est bloqué : {' ; '.join(reasons)}."
    return text


class UnknownTrigger(InvalidInput):
    def __init__(
        self,
        *,
        trigger: str,
        known: Sequence[str],
        allowed: Sequence[str],
        needs: Mapping[str, Sequence[str]] | None = None,
        blocked: Mapping[str, Sequence[str]] | None = None,
    ):
        self.trigger, self.known, self.allowed = trigger, list(known), list(allowed)
        self.needs, self.blocked = dict(needs or {}), dict(blocked or {})
        super().__init__(
            f"Déclencheur inconnu « {trigger} ». Déclencheurs existants : {_quote_all(known)}. "
            + _triggers_now(self.allowed, self.needs, self.blocked)
        )


class TransitionNotAllowed(Refused):
    def __init__(
        self,
        *,
        market: str,
        state: str,
        state_label: str,
        trigger: str,
        allowed: Sequence[str],
        needs: Mapping[str, Sequence[str]] | None = None,
        blocked: Mapping[str, Sequence[str]] | None = None,
    ):
        self.market, self.state, self.trigger, self.allowed = market, state, trigger, list(allowed)
        self.needs, self.blocked = dict(needs or {}), dict(blocked or {})
        super().__init__(
            f"Le marché {market} est à l'état « {state_label} » ({state}) : le déclencheur "
            f"« {trigger} » n'y est pas possible. "
            + _triggers_now(self.allowed, self.needs, self.blocked)
        )


class GuardRefused(Refused):
    def __init__(
        self,
        *,
        market: str,
        state: str,
        state_label: str,
        trigger: str,
        reasons: Sequence[str],
        allowed: Sequence[str],
        needs: Mapping[str, Sequence[str]] | None = None,
        blocked: Mapping[str, Sequence[str]] | None = None,
    ):
        self.market, self.state, self.trigger = market, state, trigger
        self.reasons, self.allowed = list(reasons), list(allowed)
        self.needs, self.blocked = dict(needs or {}), dict(blocked or {})
        super().__init__(
            f"Le marché {market} (état « {state_label} ») ne peut pas passer par « {trigger} » : "
            f"{' ; '.join(self.reasons)}. " + _triggers_now(self.allowed, self.needs, self.blocked)
        )


class VersionConflict(Refused):
    def __init__(self, *, market: str, expected: int):
        self.market, self.expected = market, expected
        super().__init__(
            f"Le marché {market} a été modifié par quelqu'un d'autre pendant l'opération "
            f"(version {expected} dépassée) : rechargez-le et recommencez."
        )


# --- who may do what ----------------------------------------------------------------------------


class NotAuthenticated(ClausierError):
    """Jeton absent, inconnu, expiré ou révoqué."""


class Forbidden(ClausierError):
    """Votre rôle ne permet pas cette action."""


class SignInRequired(NotAuthenticated):
    """A page asked for without a session: the page answers with the sign-in page."""

    def __init__(self) -> None:
        super().__init__("Connectez-vous pour ouvrir cette page.")


class ExpiredForm(Forbidden):
    """A form sent without its session's CSRF token (an old tab, another site's form)."""

    def __init__(self) -> None:
        super().__init__("Ce formulaire a expiré : rechargez la page et recommencez.")


# --- signing in ------------------------------------------------------------------------------


class TooManyAttempts(Refused):
    """Too many sign-in attempts from one client: nothing is checked until its window ends."""

    def __init__(self, *, minutes: int):
        self.minutes = minutes
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Trop de tentatives : réessayez dans {minutes} {unit}.")


# --- partnerships and coverage -----------------------------------------------------------


class ConventionRefused(Refused):
    """La convention ne permet pas cette opération."""


class AssignmentRefused(Refused):
    """Cette structure ne peut pas être assignée à ce marché."""


# --- writing markets and their lots ----------------------------------------------------------


class MarketEditRefused(Refused):
    """Past identification, a market and its lots change through the lifecycle only."""

    def __init__(self, *, market: str, state_label: str):
        self.market, self.state_label = market, state_label
        super().__init__(
            f"Le marché {market} est à l'état « {state_label} » : un acheteur ne modifie ses "
            "marchés et leurs lots qu'à l'état « Identification ». Ensuite, seul le cycle de vie "
            "les fait changer (offre d'insertion, publication, attribution)."
        )


class MarketRefTaken(Refused):
    """A market created in a form whose ref is already a market's (created meanwhile, too)."""

    def __init__(self, market: str):
        self.market = market
        super().__init__(
            f"La référence {market} est déjà celle d'un marché : choisissez-en une autre."
        )


class LotRemovalRefused(Refused):
    """Past identification, a lot carries the offer, the award and the hours: it stays."""

    def __init__(self, *, market: str, lot: int, state_label: str):
        self.market, self.lot = market, lot
        super().__init__(
            f"Le lot {lot} du marché {market} ne peut plus être retiré : le marché est à l'état "
            f"« {state_label} », et un lot ne se retire qu'à l'état « Identification »."
        )


class LoadConflict(Refused):
    """Ce chargement croise d'autres chargements simultanés des mêmes références : recommencez."""


class LoneSurrogate(InvalidInput):
    """A JSON text escaped half of a UTF-16 pair (« \\ud800 » alone): no store can keep it, and
    no character it could stand for."""

    def __init__(self, where: str):
        self.where = where
        super().__init__(
            f"Données invalides : {where} contient un caractère incomplet (une moitié de paire "
            "UTF-16, « \\ud800 » à « \\udfff » seule) ; corrigez le texte (rien n'a été "
            "enregistré)."
        )


class DuplicateKey(InvalidInput):
    """One key twice in one JSON object: which one counts would depend on who reads it."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(
            f"Données invalides : la clé « {key} » figure deux fois dans un même objet JSON ; "
            "envoyez-la une seule fois (rien n'a été enregistré)."
        )


# --- reference data and identifiers ------------------------------------------------------


class InvalidSiret(InvalidInput):
    def __init__(self, value: object, reason: str):
        self.value = value
        super().__init__(f"SIRET « {value} » invalide : {reason}.")


class UnknownTerritory(InvalidInput):
    def __init__(self, code: str, kind: str = "territoire"):
        self.code = code
        super().__init__(
            f"{kind.capitalize()} inconnu(e) au code officiel géographique : « {code} »."
        )


class UnknownRecord(NotFound):
    def __init__(self, kind: str, key: str, suggestions: Sequence[str] = ()):
        self.kind, self.key = kind, key
        hint = f" Vouliez-vous dire : {_quote_all(suggestions)} ?" if suggestions else ""
        super().__init__(f"{kind} introuvable : « {key} ».{hint}")


class LoadErrors(InvalidInput):
    """Errors found while reading a load file; nothing was written."""

    LISTED = 200  # a huge bad file answers with its first problems and how many more it has

    def __init__(self, path: str, errors: Sequence[LoadProblem], *, total: int | None = None):
        """``total``: how many were found, when ``errors`` holds only the first of them."""
        errors = list(errors)
        self.path, self.errors = path, errors[: self.LISTED]
        self.total = len(errors) if total is None else max(total, len(errors))
        lines = "\n".join(f"  - {problem}" for problem in self.errors)
        plural = "s" if self.total > 1 else ""
        more = self.total - len(self.errors)
        if more:
            others = "autres erreurs non listées" if more > 1 else "autre erreur non listée"
            lines += (
                f"\n  … et {fr_number(more)} {others} : corrigez d'abord celles-ci, "
                "puis recommencez."
            )
        super().__init__(
            f"{path} : {fr_number(self.total)} erreur{plural}, rien n'a été enregistré.\n{lines}"
        )


class ProblemTally:
    """The problems of an input as they are found: the first ``LoadErrors.LISTED`` kept, every
    one counted, so that a huge bad file costs no more memory than a small one."""

    def __init__(self) -> None:
        self.listed: list[LoadProblem] = []
        self.total = 0

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, problem: LoadProblem) -> None:
        self.total += 1
        if len(self.listed) < LoadErrors.LISTED:
            self.listed.append(problem)

    def add_refused(self, refused: LoadErrors) -> None:
        """Another refusal's problems (its first ones) and its count."""
        self.listed += refused.errors[: LoadErrors.LISTED - len(self.listed)]
        self.total += refused.total

    def refusal(self, path: str) -> LoadErrors:
        return LoadErrors(path, self.listed, total=self.total)


class LoadProblem:
    """One problem of a load file, located by line and field."""

    def __init__(self, *, path: str, line: int | None, field: str, message: str):
        self.path, self.line, self.field, self.message = path, line, field, message

    def __str__(self) -> str:
        where = f"{self.path}, ligne {self.line}" if self.line else self.path
        return f"{where}, champ « {self.field} » : {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.path, "line": self.line, "field": self.field, "message": self.message}


class ConfigError(InvalidInput):
    def __init__(self, path: str, problems: Sequence[str]):
        self.path, self.problems = path, list(problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Configuration invalide ({path}) :\n{body}")


class DatabaseNotInitialised(InvalidInput):
    """The database answers but has no schema: ``clausier init`` creates it."""

    def __init__(self, url: str):
        self.url = url
        super().__init__(
            f"La base de données {url} n'a pas de tables : lancez « clausier init » pour la créer."
        )
