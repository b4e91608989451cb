"""Buyers, structures and contractors deactivated and reactivated (issue 16): refused, in words
naming what holds them, while markets, conventions, tasks or lots still need them; once
deactivated their tokens and sign-in stop and their unsent e-mails are withheld; a facilitator a
load file deactivates hands its tasks back as the directory's button does. On both stores."""

from __future__ import annotations

from datetime import date, timedelta
from textwrap import dedent

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from clausier import clock as product_clock
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.errors import GuardRefused, InvalidInput, LoadErrors, NotAuthenticated, Refused
from clausier.loading.loader import load
from clausier.markets.models import Market
from clausier.partners import service as directory
from clausier.partners.contractors import contractor_choices, known_contractor, new_contractor
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships.models import Convention
from clausier.tasks.models import Task, TaskStatus
from clausier.web import auth as web_auth
from notifications.models import MessageStatus, OutboxMessage
from tests import factories as make
from workflow.engine import fire


def _waiting(session, to: str, key: str) -> OutboxMessage:
    """An e-mail to ``to``, waiting in the outbox for its next attempt."""
    row = OutboxMessage(
        idempotency_key=key, message_id=f"<{key}@clausier>", to_email=to, subject="Rappel",
        text_body="…", html_body="…", next_attempt_at=product_clock.now() + timedelta(hours=1),
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def _token(session, role: Role, org: str) -> str:
    secret, _row = tokens.create(
        session, role=role, org=org, expires_at=None, now=product_clock.now()
    )
    session.flush()
    return secret


def _settle(session, *markets: Market, state: str = "closed") -> None:
    for market in markets:
        session.execute(update(Market).where(Market.id == market.id).values(state=state))
    session.flush()


def _terminate(session, convention: Convention) -> None:
    session.execute(
        update(Convention)
        .where(Convention.id == convention.id)
        .values(terminated_on=product_clock.today() - timedelta(days=1))
    )
    session.flush()
    session.expire_all()


def _close_tasks(session, structure: Structure) -> None:
    session.execute(
        update(Task).where(Task.structure_id == structure.id).values(status=TaskStatus.cancelled)
    )
    session.flush()


# --- buyers -------------------------------------------------------------------------------------


def test_a_buyer_in_use_is_refused_naming_its_markets_and_conventions(session, clock):
    buyer = make.buyer(session, "Commune de Valognes")
    structure = make.structure(session)
    convention = make.convention(session, buyer=buyer, structure=structure, ref="CONV-VAL")
    markets = [
        make.market(session, buyer=buyer, ref=f"MKT-VAL-{n}", state=state)
        for n, state in enumerate(("identification", "insertion_offer", "consultation",
                                   "execution", "evaluation"), start=1)
    ]  # fmt: skip
    make.market(session, buyer=buyer, ref="MKT-VAL-9", state="abandoned")
    with pytest.raises(directory.DirectoryRefused) as refused:
        directory.deactivate_buyer(session, buyer.id, now=product_clock.now())
    assert str(refused.value) == (
        "L'acheteur « Commune de Valognes » ne peut pas être désactivé : 5 marchés non terminés "
        "(MKT-VAL-1, MKT-VAL-2, MKT-VAL-3 et 2 autres) ; 1 convention en cours (CONV-VAL). "
        "Clôturez, abandonnez ou déclarez non clausables ses marchés et résiliez ses conventions "
        "d'abord (rien n'a été modifié)."
    )
    _settle(session, *markets[:4], state="abandoned")
    with pytest.raises(directory.DirectoryRefused, match=r": 1 marché non terminé \(MKT-VAL-5\) ;"):
        directory.deactivate_buyer(session, buyer.id, now=product_clock.now())
    _settle(session, markets[4])
    _terminate(session, convention)
    directory.deactivate_buyer(session, buyer.id, now=product_clock.now())
    assert session.get(Buyer, buyer.id).active is False


def test_a_deactivated_buyer_signs_in_no_more_its_token_stops_and_its_mail_is_withheld(
    session, clock
):
    buyer = make.buyer(session, "Commune de Brix")
    secret = _token(session, Role.buyer, buyer.siret)
    waiting = _waiting(session, buyer.email.upper(), "test:buyer")
    assert tokens.authenticate(session, secret, now=product_clock.now()).org_id == buyer.id
    withdrawal = directory.deactivate_buyer(session, buyer.id, now=product_clock.now())
    session.flush()
    assert withdrawal.messages == 1
    session.refresh(waiting)
    assert waiting.status == MessageStatus.failed and "désactivé" in waiting.last_error
    with pytest.raises(NotAuthenticated):
        tokens.authenticate(session, secret, now=product_clock.now())
    assert not web_auth.send_link(
        session, buyer.email, settings=get_settings(), now=product_clock.now()
    )
    with pytest.raises(Refused, match="est désactivé : aucun jeton ne peut le nommer"):
        tokens.create(
            session, role=Role.buyer, org=buyer.siret, expires_at=None, now=product_clock.now()
        )
    with pytest.raises(directory.DirectoryRefused, match="« Commune de Brix » : déjà désactivé"):
        directory.deactivate_buyer(session, buyer.id, now=product_clock.now())

    directory.reactivate_org(session, "buyer", buyer.id)
    session.flush()
    assert tokens.authenticate(session, secret, now=product_clock.now()).org_id == buyer.id
    assert web_auth.send_link(
        session, buyer.email, settings=get_settings(), now=product_clock.now()
    )
    with pytest.raises(directory.DirectoryRefused, match="déjà actif"):
        directory.reactivate_org(session, "buyer", buyer.id)


# --- structures ---------------------------------------------------------------------------------


def test_a_structure_in_use_is_refused_naming_its_conventions_and_open_tasks(session, clock):
    buyer = make.buyer(session)
    structure = make.structure(session, "plie-cotentin")
    convention = make.convention(session, buyer=buyer, structure=structure, ref="CONV-PLIE")
    market = make.market(session, buyer=buyer, ref="MKT-PLIE-1", state="insertion_offer")
    open_tasks = session.exec(
        select(Task).where(Task.structure_id == structure.id, Task.status == TaskStatus.open)
    ).all()
    assert open_tasks
    with pytest.raises(directory.DirectoryRefused) as refused:
        directory.deactivate_structure(session, structure.id, now=product_clock.now())
    said = str(refused.value)
    assert said.startswith(
        "La structure « Maison de l'emploi plie-cotentin » ne peut pas être désactivée : "
        "1 convention en cours (CONV-PLIE) ; "
    )
    assert f"{len(open_tasks)} tâche" in said and "marché MKT-PLIE-1" in said
    assert said.endswith("(rien n'a été modifié).")
    _terminate(session, convention)
    _settle(session, market, state="abandoned")
    with pytest.raises(directory.DirectoryRefused, match=r"tâches? ouvertes?"):
        directory.deactivate_structure(session, structure.id, now=product_clock.now())
    _close_tasks(session, structure)
    directory.deactivate_structure(session, structure.id, now=product_clock.now())
    assert session.get(Structure, structure.id).active is False


def test_a_deactivated_structure_takes_its_facilitators_its_tokens_and_its_mail_with_it(
    session, clock
):
    structure = make.structure(session, "mde-fermee", facilitators=2)
    people = session.exec(
        select(Facilitator).where(Facilitator.structure_id == structure.id).order_by(Facilitator.id)
    ).all()
    team = _token(session, Role.facilitator, structure.ref)
    personal = _token(session, Role.facilitator, people[0].email)
    _waiting(session, structure.email, "test:structure")
    _waiting(session, people[1].email, "test:person")
    withdrawal = directory.deactivate_structure(session, structure.id, now=product_clock.now())
    session.flush()
    assert (withdrawal.facilitators, withdrawal.messages) == (2, 2)
    session.expire_all()
    assert [p.active for p in session.exec(
        select(Facilitator).where(Facilitator.structure_id == structure.id))] == [False, False]  # fmt: skip
    statuses = session.exec(
        select(OutboxMessage.status).where(OutboxMessage.idempotency_key.startswith("test:"))
    ).all()
    assert set(statuses) == {MessageStatus.failed}
    for secret in (team, personal):
        with pytest.raises(NotAuthenticated):
            tokens.authenticate(session, secret, now=product_clock.now())
    with pytest.raises(directory.DirectoryRefused, match="déjà désactivée"):
        directory.deactivate_structure(session, structure.id, now=product_clock.now())
    with pytest.raises(directory.DirectoryRefused, match=r"sa structure .* est désactivée"):
        directory.reactivate_facilitator(session, people[0].id)
    with pytest.raises(directory.DirectoryRefused, match="ne reçoit pas de nouveau facilitateur"):
        directory.create_facilitator(
            session, structure.id, name="Nouvelle", email="n@fermee.example"
        )
    elsewhere = make.structure(session, "mde-ouverte")
    mover = session.exec(select(Facilitator).where(Facilitator.structure_id == elsewhere.id)).one()
    with pytest.raises(directory.DirectoryRefused, match="ne reçoit pas de nouveau facilitateur"):
        directory.edit_facilitator(
            session, mover.id, name=mover.name, email=mover.email, structure_id=structure.id,
            digest=True, now=product_clock.now(),
        )  # fmt: skip

    directory.reactivate_org(session, "structure", structure.id)
    session.flush()
    assert tokens.authenticate(session, team, now=product_clock.now()).org_id == structure.id
    with pytest.raises(NotAuthenticated):  # its people come back one by one
        tokens.authenticate(session, personal, now=product_clock.now())
    directory.reactivate_facilitator(session, people[0].id)
    session.flush()
    assert (
        tokens.authenticate(session, personal, now=product_clock.now()).facilitator_id
        == people[0].id
    )


# --- contractors --------------------------------------------------------------------------------


def test_a_contractor_holding_a_lot_still_in_execution_is_refused(session, clock):
    buyer = make.buyer(session)
    contractor = make.contractor(session, "Voirie du Cotentin")
    market = make.market(session, buyer=buyer, ref="MKT-VOI", state="execution",
                         awarded_to=contractor)  # fmt: skip
    with pytest.raises(directory.DirectoryRefused) as refused:
        directory.deactivate_contractor(session, contractor.id, now=product_clock.now())
    assert str(refused.value) == (
        "Le titulaire « Voirie du Cotentin » ne peut pas être désactivé : 2 lots de marchés non "
        "terminés (MKT-VOI lot 1, MKT-VOI lot 2). Attendez que ces marchés soient clos "
        "(rien n'a été modifié)."
    )
    _settle(session, market, state="evaluation")
    with pytest.raises(directory.DirectoryRefused):
        directory.deactivate_contractor(session, contractor.id, now=product_clock.now())
    _settle(session, market)
    directory.deactivate_contractor(session, contractor.id, now=product_clock.now())
    assert session.get(Contractor, contractor.id).active is False


def test_a_deactivated_contractor_is_offered_no_more_and_signs_in_no_more(session, clock):
    contractor = make.contractor(session, "Peinture Normande")
    other = make.contractor(session, "Plâtrerie Normande")
    secret = _token(session, Role.contractor, contractor.siret)
    _waiting(session, contractor.email, "test:contractor")
    assert known_contractor(session, contractor.siret).id == contractor.id
    withdrawal = directory.deactivate_contractor(session, contractor.id, now=product_clock.now())
    session.flush()
    assert withdrawal.messages == 1
    assert known_contractor(session, contractor.siret) is None
    assert known_contractor(session, "peinture normande") is None
    assert [name for name, _siret in contractor_choices(session, 10)] == [other.name]
    with pytest.raises(InvalidInput, match="est désactivé dans l'annuaire"):
        new_contractor(session, siret=contractor.siret, name="Peinture Normande",
                       email="autre@peinture.example")  # fmt: skip
    with pytest.raises(NotAuthenticated):
        tokens.authenticate(session, secret, now=product_clock.now())
    assert not web_auth.send_link(
        session, contractor.email, settings=get_settings(), now=product_clock.now()
    )
    directory.reactivate_org(session, "contractor", contractor.id)
    session.flush()
    assert known_contractor(session, contractor.siret).id == contractor.id
    assert tokens.authenticate(session, secret, now=product_clock.now()).org_id == contractor.id


def test_an_award_to_a_deactivated_contractor_is_refused_by_its_guard(session, clock):
    buyer = make.buyer(session)
    structure = make.structure(session)
    make.convention(session, buyer=buyer, structure=structure)
    market = make.market(session, buyer=buyer, state="consultation", lots=1)
    contractor = make.contractor(session, "Couverture Saint-Lô")
    directory.deactivate_contractor(session, contractor.id, now=product_clock.now())
    session.commit()
    with pytest.raises(GuardRefused, match="est désactivé dans l'annuaire"):
        fire(session, ref=market.ref, trigger="award", data={"contractors": {"1": contractor.siret}},
             actor="test", settings=get_settings())  # fmt: skip


# --- a load file's facilitator ------------------------------------------------------------------


def test_a_facilitator_a_load_file_deactivates_hands_its_tasks_back(session, tmp_path, clock):
    buyer = make.buyer(session)
    structure = make.structure(session, "mde-chargee", facilitators=2)
    make.convention(session, buyer=buyer, structure=structure)
    market = make.market(session, buyer=buyer, state="insertion_offer")
    leaving, staying = session.exec(
        select(Facilitator).where(Facilitator.structure_id == structure.id).order_by(Facilitator.id)
    ).all()
    held = session.exec(select(Task).where(Task.market_id == market.id)).first()
    held.assignee_id = leaving.id
    session.add(held)
    _waiting(session, leaving.email, "test:leaving")
    session.commit()
    path = tmp_path / "depart.yaml"
    path.write_text(dedent(f"""\
        structures:
          - ref: mde-chargee
            name: {structure.name}
            kind: maison_emploi
            email: {structure.email}
            facilitators:
              - {{email: {leaving.email}, name: {leaving.name}, active: false}}
              - {{email: {staying.email}, name: {staying.name}}}
    """))  # fmt: skip
    report = load(session, path)
    session.commit()
    assert report.counts["facilitators"] == {"updated": 1, "unchanged": 1}
    session.expire_all()
    task = session.get(Task, held.id)
    assert (task.assignee_id, task.structure_id, task.status) == (None, structure.id, "open")
    withheld = session.exec(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == "test:leaving")
    ).one()
    assert withheld.status == MessageStatus.failed and "désactivé" in withheld.last_error
    assert session.get(Facilitator, leaving.id).active is False
    again = load(session, path)  # loading again: nothing more to hand back, nothing changed
    assert again.counts["facilitators"] == {"unchanged": 2}


def test_a_convention_that_has_not_started_yet_still_holds_its_buyer(session, clock):
    buyer = make.buyer(session, "Commune de Bricquebec")
    make.convention(session, buyer=buyer, structure=make.structure(session), ref="CONV-2027",
                    starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31))  # fmt: skip
    with pytest.raises(directory.DirectoryRefused, match=r"1 convention en cours \(CONV-2027\)"):
        directory.deactivate_buyer(session, buyer.id, now=product_clock.now())


# --- a load file and deactivated organisations --------------------------------------------------


def _market_row(ref: str, buyer: Buyer, contractor: Contractor | None = None) -> str:
    lot = f', contractor: "{contractor.siret}"' if contractor is not None else ""
    return dedent(f"""\
          - ref: {ref}
            buyer: "{buyer.siret}"
            title: Voirie
            commune: "{make.CHERBOURG}"
            cpv: "45233140"
            amount: 100000
            lots:
              - {{number: 1, title: Lot unique, amount: 100000{lot}}}
    """)


def _buyer_row(buyer: Buyer, active: str | None = None) -> str:
    said = f", active: {active}" if active is not None else ""
    return f'  - {{siret: "{buyer.siret}", name: {buyer.name}, email: {buyer.email}{said}}}\n'


def _loaded(session, tmp_path, text: str, name: str = "annuaire.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load(session, path)


def _refused(session, tmp_path, text: str) -> dict[tuple[int | None, str], str]:
    with pytest.raises(LoadErrors) as failure:
        _loaded(session, tmp_path, text)
    session.rollback()
    return {(p.line, p.field): p.message for p in failure.value.errors}


def _markets(session) -> list[str]:
    return list(session.exec(select(Market.ref).order_by(Market.ref)).all())


def test_a_load_gives_no_new_market_to_a_deactivated_buyer(session, tmp_path, clock):
    buyer = make.buyer(session, "Commune de Barfleur")
    closed = make.market(session, buyer=buyer, ref="MKT-BAR-1", state="closed", lots=1)
    directory.deactivate_buyer(session, buyer.id, now=product_clock.now())
    session.commit()
    problems = _refused(session, tmp_path, "markets:\n" + _market_row("MKT-BAR-2", buyer))
    assert problems == {
        (3, "markets[MKT-BAR-2].buyer"): f"l'acheteur « Commune de Barfleur » (SIRET "
        f"{buyer.siret}) est désactivé : il ne reçoit pas de nouveau marché ; réactivez-le d'abord"
    }
    assert _markets(session) == [closed.ref], "nothing written"
    # nor is a market of another buyer moved to it; its own closed market loads again
    other = make.market(session, buyer=make.buyer(session), ref="MKT-AUTRE", lots=1)
    session.commit()
    problems = _refused(session, tmp_path, "markets:\n" + _market_row(other.ref, buyer))
    assert list(problems) == [(3, "markets[MKT-AUTRE].buyer")]
    _loaded(session, tmp_path, "markets:\n" + _market_row(closed.ref, buyer))
    session.rollback()
    # a file that deactivates the buyer cannot give it a market either
    session.execute(update(Buyer).where(Buyer.id == buyer.id).values(active=True))
    session.commit()
    text = "buyers:\n" + _buyer_row(buyer, "false") + "markets:\n" + _market_row("MKT-BAR-2", buyer)
    assert list(_refused(session, tmp_path, text)) == [(5, "markets[MKT-BAR-2].buyer")]
    # one the file reactivates may
    session.execute(update(Buyer).where(Buyer.id == buyer.id).values(active=False))
    session.commit()
    text = "buyers:\n" + _buyer_row(buyer, "true") + "markets:\n" + _market_row("MKT-BAR-2", buyer)
    report = _loaded(session, tmp_path, text)
    session.commit()
    assert report.counts["buyers"] == {"updated": 1}
    assert session.get(Buyer, buyer.id).active is True
    assert _markets(session) == ["MKT-AUTRE", "MKT-BAR-1", "MKT-BAR-2"]


def test_a_load_gives_no_lot_to_a_deactivated_contractor(session, tmp_path, clock):
    buyer = make.buyer(session)
    contractor = make.contractor(session, "Maçonnerie Fermée")
    held = make.market(session, buyer=buyer, ref="MKT-HELD", state="closed", lots=1,
                       awarded_to=contractor)  # fmt: skip
    directory.deactivate_contractor(session, contractor.id, now=product_clock.now())
    session.commit()
    problems = _refused(session, tmp_path, "markets:\n" + _market_row("MKT-NEW", buyer, contractor))
    assert problems == {
        (9, "markets[MKT-NEW].lots[1].contractor"): "le titulaire « Maçonnerie Fermée » (SIRET "
        f"{contractor.siret}) est désactivé : aucun lot ne peut lui être attribué ; "
        "réactivez-le d'abord"
    }
    assert _markets(session) == [held.ref]
    _loaded(session, tmp_path, "markets:\n" + _market_row(held.ref, buyer, contractor))  # its own
    session.rollback()
    text = (
        f'contractors:\n  - {{siret: "{contractor.siret}", name: Maçonnerie Fermée, '
        f"email: {contractor.email}, active: true}}\n"
        "markets:\n" + _market_row("MKT-NEW", buyer, contractor)
    )
    report = _loaded(session, tmp_path, text)
    session.commit()
    assert report.counts["contractors"] == {"updated": 1}
    assert session.get(Contractor, contractor.id).active is True
    assert "MKT-NEW" in _markets(session)


def test_a_load_file_deactivates_and_reactivates_as_the_directory_does(session, tmp_path, clock):
    buyer = make.buyer(session, "Commune de Réville")
    _waiting(session, buyer.email, "test:load-buyer")
    secret = _token(session, Role.buyer, buyer.siret)
    session.commit()
    text = "buyers:\n" + _buyer_row(buyer, "false")
    report = _loaded(session, tmp_path, text)
    session.commit()
    assert report.counts["buyers"] == {"updated": 1}
    session.expire_all()
    assert session.get(Buyer, buyer.id).active is False
    withheld = session.exec(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == "test:load-buyer")
    ).one()
    assert withheld.status == MessageStatus.failed and "désactivé" in withheld.last_error
    with pytest.raises(NotAuthenticated):
        tokens.authenticate(session, secret, now=product_clock.now())
    assert _loaded(session, tmp_path, text).counts["buyers"] == {"unchanged": 1}
    assert _loaded(session, tmp_path, "buyers:\n" + _buyer_row(buyer)).counts["buyers"] == {
        "unchanged": 1
    }, "without « active », as it is"
    session.commit()
    assert session.get(Buyer, buyer.id).active is False
    report = _loaded(session, tmp_path, "buyers:\n" + _buyer_row(buyer, "true"))
    session.commit()
    assert report.counts["buyers"] == {"updated": 1}
    assert tokens.authenticate(session, secret, now=product_clock.now()).org_id == buyer.id
    # new, and inactive from the start
    fresh = Buyer(siret=make.siret(), name="Commune Nouvelle", email="achats@nouvelle.example")
    report = _loaded(session, tmp_path, "buyers:\n" + _buyer_row(fresh, "false"))
    session.commit()
    assert report.counts["buyers"] == {"created": 1}
    assert session.exec(select(Buyer.active).where(Buyer.siret == fresh.siret)).one() is False


def test_a_load_file_cannot_deactivate_what_the_directory_would_refuse(session, tmp_path, clock):
    buyer = make.buyer(session, "Commune de Gatteville")
    make.market(session, buyer=buyer, ref="MKT-GAT", lots=1)
    contractor = make.contractor(session, "Couvreur Occupé")
    make.market(session, buyer=make.buyer(session), ref="MKT-COUV", state="execution", lots=1,
                awarded_to=contractor)  # fmt: skip
    structure = make.structure(session, "mde-occupee")
    make.convention(session, buyer=make.buyer(session), structure=structure, ref="CONV-OCC")
    session.commit()
    before = {model: session.exec(select(func.count()).select_from(model)).one()
              for model in (Buyer, Contractor, Structure, Market)}  # fmt: skip
    renamed = Buyer(siret=buyer.siret, name="Commune de Gatteville (renommée)", email=buyer.email)
    text = (
        "buyers:\n" + _buyer_row(renamed, "false")
        + f"structures:\n  - {{ref: mde-occupee, name: {structure.name}, kind: maison_emploi, "
        f"email: {structure.email}, active: false}}\n"
        f'contractors:\n  - {{siret: "{contractor.siret}", name: {contractor.name}, '
        f"email: {contractor.email}, active: false}}\n"
        f'  - {{siret: "{make.siret()}", name: Nouveau Titulaire, email: n@titulaire.example}}\n'
    )  # fmt: skip
    problems = _refused(session, tmp_path, text)
    assert problems == {
        (2, f"buyers[{buyer.siret}].active"): "L'acheteur « Commune de Gatteville (renommée) » ne "
        "peut pas être désactivé : 1 marché non terminé (MKT-GAT). Clôturez, abandonnez ou "
        "déclarez non clausables ses marchés et résiliez ses conventions d'abord (rien n'a été "
        "modifié).",
        (4, "structures[mde-occupee].active"): f"La structure « {structure.name} » ne peut pas "
        "être désactivée : 1 convention en cours (CONV-OCC). Résiliez ses conventions et faites "
        "ou annulez ses tâches d'abord (rien n'a été modifié).",
        (6, f"contractors[{contractor.siret}].active"): "Le titulaire « Couvreur Occupé » ne peut "
        "pas être désactivé : 1 lot d'un marché non terminé (MKT-COUV lot 1). Attendez que ces "
        "marchés soient clos (rien n'a été modifié).",
    }
    session.expire_all()
    after = {model: session.exec(select(func.count()).select_from(model)).one()
             for model in (Buyer, Contractor, Structure, Market)}  # fmt: skip
    assert after == before, "all or nothing"
    assert session.get(Buyer, buyer.id).name == "Commune de Gatteville"
    assert all(org.active for org in (session.get(Buyer, buyer.id),
                                      session.get(Structure, structure.id),
                                      session.get(Contractor, contractor.id)))  # fmt: skip


def test_a_structure_a_load_file_deactivates_keeps_its_facilitators_inactive(
    session, tmp_path, clock
):
    structure = make.structure(session, "mde-close", facilitators=1)
    person = session.exec(select(Facilitator).where(Facilitator.structure_id == structure.id)).one()
    session.commit()
    head = (
        f"structures:\n  - ref: mde-close\n    name: {structure.name}\n    kind: maison_emploi\n"
        f"    email: {structure.email}\n"
    )
    listed = f"    facilitators:\n      - {{email: {person.email}, name: {person.name}}}\n"
    report = _loaded(session, tmp_path, head + "    active: false\n" + listed)
    session.commit()
    assert report.counts["structures"] == {"updated": 1}
    session.expire_all()
    assert (session.get(Structure, structure.id).active, session.get(Facilitator, person.id).active) == (False, False)  # fmt: skip
    again = _loaded(session, tmp_path, head + listed)  # loaded again, without « active »
    session.commit()
    assert (again.counts["structures"], again.counts["facilitators"]) == (
        {"unchanged": 1}, {"unchanged": 1},
    )  # fmt: skip
    assert session.get(Facilitator, person.id).active is False
    problems = _refused(session, tmp_path, head + (
        f"    facilitators:\n      - {{email: {person.email}, name: {person.name}, active: true}}\n"
        "      - {email: nouveau@mde-close.example, name: Nouveau Venu}\n"
    ))  # fmt: skip
    assert problems == {
        (7, f"structures[mde-close].facilitators[{person.email}].active"): "la structure « "
        f"{structure.name} » est désactivée : ses facilitateurs le sont aussi ; réactivez-la "
        "d'abord",
        (8, "structures[mde-close].facilitators[nouveau@mde-close.example].email"): "la structure "
        f"« {structure.name} » est désactivée : elle ne reçoit pas de nouveau facilitateur ; "
        "réactivez-la d'abord",
    }
    _loaded(session, tmp_path, head + "    active: true\n" + listed)
    session.commit()
    assert session.get(Structure, structure.id).active is True
    assert session.get(Facilitator, person.id).active is True, "the file says it, by default"


# --- sessions end at deactivation ---------------------------------------------------------------


def test_sessions_end_at_deactivation_and_do_not_come_back_on_reactivation(session, clock):
    buyer = make.buyer(session)
    contractor = make.contractor(session)
    structure = make.structure(session, "mde-sessions", facilitators=2)
    alone = session.exec(
        select(Facilitator).where(Facilitator.structure_id == structure.id).order_by(Facilitator.id)
    ).first()
    secrets = {
        "buyer": _token_session(session, Role.buyer, buyer.siret),
        "contractor": _token_session(session, Role.contractor, contractor.siret),
        "structure": _token_session(session, Role.facilitator, structure.ref),
        "person": _token_session(session, Role.facilitator, alone.email),
    }
    session.commit()
    now = product_clock.now()
    for secret in secrets.values():
        assert web_auth.current(session, secret, now=now) is not None
    directory.deactivate_facilitator(session, alone.id, now=now)
    session.commit()
    directory.reactivate_facilitator(session, alone.id)  # before its next request
    session.commit()
    assert web_auth.current(session, secrets.pop("person"), now=now) is None
    assert web_auth.current(session, secrets["structure"], now=now) is not None
    directory.deactivate_buyer(session, buyer.id, now=now)
    directory.deactivate_contractor(session, contractor.id, now=now)
    directory.deactivate_structure(session, structure.id, now=now)
    session.commit()
    # reactivated before any request came: their sessions stay ended (a new link signs in)
    directory.reactivate_org(session, "buyer", buyer.id)
    directory.reactivate_org(session, "contractor", contractor.id)
    directory.reactivate_org(session, "structure", structure.id)
    session.commit()
    for name, secret in secrets.items():
        assert web_auth.current(session, secret, now=product_clock.now()) is None, name


def _token_session(session, role: Role, org: str) -> str:
    """A web session opened with a token (of the organisation, or of a person)."""
    principal = tokens.authenticate(session, _token(session, role, org), now=product_clock.now())
    return web_auth.open_session(session, principal, now=product_clock.now())
