"""A beneficiary, and a market's evaluation (its summary and the outcomes six months after), as
the API returns them and the pages show them (``service.as_dict``, ``clausier.api.declarations``,
the status lookup's ``outcomes``)."""

from __future__ import annotations

from pydantic import Field

from clausier.beneficiaries.vocabulary import AGE_BANDS, OUTCOMES, PUBLICS, SEXES
from clausier.documents import Day, Moment, ReadModel, State, one_of

Outcome = one_of(OUTCOMES)


class Criterion(ReadModel):
    """One eligibility criterion of a person, by its latest check, and how long it holds."""

    public: one_of(PUBLICS) = Field(description="Public éligible")
    public_label: str
    reason: str | None = Field(description="Motif d'un public « other » (pour les seuls facilitateurs de la structure)")  # fmt: skip
    pass_iae: bool = Field(description="Public « siae » vérifié sur un PASS IAE")
    checked_by: str = Field(description="E-mail du facilitateur qui l'a vérifié")
    checked_on: Day = Field(description="Date de la dernière vérification")
    valid_until: Day = Field(description="Dernier jour de validité de la vérification (config.yaml, eligibility)")  # fmt: skip
    valid: bool = Field(description="La vérification vaut aujourd'hui")


class Beneficiary(ReadModel):
    """A person a structure follows, known to others by a pseudonymous code."""

    code: str = Field(description="Code pseudonyme, B-XXXXXXXX, délivré par Clausier")
    public: one_of(PUBLICS) = Field(description="Public vérifié en premier (à l'enregistrement) ; « criteria » les donne tous")  # fmt: skip
    public_label: str
    public_reason: str | None = Field(description="Motif d'un public « other » (pour les seuls facilitateurs de la structure)")  # fmt: skip
    checked_by: str | None = Field(description="E-mail du facilitateur qui a enregistré la personne")  # fmt: skip
    checked_on: Day = Field(description="Date de la première vérification")
    publics: list[one_of(PUBLICS)] = Field(description="Chacun de ses critères d'éligibilité")
    criteria: list[Criterion] = Field(description="Chaque critère, sa dernière vérification et sa validité")  # fmt: skip
    sex: one_of(SEXES)
    age_band: one_of(AGE_BANDS) = Field(description="Tranche d'âge")
    age_band_label: str
    name: str | None = Field(description="Nom (pour les seuls facilitateurs de la structure qui l'a enregistré)")  # fmt: skip
    purged: bool = Field(description="Données personnelles effacées (durée de conservation passée)")  # fmt: skip


class Beneficiaries(ReadModel):
    """Every person the structure follows, the newest first."""

    items: list[Beneficiary]
    total: int


class PersonOutcome(ReadModel):
    beneficiary: str = Field(description="Code du bénéficiaire")
    outcome: Outcome | None = Field(description="Sortie à six mois (null : pas encore saisie)")
    outcome_label: str | None


class Evaluation(ReadModel):
    """A market's evaluation: the summary, and each person's outcome six months after."""

    market: str = Field(description="Référence du marché")
    state: State
    summary: str | None = Field(description="Le bilan de la clause")
    evaluated_at: Moment | None = Field(description="Quand le bilan a été enregistré")
    outcomes: list[PersonOutcome] = Field(description="Chaque personne dont les heures validées comptent sur le marché")  # fmt: skip
    missing: list[str] = Field(description="Les codes dont la sortie manque encore")


class OutcomeCounts(ReadModel):
    """Where a market's evaluation stands, in figures (the status lookup of a market evaluated)."""

    beneficiaries: int = Field(description="Personnes dont les heures validées comptent")
    recorded: int = Field(description="Sorties enregistrées")
    by_outcome: dict[Outcome, int] = Field(description="Sorties enregistrées, par sortie")
