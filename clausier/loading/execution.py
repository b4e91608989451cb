"""Loading the history of execution: beneficiaries already followed and months already declared.

A structure that starts with Clausier mid-market brings its spreadsheet: the people (by their
pseudonymous code) and each month's lines with their review. Codes are natural keys, and a
month loaded again replaces that month's lines, so a second load changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, select

from clausier.beneficiaries import eligibility
from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion, Outcome
from clausier.beneficiaries.outcomes import due_after
from clausier.clock import PARIS
from clausier.config import Settings
from clausier.db.locks import locked
from clausier.declarations import bodies
from clausier.declarations.models import DeclarationLine, LineStatus, Statement
from clausier.declarations.service import recount_validated
from clausier.errors import LoadErrors, LoadProblem
from clausier.formatting import fr_date, fr_number
from clausier.loading.rows import LoadFile
from clausier.markets.models import Lot, Market
from clausier.offers.service import defaults as offer_defaults
from clausier.partners.models import Facilitator, Structure
from clausier.tasks import events
from clausier.validation.texts import REASON_MIN


def check(session: Session, data: LoadFile, problems, settings: Settings, *, today: date) -> None:
    """References of beneficiaries and declarations, against the file and the store.

    A field that could not be read is ``None`` (``rows.readable``): the others are checked."""
    structures = {row.ref for row in data.structures if row.ref} | set(
        session.exec(select(Structure.ref))
    )
    facilitators = {
        person.email.lower(): row.ref
        for row in data.structures
        for person in row.facilitators
        if person.email and row.ref
    }
    for email, ref in session.exec(
        select(Facilitator.email, Structure.ref).join(
            Structure, Structure.id == Facilitator.structure_id
        )
    ):
        facilitators.setdefault(email.lower(), ref)
    people: dict[str, str] = {
        code: ref
        for code, ref in session.exec(
            select(Beneficiary.code, Structure.ref).join(
                Structure, Structure.id == Beneficiary.structure_id
            )
        )
    }
    for index, row in enumerate(data.beneficiaries):
        if row.structure is not None and row.structure not in structures:
            problems.add(
                ("beneficiaries", index, "structure"), f"structure inconnue « {row.structure} »"
            )
        elif (
            row.structure is not None
            and row.checked_by is not None
            and facilitators.get(row.checked_by.lower()) != row.structure
        ):
            problems.add(
                ("beneficiaries", index, "checked_by"),
                f"« {row.checked_by} » n'est pas un facilitateur de {row.structure}",
            )
        if row.code and people.get(row.code, row.structure) not in (row.structure, None):
            problems.add(
                ("beneficiaries", index, "code"),
                f"« {row.code} » est déjà suivi(e) par une autre structure",
            )
        base = len(row.publics)  # the checks of ``public`` on ``checked_on``, then ``criteria``
        for rank, check in enumerate(row.checks()):
            extra = rank >= base
            where = ("beneficiaries", index) + (("criteria", rank - base) if extra else ())
            if check.public == "other" and len((check.reason or "").strip()) < 3:
                problems.add((*where, "reason" if extra else "public_reason"), "un public « other » est validé au cas par cas : indiquez le motif")  # fmt: skip
            checker = check.checked_by or row.checked_by
            if extra and checker and row.structure in structures and facilitators.get(checker.lower()) != row.structure:  # fmt: skip
                problems.add((*where, "checked_by"), f"« {checker} » n'est pas un facilitateur de {row.structure}")  # fmt: skip
        if row.pass_iae and "siae" not in row.publics:
            problems.add(("beneficiaries", index, "pass_iae"), "un PASS IAE ne vaut que pour le public « siae »")  # fmt: skip
        disagreement = eligibility.age_band_problem([c.public for c in row.checks()], row.age_band)
        if disagreement:
            problems.add(("beneficiaries", index, "age_band"), disagreement)
        if row.code:
            people[row.code] = row.structure  # known, even when its structure could not be read

    market_refs = {row.market for row in data.declarations if row.market}
    stored = {m.ref: m for m in session.exec(select(Market).where(Market.ref.in_(market_refs)))}
    in_file = {row.ref: row for row in data.markets if row.ref}
    structure_ref = dict(session.exec(select(Structure.id, Structure.ref)).all())
    months: dict[tuple[str, int, str], int] = {}
    per_person: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for index, row in enumerate(data.declarations):
        market = stored.get(row.market)
        if row.market is not None and market is None and row.market not in in_file:
            problems.add(("declarations", index, "market"), f"marché inconnu « {row.market} »")
            continue
        numbers = (
            {lot.number for lot in in_file[row.market].lots} if row.market in in_file else set()
        )
        if market is not None:
            numbers |= set(session.exec(select(Lot.number).where(Lot.market_id == market.id)))
        if row.market is not None and row.lot is not None and row.lot not in numbers:
            problems.add(
                ("declarations", index, "lot"), f"le marché {row.market} n'a pas de lot {row.lot}"
            )
        key = (row.market, row.lot, row.period)
        if None not in key and key in months:
            problems.add(
                ("declarations", index, "period"),
                f"{row.period} du lot {row.lot} apparaît deux fois",
            )
        months[key] = index
        follower = structure_ref.get(market.structure_id) if market is not None else None
        seen = set()
        for l_index, line in enumerate(row.lines):
            where = ("declarations", index, "lines", l_index)
            if line.beneficiary is None and line.invoice_ref is not None:  # a subcontract's invoice
                if ("invoice", line.invoice_ref) in seen:
                    problems.add((*where, "invoice_ref"), f"la facture « {line.invoice_ref} » apparaît deux fois dans le mois")  # fmt: skip
                seen.add(("invoice", line.invoice_ref))
                amount = _lot_amount(session, row.market, row.lot, in_file, market)
                if amount and line.invoice_amount is not None and line.invoice_amount > amount:
                    problems.add((*where, "invoice_amount"), f"{fr_number(line.invoice_amount, 2)} € : au-delà du montant du lot ({fr_number(amount, 2)} € HT), un montant invraisemblable")  # fmt: skip
                continue
            if line.beneficiary is None:
                continue
            owner = people.get(line.beneficiary)
            if line.beneficiary not in people:
                problems.add(
                    (*where, "beneficiary"),
                    f"bénéficiaire inconnu « {line.beneficiary} » : ajoutez-le sous « beneficiaries »",
                )
            elif follower is not None and owner is not None and owner != follower:
                problems.add(
                    (*where, "beneficiary"),
                    f"« {line.beneficiary} » est suivi(e) par {owner}, pas par la structure du marché ({follower})",
                )
            if line.modality is not None and (line.beneficiary, line.modality) in seen:
                problems.add(
                    (*where, "beneficiary"),
                    f"{line.beneficiary} apparaît deux fois pour « {line.modality} »",
                )
            seen.add((line.beneficiary, line.modality))
            if line.status != "rejected" and line.hours is not None and row.period is not None:
                per_person[(line.beneficiary, row.period)] += line.hours  # fmt: skip
    declared = {
        (row.market, line.beneficiary)
        for row in data.declarations
        for line in row.lines
        if line.status == "validated"
    }
    for index, row in enumerate(data.outcomes):
        if (
            row.market is not None
            and row.market not in stored
            and row.market not in in_file
            and session.exec(select(Market.id).where(Market.ref == row.market)).first() is None
        ):
            problems.add(("outcomes", index, "market"), f"marché inconnu « {row.market} »")
        elif row.beneficiary is not None and row.beneficiary not in people:
            problems.add(
                ("outcomes", index, "beneficiary"), f"bénéficiaire inconnu « {row.beneficiary} »"
            )
        elif (
            row.market is not None
            and row.beneficiary is not None
            and (row.market, row.beneficiary) not in declared
            and not _has_validated_hours(session, row.market, row.beneficiary)
        ):
            problems.add(
                ("outcomes", index, "beneficiary"),
                f"{row.beneficiary} n'a pas d'heures validées sur {row.market}",
            )
        ends = _execution_ends_on(session, row.market, in_file)
        due = due_after(ends)
        if due is not None and today < due and len((row.early_reason or "").strip()) < REASON_MIN:
            problems.add(
                ("outcomes", index, "early_reason"),
                f"la sortie à six mois de {row.market} se constate à partir du {fr_date(due)} "
                "(six mois après la fin d'exécution) : avant cette date, indiquez pourquoi vous "
                "l'enregistrez déjà (early_reason)",
            )
    maximum = settings.declarations.max_hours_per_person_month
    for (code, period), hours in sorted(per_person.items()):
        if hours > maximum:
            problems.add(("declarations",), f"{code} : {fr_number(hours, 2)} h en {period}, au-delà du maximum plausible de {fr_number(maximum)} h par personne et par mois")  # fmt: skip


def write(
    session: Session, report, data: LoadFile, *, actor: str, now: datetime, settings: Settings
) -> None:
    from clausier.loading.loader import _upsert  # the loader's one way to write a row

    structures = dict(session.exec(select(Structure.ref, Structure.id)).all())
    checkers = {email.lower(): id_ for email, id_ in session.exec(select(Facilitator.email, Facilitator.id))}  # fmt: skip
    for row in data.beneficiaries:
        values = {
            "structure_id": structures[row.structure], "sex": row.sex, "age_band": row.age_band,
            "checked_by_id": checkers[row.checked_by.lower()],
        }  # fmt: skip
        if row.name is not None:  # a file without names never erases one (nor revives a purge)
            values["name"] = row.name
        person = _upsert(session, report, "beneficiaries", Beneficiary, {"code": row.code}, values)
        for check in row.checks():  # a check is known by its public and date: never twice
            key = {
                "beneficiary_id": person.id,
                "public": check.public,
                "checked_on": check.checked_on,
            }
            found = session.exec(select(BeneficiaryCriterion).filter_by(**key)).first()
            checked_by = checkers[(check.checked_by or row.checked_by).lower()]
            if found is None:
                session.add(BeneficiaryCriterion(
                    **key, reason=check.reason, pass_iae=check.pass_iae and check.public == "siae",
                    checked_by_id=checked_by, created_at=now,
                ))  # fmt: skip
            elif check.reason is not None:
                found.reason = check.reason
                session.add(found)
    session.flush()
    codes = dict(session.exec(select(Beneficiary.code, Beneficiary.id)).all())
    touched: set[int] = set()
    for row in data.declarations:
        market = session.exec(select(Market).where(Market.ref == row.market)).one()
        lot = session.exec(
            select(Lot).where(Lot.market_id == market.id, Lot.number == row.lot)
        ).one()
        locked(session, Lot, [lot.id])  # a review of the lot at the same time waits for the load
        statement = session.exec(
            select(Statement).where(Statement.lot_id == lot.id, Statement.period == row.period)
        ).first()
        wanted = {_key(codes.get(line.beneficiary), line): line for line in row.lines}
        cost = (
            offer_defaults(session, market, settings.offer, lot).hourly_cost
            if any(line.invoice_ref for line in row.lines)
            else None
        )
        if statement is None:
            statement = Statement(
                lot_id=lot.id, period=row.period, declared_by=actor, declared_at=now
            )
            session.add(statement)
            session.flush()
            report.count("declarations", "created")
            new, existing = True, {}
        else:
            new, existing = (
                False,
                {
                    _key(line.beneficiary_id, line): line
                    for line in session.exec(
                        select(DeclarationLine).where(DeclarationLine.statement_id == statement.id)
                    )
                },
            )
        changed = False
        for key, line in wanted.items():
            values = {
                "hours": line.hours, "contract_type": line.contract_type, "status": line.status,
                "review_reason": line.review_reason, "body_siret": line.body_siret,
                "body_kind": line.body_kind, "modality": line.modality,
            }  # fmt: skip
            if line.invoice_ref is not None:  # its hours: its amount at the hourly cost
                hours = bodies.invoice_hours(line.invoice_amount, cost.value)
                if problem := bodies.hours_problem(hours):
                    where = f"declarations ({row.market}, lot {row.lot}, {row.period})"
                    raise LoadErrors(where, [LoadProblem(
                        path=where, line=None, field="invoice_amount",
                        message=f"facture « {line.invoice_ref} » : {problem}")])  # fmt: skip
                values |= {
                    "hours": hours, "invoice_ref": line.invoice_ref,
                    "invoice_amount": line.invoice_amount, "hourly_cost": cost.value,
                    "hourly_cost_source": cost.source,
                }  # fmt: skip
            current = existing.pop(key, None)
            if current is None:
                session.add(
                    DeclarationLine(
                        statement_id=statement.id,
                        lot_id=lot.id,
                        period=row.period,
                        beneficiary_id=codes.get(line.beneficiary),
                        updated_at=now,
                        **values,
                        reviewed_by=actor if line.status != LineStatus.submitted else None,
                        reviewed_at=now if line.status != LineStatus.submitted else None,
                    )
                )
                changed = True
            elif any(getattr(current, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(current, k, v)
                current.updated_at = now
                session.add(current)
                changed = True
        for line in existing.values():
            session.delete(line)
            changed = True
        if not new:
            report.count("declarations", "updated" if changed else "unchanged")
        if market.state == "execution" and any(line.status == "submitted" for line in row.lines):
            session.flush()
            events.open_for_event(  # lines still to check land in the facilitator's queue
                session, "declaration", market=market, subject=f"lot:{lot.id}:{row.period}",
                settings=settings, today=now.astimezone(PARIS).date(), lot_id=lot.id,
                occurrence=statement.amendments,
            )  # fmt: skip
        touched.add(lot.id)
    recount_validated(session, touched)
    for row in data.outcomes:
        market_id = session.exec(select(Market.id).where(Market.ref == row.market)).one()
        _upsert(
            session, report, "outcomes", Outcome,
            {"market_id": market_id, "beneficiary_id": codes[row.beneficiary]},
            {"outcome": row.outcome, "recorded_by": actor, "early_reason": row.early_reason},
        )  # fmt: skip


def _execution_ends_on(session: Session, ref: str | None, in_file: dict) -> date | None:
    """The end of execution the file gives the market, else the stored one's."""
    if ref is None:
        return None
    if ref in in_file and in_file[ref].execution_ends_on is not None:
        return in_file[ref].execution_ends_on
    return session.exec(select(Market.execution_ends_on).where(Market.ref == ref)).first()


def _key(beneficiary_id: int | None, line) -> tuple:
    """A month's line: a person's by the person and the modality, an invoice's by its reference."""
    if beneficiary_id is None:
        return ("invoice", line.invoice_ref)
    return (beneficiary_id, line.modality)


def _lot_amount(
    session: Session, ref: str | None, number: int | None, in_file: dict, market: Market | None
) -> Decimal | None:
    """The amount the file gives the lot, else the stored lot's."""
    if ref in in_file:
        for lot in in_file[ref].lots:
            if lot.number == number and lot.amount is not None:
                return lot.amount
    if market is None or number is None:
        return None
    return session.exec(
        select(Lot.amount).where(Lot.market_id == market.id, Lot.number == number)
    ).first()


def _has_validated_hours(session: Session, market_ref: str, code: str) -> bool:
    return (
        session.exec(
            select(DeclarationLine.id)
            .join(Lot, Lot.id == DeclarationLine.lot_id)
            .join(Market, Market.id == Lot.market_id)
            .join(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
            .where(
                Market.ref == market_ref,
                Beneficiary.code == code,
                DeclarationLine.status == LineStatus.validated,
            )
        ).first()
        is not None
    )
