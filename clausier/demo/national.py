"""A realistic national data set, written straight into the configured store.

Buyers (régions, départements, big cities, university hospitals), 400 structures with about
1,500 facilitators, conventions covering most départements and EPCIs with real gaps (places
nobody covers, conventions terminated), markets spread over the communes by population in every
state, lots whose offer comes from the product's formula, contractors, and, from execution on,
beneficiaries and monthly declarations. Assignment follows the product's coverage rules
(``periods.in_force``, the most specific territory wins); tasks and reminders come from the
product's own planning functions (``tasks_for_state``, ``schedule.for_tasks``,
``schedule.for_execution``), so the rows are those the lifecycle would have written.

Rows are built in memory with their ids and written with multi-row INSERTs in batches, in one
transaction: the same seed gives the same data set.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from types import SimpleNamespace

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from clausier import clock
from clausier.beneficiaries.eligibility import AGE_BAND_OF_PUBLIC
from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion, Outcome
from clausier.beneficiaries.outcomes import due_after
from clausier.beneficiaries.vocabulary import AGE_BANDS, KINDS_BY_MODALITY, OUTCOMES, PUBLICS
from clausier.clock import PARIS
from clausier.config import Settings
from clausier.declarations.models import DeclarationLine, Statement
from clausier.declarations.pace import expected_on
from clausier.declarations.proration import prorated
from clausier.declarations.service import recount_statement
from clausier.errors import Refused
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.offers.formula import Factor, compute, labour_share_for
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships import periods
from clausier.partnerships.models import (
    SPECIFICITY,
    Convention,
    ConventionService,
    ConventionTerritory,
    Service,
)
from clausier.referential.models import Commune, Departement, Region
from clausier.tasks.models import PRIORITIES, Task
from clausier.tasks.planning import due_at, tasks_for_state
from notifications import schedule
from notifications.models import Reminder

STRUCTURES = 400
CHUNK = 1000  # markets generated and written at a time
BATCH = 5000  # rows per INSERT statement
ACTOR = "demo-data"

# A realistic mix for markets created over three years.
STATE_WEIGHTS = {
    "identification": 10, "insertion_offer": 7, "consultation": 8, "execution": 36,
    "evaluation": 7, "closed": 21, "not_clausable": 7, "abandoned": 4,
}  # fmt: skip
UNCOVERED_STATES = ("identification", "not_clausable", "abandoned")
WORKS = (
    ("45210000", "Construction d'un groupe scolaire"), ("45233140", "Réfection de voirie"),
    ("90911200", "Nettoyage des bâtiments publics"), ("77310000", "Entretien des espaces verts"),
    ("45453000", "Réhabilitation de logements"), ("55523100", "Restauration scolaire"),
    ("45310000", "Travaux d'électricité"), ("90500000", "Collecte des déchets"),
    ("45261000", "Réfection de toitures"), ("45421000", "Menuiseries extérieures"),
)  # fmt: skip
FIRST = ("Camille", "Léa", "Hugo", "Nadia", "Karim", "Julie", "Thomas", "Inès", "Paul", "Sarah",
         "Mehdi", "Claire", "Lucas", "Emma", "Yacine", "Manon", "Louis", "Chloé", "Omar", "Anne")  # fmt: skip
LAST = ("Martin", "Bernard", "Dubois", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Benali")  # fmt: skip
COMPANIES = ("Bâtiments", "Travaux publics", "Propreté", "Paysages", "Électricité", "Services",
             "Construction", "Réseaux", "Restauration", "Menuiserie")  # fmt: skip
MODALITIES = {"direct_hire": 50, "placement": 25, "subcontracting": 15, "training": 10}
CONTRACTS = {"direct_hire": ("cdd", "cdi"), "placement": ("temporary",),
             "subcontracting": ("cddi",), "training": ("professionalisation", "apprenticeship")}  # fmt: skip


class DemoDataRefused(Refused):
    """Les données de démonstration ne peuvent pas être écrites dans cette base."""


@dataclass
class Picker:
    """A weighted choice that stays fast over tens of thousands of items."""

    items: list
    cumulative: list[float]

    @classmethod
    def of(cls, pairs: Iterable[tuple[object, float]]) -> Picker:
        pairs = list(pairs)
        return cls([p[0] for p in pairs], list(accumulate(max(p[1], 1) for p in pairs)))

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass
class Ids:
    """The next id of each table whose ids are chosen here (so children can point at them)."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class DemoBuyer:
    id: int
    kind: str  # region | departement | city | hospital
    code: str  # the region's, département's or city's official code
    area: Picker  # the communes its markets are spread over
    conventions: list = field(default_factory=list)  # (Convention, kind, code)


def _body(modality: str, person: int) -> dict:
    """The body a placement or a subcontract goes through, drawn from the person (the random
    stream, and so the rest of the data set, stays what it was)."""
    kinds = sorted(KINDS_BY_MODALITY.get(modality, ()))
    if not kinds:
        return {"body_siret": None, "body_kind": None}
    return {"body_siret": siret_for(4, person % 97), "body_kind": kinds[person % len(kinds)]}


def siret_for(prefix: int, number: int) -> str:
    """A SIRET that passes the Luhn check, unique by (prefix, number)."""
    body = f"{prefix}{number:08d}0001"
    for check in range(10):
        digits = [int(d) for d in body + str(check)]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                    for i, d in enumerate(reversed(digits)))  # fmt: skip
        if total % 10 == 0:
            return body + str(check)
    raise AssertionError("unreachable")


def _write(connection: Connection, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(model.__table__), rows[start : start + BATCH])


def _columns(obj) -> dict:
    return {column.name: getattr(obj, column.name) for column in obj.__table__.columns}


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


class Generator:
    """Builds and writes one data set; ``run`` is the whole of it."""

    def __init__(
        self, connection: Connection, *, markets: int, seed: int, settings: Settings, now: datetime
    ):
        self.connection, self.settings, self.now, self.target = connection, settings, now, markets
        self.today = now.astimezone(PARIS).date()
        self.rng = random.Random(seed)
        self.counts: dict[str, int] = defaultdict(int)
        self.ids = Ids()
        for model in (Buyer, Structure, Facilitator, Contractor, Convention, Market, Lot, Task,
                      Beneficiary, Statement):  # fmt: skip
            top = connection.execute(select(func.max(model.id))).scalar() or 0
            self.ids.next[model.__tablename__] = top + 1
        self._load_places()

    # --- the reference tables ---------------------------------------------------------------

    def _load_places(self) -> None:
        rows = self.connection.execute(
            select(
                Commune.code,
                Commune.name,
                Commune.departement_code,
                Commune.region_code,
                Commune.epci_code,
                Commune.population,
                Commune.parent_code,
            ).order_by(Commune.code)  # the same draw from a seed on every store
        ).all()
        if not rows:
            raise DemoDataRefused(
                "Les tables de référence (communes) sont vides : lancez d'abord « clausier init »."
            )
        self.communes = {row.code: row for row in rows}
        parents = {row.parent_code for row in rows if row.parent_code}
        # a city split in arrondissements is sampled through them, never twice
        self.places = [row for row in rows if row.code not in parents]
        by: dict[str, dict[str, list]] = {"departement": defaultdict(list),
                                          "region": defaultdict(list), "epci": defaultdict(list),
                                          "parent": defaultdict(list)}  # fmt: skip
        for row in self.places:
            by["departement"][row.departement_code].append(row)
            by["region"][row.region_code].append(row)
            if row.epci_code:
                by["epci"][row.epci_code].append(row)
            if row.parent_code:
                by["parent"][row.parent_code].append(row)
        self.by = by
        self.departements = self.connection.execute(
            select(Departement.code, Departement.name, Departement.region_code).order_by(
                Departement.code
            )
        ).all()
        self.regions = self.connection.execute(
            select(Region.code, Region.name).order_by(Region.code)
        ).all()
        self.cities = sorted(
            (row for row in rows if not row.parent_code), key=lambda r: (-r.population, r.code)
        )[:40]

    def _area(self, communes: list) -> Picker:
        return Picker.of((row.code, row.population) for row in communes)

    # --- partners and conventions -----------------------------------------------------------

    def partners(self) -> None:
        rng, now = self.rng, self.now
        buyers, self.buyers = [], []

        def buyer(kind: str, code: str, name: str, area: list) -> None:
            if not area:
                return
            number = self.ids.take("buyer")
            buyers.append({"id": number, "siret": siret_for(2, number), "name": name,
                           "email": f"achats.{number}@acheteur.example.fr", "hourly_cost": None,
                           "insertion_rate": None, "created_at": now})  # fmt: skip
            self.buyers.append(DemoBuyer(number, kind, code, self._area(area)))

        for region in self.regions:
            buyer("region", region.code, f"Région {region.name}", self.by["region"][region.code])
        for dep in self.departements:
            buyer(
                "departement", dep.code, f"Département {dep.name}", self.by["departement"][dep.code]
            )
        for city in self.cities:
            area = self.by["epci"].get(city.epci_code or "") or [city]
            buyer("city", city.code, f"Ville de {city.name}", area)
        for city in self.cities[:30]:
            area = self.by["parent"].get(city.code) or [city]
            buyer("hospital", city.code, f"Centre hospitalier universitaire de {city.name}", area)

        structures, facilitators = [], []
        self.structures_of: dict[str, list[int]] = defaultdict(list)
        self.facilitators_of: dict[int, list[tuple[int, str]]] = defaultdict(list)
        kinds = ("departement", "maison_emploi", "plie", "other")
        for index in range(STRUCTURES):
            dep = self.departements[index % len(self.departements)]
            kind = kinds[(index // len(self.departements)) % len(kinds)]
            number = self.ids.take("structure")
            label = {"departement": "Service insertion", "maison_emploi": "Maison de l'emploi",
                     "plie": "PLIE", "other": "Association insertion"}[kind]  # fmt: skip
            structures.append({"id": number, "ref": f"S-{dep.code}-{index // len(self.departements) + 1}",
                               "name": f"{label} — {dep.name}", "kind": kind,
                               "email": f"contact.{number}@structure.example.fr", "created_at": now})  # fmt: skip
            self.structures_of[dep.code].append(number)
            for _ in range(rng.choices((2, 3, 4, 5, 6), weights=(10, 25, 30, 20, 15))[0]):
                person = self.ids.take("facilitator")
                first, last = rng.choice(FIRST), rng.choice(LAST)
                email = f"{first.lower()}.{last.lower()}.{person}@structure.example.fr"
                facilitators.append({"id": person, "structure_id": number, "email": email,
                                     "name": f"{first} {last}", "active": rng.random() > 0.03,
                                     "digest": rng.random() > 0.2})  # fmt: skip
                self.facilitators_of[number].append((person, email))

        contractors = []
        self.contractors, self.contractor_emails = [], {}
        for _ in range(max(50, self.target // 4)):
            number = self.ids.take("contractor")
            contractors.append({"id": number, "siret": siret_for(3, number),
                                "name": f"{rng.choice(LAST)} {rng.choice(COMPANIES)} {number}",
                                "email": f"insertion.{number}@titulaire.example.fr", "created_at": now})  # fmt: skip
            self.contractors.append(number)
            self.contractor_emails[number] = contractors[-1]["email"]

        _write(self.connection, Buyer, buyers)
        _write(self.connection, Structure, structures)
        _write(self.connection, Facilitator, facilitators)
        _write(self.connection, Contractor, contractors)
        for name, rows in (("buyers", buyers), ("structures", structures),
                           ("facilitators", facilitators), ("contractors", contractors)):  # fmt: skip
            self.counts[name] = len(rows)
        self._conventions()

    def _conventions(self) -> None:
        """Most départements and big cities covered; gaps left on purpose."""
        rng, today = self.rng, self.today
        conventions, territories, services = [], [], []

        def convention(buyer: DemoBuyer, structure_id: int, kind: str, code: str) -> None:
            number = self.ids.take("convention")
            explicit = rng.random() < 0.2
            terminated = today - _days(rng, 30, 400) if rng.random() < 0.05 else None
            row = Convention(
                id=number, ref=f"CONV-{number:05d}", buyer_id=buyer.id, structure_id=structure_id,
                starts_on=today - _days(rng, 400, 1500),
                ends_on=today + _days(rng, 20, 700) if explicit else today + _days(rng, 0, 365),
                renewal="explicit" if explicit else "tacit", terminated_on=terminated,
                created_at=self.now,
            )  # fmt: skip
            conventions.append(_columns(row))
            territories.append({"convention_id": number, "kind": kind, "code": code})
            services.extend({"convention_id": number, "service": s.value} for s in Service)
            buyer.conventions.append((row, kind, code))

        for buyer in self.buyers:
            if buyer.kind == "departement":
                dep = buyer.code
                if rng.random() < 0.9:
                    convention(buyer, self.structures_of[dep][0], "departement", dep)
            elif buyer.kind == "region":
                for dep in self.departements:
                    if dep.region_code == buyer.code and rng.random() < 0.7:
                        convention(
                            buyer, rng.choice(self.structures_of[dep.code]), "departement", dep.code
                        )
            elif buyer.kind == "city" and rng.random() < 0.85:
                city = self.communes[buyer.code]
                structure = rng.choice(self.structures_of[city.departement_code])
                if city.epci_code:
                    convention(buyer, structure, "epci", city.epci_code)
                else:
                    convention(buyer, structure, "commune", city.code)
            elif buyer.kind == "hospital" and rng.random() < 0.5:
                dep = self.communes[buyer.code].departement_code
                convention(
                    buyer,
                    self.structures_of[dep][1 % len(self.structures_of[dep])],
                    "departement",
                    dep,
                )
        _write(self.connection, Convention, conventions)
        _write(self.connection, ConventionTerritory, territories)
        _write(self.connection, ConventionService, services)
        self.counts["conventions"] = len(conventions)

    def _cover(self, buyer: DemoBuyer, commune, on: date) -> tuple[Convention | None, str | None]:
        """The product's rule: conventions in force on ``on``, the most specific territory wins."""
        codes = {"commune": {commune.code, commune.parent_code}, "epci": {commune.epci_code},
                 "departement": {commune.departement_code}}  # fmt: skip
        covers = [(SPECIFICITY[kind], conv) for conv, kind, code in buyer.conventions
                  if code in codes[kind] and periods.in_force(conv, on)]  # fmt: skip
        if not covers:
            return None, "uncovered"
        best = max(level for level, _ in covers)
        winners = [conv for level, conv in covers if level == best]
        if len({conv.structure_id for conv in winners}) > 1:
            return None, "ambiguous"
        return winners[0], None

    # --- markets ----------------------------------------------------------------------------

    def _dates(self, state: str) -> dict:
        rng, t = self.rng, self.today
        d = {"consultation_on": None, "award_on": None, "execution_starts_on": None,
             "execution_ends_on": None}  # fmt: skip
        if state in ("identification", "insertion_offer"):
            d["consultation_on"] = t + _days(rng, 20, 300 if state == "identification" else 150)
            created = t - _days(rng, 0, 240)
        elif state == "consultation":
            d["consultation_on"] = t - _days(rng, 5, 90)
            created = d["consultation_on"] - _days(rng, 30, 200)
        elif state in ("execution", "evaluation", "closed"):
            if state == "execution":
                starts = t - _days(rng, 15, 720)
                ends = max(
                    starts + relativedelta(months=rng.randint(6, 36)), t + _days(rng, 20, 90)
                )
            else:
                ends = t - (_days(rng, 1, 180) if state == "evaluation" else _days(rng, 200, 700))
                starts = ends - relativedelta(months=rng.randint(6, 24))
            d["execution_starts_on"], d["execution_ends_on"] = starts, ends
            d["award_on"] = starts - _days(rng, 15, 60)
            d["consultation_on"] = d["award_on"] - _days(rng, 30, 90)
            created = d["consultation_on"] - _days(rng, 30, 120)
        else:
            created = t - _days(rng, 0, 1000)
        d["created"] = max(created, t - timedelta(days=1095))
        return d

    def _relevant(self, state: str, dates: dict) -> date:
        if (
            state in ("identification", "insertion_offer", "consultation")
            and dates["consultation_on"]
        ):
            return max(self.today, dates["consultation_on"])
        return self.today

    def markets(self, count: int, progress: Callable[[int], None] | None) -> None:
        buyer_picker = Picker.of(
            (b, {"departement": 35 / 101, "region": 15 / 18, "city": 35 / 40, "hospital": 15 / 30}[b.kind] * 1000)
            for b in self.buyers
        )  # fmt: skip
        for start in range(0, count, CHUNK):
            rows = defaultdict(list)
            for number in range(start, min(count, start + CHUNK)):
                self._market(number, buyer_picker.pick(self.rng), rows)
            for model in (Market, Lot, TransitionLog, Task, Reminder, Beneficiary,
                          BeneficiaryCriterion, Outcome, Statement, DeclarationLine):  # fmt: skip
                _write(self.connection, model, rows[model.__tablename__])
                self.counts[model.__tablename__] += len(rows[model.__tablename__])
            if progress:
                progress(min(count, start + CHUNK) - start)

    def _market(self, number: int, buyer: DemoBuyer, rows: dict) -> None:
        rng = self.rng
        commune = self.communes[buyer.area.pick(rng)]
        state = _weighted(rng, STATE_WEIGHTS)
        dates = self._dates(state)
        chosen, flag = self._cover(buyer, commune, self._relevant(state, dates))
        if chosen is None and state not in UNCOVERED_STATES:
            state = "identification"
            dates = self._dates(state)
            chosen, flag = self._cover(buyer, commune, self._relevant(state, dates))
        cpv, work = rng.choice(WORKS)
        created = datetime.combine(dates.pop("created"), time(9), tzinfo=PARIS).astimezone(UTC)
        amount = Decimal(min(max(int(rng.lognormvariate(13, 1.1)), 40_000), 40_000_000))
        market_id = self.ids.take("market")
        settled = state in ("closed", "not_clausable", "abandoned")
        market = {
            "id": market_id,
            "ref": f"DEMO-{created.year}-{number + 1:06d}",
            "buyer_id": buyer.id,
            "title": f"{work} — {commune.name}",
            "commune_code": commune.code,
            "cpv": cpv,
            "amount": amount,
            **dates,
            "state": state,
            "version": 1,
            "structure_id": chosen.structure_id if chosen else None,
            "convention_id": chosen.id if chosen else None,
            "assignment": "automatic" if chosen else None,
            "coverage_flag": None if (chosen or settled) else flag,
            "exit_reason": {
                "not_clausable": "Fournitures sans main-d'œuvre significative sur place",
                "abandoned": "Projet abandonné par l'acheteur",
            }.get(state),
            "evaluation": None,
            "evaluated_at": None,
            "created_at": created,
            "updated_at": created,
        }
        if state == "closed":
            market["evaluation"] = "Objectifs d'insertion atteints ; bilan présenté à l'acheteur."
            evaluated = due_after(dates["execution_ends_on"]) + _days(rng, 1, 20)
            market["evaluated_at"] = datetime.combine(min(evaluated, self.today), time(10), tzinfo=PARIS).astimezone(UTC)  # fmt: skip
        rows["market"].append(market)
        rows["transition_log"].append({"market_id": market_id, "from_state": None, "to_state": state,
                                       "trigger": "load", "actor": ACTOR, "at": created,
                                       "payload": {"file": "demo-data"}})  # fmt: skip
        lots = self._lots(market, rows)
        if state in (
            "identification",
            "insertion_offer",
            "consultation",
            "execution",
            "evaluation",
        ):
            self._tasks(market, lots, rows)
        if state in ("execution", "evaluation", "closed") and market["structure_id"]:
            self._declarations(market, lots, rows)

    def _lots(self, market: dict, rows: dict) -> list[dict]:
        rng, state, offer = self.rng, market["state"], self.settings.offer
        count = 1 if rng.random() < 0.5 else rng.randint(2, 5)
        shares = [rng.random() + 0.2 for _ in range(count)]
        priced = state in ("consultation", "execution", "evaluation", "closed") or (
            state == "insertion_offer" and rng.random() < 0.5
        )
        awarded = state in ("execution", "evaluation", "closed")
        lots = []
        for index, share in enumerate(shares, start=1):
            amount = (market["amount"] * Decimal(share / sum(shares))).quantize(Decimal("0.01"))
            lot = {"id": self.ids.take("lot"), "market_id": market["id"], "number": index,
                   "title": f"Lot {index}" if count > 1 else market["title"], "amount": amount,
                   "hours": None, "clause_text": None, "contractor_id": None,
                   "hours_validated": Decimal(0), "hours_computed": None,
                   "hours_override_reason": None, "offer": None, "modalities": None,
                   "clause_edited": False}  # fmt: skip
            if priced:
                computation = compute(
                    amount=amount,
                    labour_share=labour_share_for(market["cpv"], offer) or Factor(Decimal("0.3"), "démo"),
                    insertion_rate=Factor(offer.insertion_rate, "config.yaml"),
                    hourly_cost=Factor(offer.hourly_cost, "config.yaml"), settings=offer,
                )  # fmt: skip
                lot.update(hours=computation.hours, hours_computed=computation.hours,
                           offer=computation.as_dict())  # fmt: skip
                if computation.hours:
                    lot["clause_text"] = (
                        f"Le titulaire réserve {computation.hours} heures de travail à des "
                        "personnes éloignées de l'emploi."
                    )
            if awarded:
                lot["contractor_id"] = rng.choice(self.contractors)
            lots.append(lot)
        rows["lot"].extend(lots)
        return lots

    def _tasks(self, market: dict, lots: list[dict], rows: dict) -> None:
        """The open tasks of the state entered a few days ago, and their reminders."""
        settings, today = self.settings, self.today
        subject = SimpleNamespace(**market)
        departement = self.communes[market["commune_code"]].departement_code
        entered = today - _days(self.rng, 0, 20)
        tasks = tasks_for_state(
            market["state"], market=subject, kinds=settings.tasks.kinds, entered_on=entered,
            departement=departement, due_time=settings.tasks.due_time,
        )  # fmt: skip
        for task in tasks:
            task.id = self.ids.take("task")
            task.created_at = datetime.combine(entered, time(9), tzinfo=PARIS).astimezone(UTC)
            rows["task"].append(_columns(task))
        common = {"rules": settings.reminders, "departement": departement, "today": today,
                  "settings": settings.notifications}  # fmt: skip
        reminders = schedule.for_tasks(tasks, **common, followed_by=market["structure_id"])
        if market["state"] == "execution":
            clause_lots = [
                SimpleNamespace(id=lot["id"], carries_clause=bool(lot["hours"])) for lot in lots
            ]
            reminders += schedule.for_execution(
                subject, clause_lots, declaration_day=settings.offer.declaration_day, **common
            )  # fmt: skip
        rows["reminder"].extend({**reminder, "created_at": self.now} for reminder in reminders)

    def _declarations(self, market: dict, lots: list[dict], rows: dict) -> None:
        """Beneficiaries of the structure and the months already due, declared and reviewed."""
        rng, today = self.rng, self.today
        structure_id = market["structure_id"]
        staff = self.facilitators_of[structure_id]
        departement = self.communes[market["commune_code"]].departement_code
        day = self.settings.offer.declaration_day
        starts, ends = market["execution_starts_on"], market["execution_ends_on"]
        recent = today - relativedelta(months=2)
        people, to_check = [], []
        for lot in lots:
            if not lot["hours"]:
                continue
            contractor = self.contractor_emails[lot["contractor_id"]]
            persons = []
            for _ in range(rng.choices((1, 2, 3), weights=(55, 35, 10))[0]):
                checker = rng.choice(staff)
                number = self.ids.take("beneficiary")
                persons.append(number)
                public, checked_on = rng.choice(list(PUBLICS)[:-1]), starts - _days(rng, 0, 20)
                sex, age_band = rng.choice("FM"), rng.choice(list(AGE_BANDS))
                rows["beneficiary"].append({
                    "id": number, "code": f"B-{number:08X}", "structure_id": structure_id,
                    "checked_by_id": checker[0], "sex": sex, "name": None,
                    "age_band": AGE_BAND_OF_PUBLIC.get(public, age_band),  # the public's, if any
                    "created_at": self.now, "purged_at": None,
                })  # fmt: skip
                # checked before the start, then renewed as each check lapses until the end
                months = self.settings.eligibility.validity_months[public]
                while checked_on <= ends:
                    rows["beneficiary_criterion"].append({
                        "beneficiary_id": number, "public": public, "reason": None,
                        "pass_iae": False, "checked_by_id": checker[0], "checked_on": checked_on,
                        "created_at": self.now,
                    })  # fmt: skip
                    checked_on += relativedelta(months=months)
            people.extend(persons)
            validated = Decimal(0)
            for period in schedule.months(starts, ends):
                deadline = schedule.declaration_deadline(period, day, departement)
                if deadline >= today:  # still open: its reminders are pending instead
                    break
                declared = [p for p in persons if rng.random() < 0.85]
                if not declared:
                    continue
                statement_id = self.ids.take("statement")
                at = datetime.combine(
                    deadline - _days(rng, 0, 8), time(10), tzinfo=PARIS
                ).astimezone(UTC)
                rows["statement"].append({"id": statement_id, "lot_id": lot["id"],
                                          "period": f"{period:%Y-%m}", "declared_by": contractor,
                                          "declared_at": at, "amendments": 0})  # fmt: skip
                checking = False
                for person in declared:
                    modality = _weighted(rng, MODALITIES)
                    hours = Decimal(rng.randint(14, 151))
                    open_review = (
                        market["state"] == "execution" and period >= recent and rng.random() < 0.7
                    )
                    status = (
                        "submitted"
                        if open_review
                        else ("rejected" if rng.random() < 0.03 else "validated")
                    )
                    reviewer = None if status == "submitted" else rng.choice(staff)[1]
                    rows["declaration_line"].append({
                        "statement_id": statement_id, "lot_id": lot["id"], "period": f"{period:%Y-%m}",
                        "beneficiary_id": person, "modality": modality, **_body(modality, person),
                        "contract_type": rng.choice(CONTRACTS[modality]), "hours": hours,
                        "status": status,
                        "review_reason": "Heures sans justificatif" if status == "rejected" else None,
                        "reviewed_by": reviewer,
                        "reviewed_at": at + timedelta(days=3) if reviewer else None, "updated_at": at,
                    })  # fmt: skip
                    checking = checking or status == "submitted"
                    if status == "validated":
                        validated += hours
                if checking:
                    to_check.append((lot["id"], f"{period:%Y-%m}", at))
            lot["hours_validated"] = validated
        if market["state"] == "execution":
            self._event_tasks(market, lots, to_check, rows)
        if market["state"] == "closed":
            # closed before six months had passed (the demo's today): the reason is the product's
            due = due_after(market["execution_ends_on"])
            early = "Situations connues à la fin du chantier" if self.today < due else None
            for person in people:
                rows["outcome"].append({"market_id": market["id"], "beneficiary_id": person,
                                        "outcome": rng.choice(list(OUTCOMES)),
                                        "recorded_by": rng.choice(staff)[1],
                                        "recorded_at": market["evaluated_at"],
                                        "early_reason": early})  # fmt: skip

    def _event_tasks(
        self, market: dict, lots: list[dict], to_check: list[tuple[int, str, datetime]], rows: dict
    ) -> None:
        """The tasks events open in execution, keyed as the product keys them: a statement with
        lines still to review (``declaration``) and a lot behind pace (``behind_pace``, with the
        contractor's reminder the daily planner writes)."""
        settings, today = self.settings, self.today
        subject = SimpleNamespace(**market)
        departement = self.communes[market["commune_code"]].departement_code
        kinds = {kind.opened_by: (name, kind) for name, kind in settings.tasks.kinds.items()
                 if kind.opened_by and kind.state == "execution"}  # fmt: skip
        opened: list[tuple[str, Task]] = []

        def task(event: str, lot_id: int, key: str, on: date, at: datetime) -> None:
            if event not in kinds:
                return
            name, kind = kinds[event]
            due = due_at(kind, market=subject, entered_on=on, departement=departement,
                         due_time=settings.tasks.due_time)  # fmt: skip
            opened.append((name, Task(
                id=self.ids.take("task"), kind=name, key=f"{name}:{key}", market_id=market["id"],
                lot_id=lot_id, structure_id=market["structure_id"], state="execution",
                due_at=due, priority=PRIORITIES[kind.priority], created_at=at,
            )))  # fmt: skip

        for lot_id, period, at in to_check:
            task("declaration", lot_id, f"lot:{lot_id}:{period}:0", at.astimezone(PARIS).date(), at)
        until = expected_on(subject, today, declaration_day=settings.offer.declaration_day,
                            departement=departement)  # fmt: skip
        threshold = settings.declarations.pace_threshold
        pace_rules = {n: r for n, r in settings.reminders.items() if r.follows == "pace"}
        for lot in lots:
            if not lot["hours"] or until is None:
                continue
            starts, ends = market["execution_starts_on"], market["execution_ends_on"]
            expected = prorated(lot["hours"], starts, ends, starts, until)
            if not expected or lot["hours_validated"] >= expected * (1 - threshold):
                continue
            month = f"{until:%Y-%m}"
            task("behind_pace", lot["id"], f"lot:{lot['id']}:{month}", today, self.now)
            for name, rule in pace_rules.items():
                rows["reminder"].append({**schedule.row(
                    rule=name, recipient_role=rule.to, market_id=market["id"], lot_id=lot["id"],
                    idempotency_key=f"{name}:lot:{lot['id']}:{month}",
                    due_at=schedule.at_office_start(today, settings.notifications),
                ), "created_at": self.now})  # fmt: skip
        tasks = [t for _, t in opened]
        rows["task"].extend(_columns(t) for t in tasks)
        rows["reminder"].extend(
            {**reminder, "created_at": self.now}
            for reminder in schedule.for_tasks(
                tasks, rules=settings.reminders, departement=departement, today=today,
                settings=settings.notifications, followed_by=market["structure_id"],
            )
        )  # fmt: skip

    def finish(self) -> None:
        """PostgreSQL's sequences move past the ids chosen here."""
        if self.connection.dialect.name != "postgresql":
            return
        for table in self.ids.next:
            self.connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT coalesce(max(id), 1) FROM "{table}"))'
            )


def generate(
    engine: Engine,
    *,
    markets: int,
    seed: int,
    settings: Settings,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write a national data set of ``markets`` markets; the rows written, by table."""
    with engine.begin() as connection:
        if connection.execute(select(func.count()).select_from(Buyer)).scalar():
            raise DemoDataRefused(
                "La base contient déjà des acheteurs : les données de démonstration ne s'écrivent "
                "que dans une base vide (clausier init sur une base neuve)."
            )
        generator = Generator(
            connection, markets=markets, seed=seed, settings=settings, now=now or clock.now()
        )
        generator.partners()
        generator.markets(markets, progress)
        # stored as every writer stores it: recounted from the lines (the sums above only
        # decided which lots are behind pace)
        connection.execute(recount_statement())
        generator.finish()
    return dict(generator.counts)
