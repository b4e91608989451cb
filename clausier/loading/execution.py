"""Loading the history of execution: beneficiaries already followed and months already declared.

A structure that starts with Clausier mid-market brings its spreadsheet: the people (by their
pseudonymous code) and each month's lines with their review. Codes are natural keys, and a
month loaded again replaces that month's lines, so a second load changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary, Outcome
from clausier.clock import PARIS
from clausier.config import Settings
from clausier.db.locks import locked
from clausier.declarations.models import DeclarationLine, LineStatus, Statement
from clausier.declarations.service import recount_validated
from clausier.formatting import fr_number
from clausier.loading.rows import LoadFile
from clausier.markets.models import Lot, Market
from clausier.partners.models import Facilitator, Structure
from clausier.tasks import events


def check(session: Session, data: LoadFile, problems, settings: Settings) -> None:
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
        if row.public == "other" and len((row.public_reason or "").strip()) < 3:
            problems.add(
                ("beneficiaries", index, "public_reason"),
                "un public « other » est validé au cas par cas : indiquez le motif",
            )
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
            "structure_id": structures[row.structure], "public": row.public,
            "public_reason": row.public_reason, "sex": row.sex, "age_band": row.age_band,
            "checked_by_id": checkers[row.checked_by.lower()], "checked_on": row.checked_on,
        }  # fmt: skip
        if row.name is not None:  # a file without names never erases one (nor revives a purge)
            values["name"] = row.name
        _upsert(session, report, "beneficiaries", Beneficiary, {"code": row.code}, values)
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
        wanted = {(codes[line.beneficiary], line.modality): line for line in row.lines}
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
                    (line.beneficiary_id, line.modality): line
                    for line in session.exec(
                        select(DeclarationLine).where(DeclarationLine.statement_id == statement.id)
                    )
                },
            )
        changed = False
        for key, line in wanted.items():
            values = {
                "hours": line.hours, "contract_type": line.contract_type, "status": line.status,
                "review_reason": line.review_reason,
            }  # fmt: skip
            current = existing.pop(key, None)
            if current is None:
                session.add(
                    DeclarationLine(
                        statement_id=statement.id,
                        lot_id=lot.id,
                        period=row.period,
                        beneficiary_id=key[0],
                        modality=key[1],
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
