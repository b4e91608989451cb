"""Command-line stories run in-process (same entry point as the ``clausier`` script), so that
the clock is the test's and the stores are the fixtures' (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clausier.cli import runtime
from clausier.cli.app import run
from clausier.config import get_settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"
README = Path(__file__).parents[2] / "README.md"


def _readme_output(command: str) -> str:
    """What the README shows a command printing, its lines joined as the terminal has them."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"    $ {command}") + 1
    shown = []
    for line in lines[start:]:
        if not line.startswith("    ") or line.startswith("    $ "):
            break
        shown.append(line.strip())
    return " ".join(shown)


@pytest.fixture
def cli(store, monkeypatch, tmp_path, capsys, clock):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAUSIER_DATABASE_URL", store.url)
    get_settings.cache_clear()
    runtime.engine.cache_clear()

    def call(*args: str, expect: int = 0):
        capsys.readouterr()
        code = run(list(args))
        output = capsys.readouterr()
        assert code == expect, (code, output.out, output.err)
        return output

    yield call
    runtime.engine().dispose()
    get_settings.cache_clear()
    runtime.engine.cache_clear()


def test_refusals_explain_themselves_with_the_documented_exit_codes(cli, tmp_path):
    cli("init")
    cli("load", str(EXAMPLE))
    wrong_state = cli("fire", "MKT-2027-001", "publish", expect=1).err
    assert "est à l'état « Identification » (identification)" in wrong_state
    assert (
        "Déclencheurs possibles maintenant : « prepare_offer », « decline » (avec un motif), "
        "« abandon » (avec un motif)." in wrong_state
    )
    # the README's example, word for word: the refused trigger is not offered again
    uncovered = cli("fire", "MKT-2027-002", "prepare_offer", expect=1).err
    assert uncovered.strip() == _readme_output("clausier fire MKT-2027-002 prepare_offer")
    assert "signez une convention qui couvre cette commune" in uncovered
    assert uncovered.strip().endswith(
        "Déclencheurs possibles maintenant : « decline » (avec un motif), "
        "« abandon » (avec un motif)."
    )
    wrong_state = cli("fire", "MKT-2027-002", "publish", expect=1).err
    assert (
        "Déclencheurs possibles maintenant : « decline » (avec un motif), « abandon » (avec un "
        "motif). « prepare_offer » est bloqué : aucune convention de partenariat" in wrong_state
    )
    assert "Marché introuvable : « MKT-9999 »" in cli("status", "MKT-9999", expect=2).err
    assert (
        "n'est pas du JSON valide"
        in cli("fire", "MKT-2027-001", "decline", "--data", "{oops", expect=2).err
    )
    assert "Déclencheur inconnu" in cli("fire", "MKT-2027-001", "publier", expect=2).err

    ambiguous = cli("fire", "MKT-2027-003", "prepare_offer", expect=1).err
    assert "clausier assign MKT-2027-003 --structure REF" in ambiguous
    assert (
        "suivi par Maison de l'emploi et de la formation de l'Orne"
        in cli("assign", "MKT-2027-003", "--structure", "mde-orne").err
    )
    cli("fire", "MKT-2027-003", "prepare_offer")

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'buyers:\n  - {siret: "12345678901234", name: X, email: x@x.example}\n', encoding="utf-8"
    )
    failed = cli("load", str(bad), expect=2).err
    assert "bad.yaml, ligne 2, champ « buyers[12345678901234].siret »" in failed
    assert "rien n'a été enregistré" in failed


def test_conventions_are_renewed_and_terminated_from_the_command_line(cli):
    cli("init")
    cli("load", str(EXAMPLE))
    refs = {
        c["ref"]: c
        for b in json.loads(cli("coverage", "--json").out)["buyers"]
        for c in b["conventions"]
    }
    explicit = next(ref for ref, c in refs.items() if c["renewal"] == "explicit")
    tacit = next(
        ref
        for ref, c in refs.items()
        if c["renewal"] == "tacit" and c["structure"] == "mde-cotentin"
    )
    assert "jusqu'au 31/12/2027" in cli("convention", "renew", explicit).err
    assert "se renouvelle tacitement" in cli("convention", "renew", tacit, expect=1).err
    ended = cli("convention", "terminate", tacit, "--on", "2027-01-01").err
    assert f"Convention {tacit} résiliée à compter du 01/01/2027." in ended
    assert (
        "attendu une date AAAA-MM-JJ"
        in cli("convention", "terminate", tacit, "--on", "demain", expect=2).err
    )


def test_status_and_coverage_speak_json_for_scripts(cli):
    cli("load", str(EXAMPLE))
    status = json.loads(cli("status", "MKT-2027-002", "--json").out)
    assert (status["coverage"]["status"], status["structure"]) == ("uncovered", None)
    assert [task["kind"] for task in status["open_tasks"]] == ["assess_market"]
    assert status["next_reminders"][0]["label"] == "Tâche bientôt due"
    assert "Tâches ouvertes :" in cli("status", "MKT-2027-002").out
    assert status["allowed_triggers"][0] == {
        "trigger": "decline",
        "label": "Déclarer non clausable",
        "needs": ["un motif"],
    }
    assert [t["trigger"] for t in status["blocked_triggers"]] == ["prepare_offer"]
    text = cli("status", "MKT-2027-002").out
    assert "Suites possibles : decline (Déclarer non clausable, avec un motif), abandon" in text
    assert "Bloqué : prepare_offer (Préparer l'offre d'insertion) : aucune convention" in text
    report = json.loads(cli("coverage", "--buyer", "22500001800013", "--json").out)
    assert [b["buyer"]["name"] for b in report["buyers"]] == ["Conseil départemental de la Manche"]
    assert (
        "Vouliez-vous dire : « Région Normandie »"
        in cli("coverage", "--buyer", "Region Normandie", expect=2).err
    )


def test_an_uninitialised_database_is_named(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAUSIER_DATABASE_URL", f"sqlite:///{tmp_path / 'vide.db'}")
    get_settings.cache_clear()
    runtime.engine.cache_clear()
    assert run(["status", "MKT-1"]) == 2
    assert "Lancez « clausier init »" in capsys.readouterr().err
    runtime.engine().dispose()
    get_settings.cache_clear()
    runtime.engine.cache_clear()


def test_each_structure_sees_the_work_it_really_has(cli):
    cli("load", str(EXAMPLE))
    queue = json.loads(cli("tasks", "--structure", "mde-cotentin", "--json").out)["tasks"]
    assert {task["structure"] for task in queue} == {"mde-cotentin"}
    assert [task["overdue"] for task in queue] == sorted(
        (t["overdue"] for t in queue), reverse=True
    )
    due = [task["due_at"] for task in queue if not task["overdue"]]
    assert due == sorted(due)
    first = queue[0]
    assert (first["market"], first["kind"], first["overdue"]) == (
        "MKT-2026-019",
        "present_candidates",
        True,
    )
    text = cli("tasks", "--structure", "mde-cotentin").out
    assert (
        "EN RETARD échéance 28/09/2026 — Présenter des candidats au titulaire — MKT-2026-019"
        in text
    )

    task_id = str(first["id"])
    assert (
        "n'appartient pas à la structure"
        in cli("task", "take", task_id, "--actor", "s.marie@plie-caen.example", expect=1).err
    )
    cli("task", "take", task_id, "--actor", "facilitateur@mde-cotentin.fr")
    calendar = cli("tasks", "--facilitator", "facilitateur@mde-cotentin.fr", "--ics").out
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert f"UID:task-{task_id}@clausier" in calendar
    assert "DTSTART;VALUE=DATE:20260928" in calendar
    assert "SUMMARY:[à prendre]" in calendar, (
        "the structure's untaken tasks are in the calendar too"
    )
    cli(
        "task",
        "done",
        task_id,
        "--comment",
        "3 candidats présentés",
        "--actor",
        "facilitateur@mde-cotentin.fr",
    )
    assert "est déjà faite" in cli("task", "done", task_id, expect=1).err
    assert "Tâche introuvable : « 99999 »" in cli("task", "done", "99999", expect=2).err
    assert "Type de tâche inconnu « rdv »" in cli("tasks", "--kind", "rdv", expect=2).err
    assert (
        json.loads(cli("tasks", "--overdue", "--json").out)["tasks"][0]["market"] == "MKT-2026-012"
    )


def test_clausier_offer_takes_a_market_from_identification_to_a_publishable_offer(cli):
    cli("load", str(EXAMPLE))
    cli("fire", "MKT-2027-005", "publish", expect=1)  # in insertion_offer, lots without clause text
    steps = cli("offer", "MKT-2027-005").out
    assert "× taux d'insertion 5 % (convention CONV-2026-004)" in steps
    assert "÷ coût horaire moyen 30 € (convention CONV-2026-004)" in steps
    assert (
        "× part de main-d'œuvre 60 % (table des parts de main-d'œuvre : Entretien des espaces verts"
        in steps
    )
    refused = cli("offer", "MKT-2027-005", "--lot", "1", "--hours", "100", expect=2).err
    assert "doit être motivée" in refused
    assert (
        "inférieure ou égale à 100 %"
        in cli("offer", "MKT-2027-005", "--rate", "120 %", expect=2).err
    )
    cli(
        "offer",
        "MKT-2027-005",
        "--lot",
        "1",
        "--hours",
        "100",
        "--reason",
        "Saisonnalité des tontes",
    )
    status = json.loads(cli("status", "MKT-2027-005", "--json").out)
    first = status["lots"][0]
    assert (first["hours"], first["hours_override_reason"]) == (100, "Saisonnalité des tontes")
    assert first["hours_computed"] == first["offer"]["hours"]
    assert "dérogation : 100 h au lieu de" in cli("status", "MKT-2027-005").out
    cli("fire", "MKT-2027-005", "publish")
    assert "figée depuis la publication" in cli("offer", "MKT-2027-005", expect=1).err


def test_an_identified_market_gets_its_offer_in_one_command(cli):
    cli("load", str(EXAMPLE))
    done = cli("offer", "MKT-2027-001", "--actor", "facilitateur@mde-cotentin.fr")
    assert "MKT-2027-001 : Identification → Offre d'insertion (prepare_offer" in done.err
    # the example's notes: each lot by its own trade (its CPV), not the market's 50 %
    lot_1, lot_2 = done.out.split("Lot 2 — ")
    assert "Code CPV : 45210000 (CPV du lot)" in lot_1
    assert "1\u202f575 heures d'insertion" in lot_1  # 1.5 M€ × 45 % (gros œuvre) × 7 % ÷ 30 €
    assert "Code CPV : 45421000 (CPV du lot)" in lot_2
    assert "1\u202f410 heures d'insertion" in lot_2  # 1.1 M€ × 55 % (second œuvre) × 7 % ÷ 30 €
    status = json.loads(cli("status", "MKT-2027-001", "--json").out)
    assert [(lot["cpv"], lot["cpv_source"], lot["hours"]) for lot in status["lots"]] == [
        ("45210000", "lot", 1575),
        ("45421000", "lot", 1410),
    ]
    assert "CPV du lot : 45421000" in cli("status", "MKT-2027-001").out
    other = json.loads(cli("status", "MKT-2027-002", "--json").out)  # its lots take the market's
    assert {(lot["cpv"], lot["cpv_source"]) for lot in other["lots"]} == {("45454000", "market")}
    cli("fire", "MKT-2027-001", "publish")
    refused = cli("offer", "MKT-2027-002", expect=1).err
    assert "pas de facilitateur, pas de clause" in refused


def test_the_structure_chosen_and_the_offer_made_are_in_the_markets_history_by_whom(cli):
    cli("load", str(EXAMPLE))
    cli("assign", "MKT-2027-003", "--structure", "mde-orne", "--actor", "achats@region.fr")
    cli("offer", "MKT-2027-003", "--actor", "facilitateur@mde-orne.fr")
    cli("offer", "MKT-2027-003", "--lot", "1", "--hours", "100", "--reason", "Chantier court",
        "--actor", "facilitateur@mde-orne.fr")  # fmt: skip
    history = json.loads(cli("status", "MKT-2027-003", "--json").out)["history"]
    assert [(e["trigger"], e["actor"]) for e in history][1:] == [
        ("edit", "achats@region.fr"),
        ("prepare_offer", "facilitateur@mde-orne.fr"),
        ("edit", "facilitateur@mde-orne.fr"),
        ("edit", "facilitateur@mde-orne.fr"),
    ]
    assert history[1]["changes"][0] == "structure (aucune) → « mde-orne »"
    assert "lot 1, motif de la dérogation (aucun) → « Chantier court »" in history[-1]["changes"]
    shown = cli("status", "MKT-2027-003").out
    assert "Modification : structure (aucune) → « mde-orne »" in shown


def test_reminders_are_sent_to_the_maildir_and_listed(cli, tmp_path):
    cli("load", str(EXAMPLE))
    done = cli("reminders", "run-once").err
    assert "message(s) envoyé(s)" in done
    sent = json.loads(cli("reminders", "list", "--status", "sent", "--json").out)["reminders"]
    assert {r["rule"] for r in sent} >= {
        "market_uncovered",
        "task_overdue",
        "convention_expiring_buyer",
    }
    from email import message_from_bytes, policy

    mails = (tmp_path / "outbox" / "new").iterdir()
    subjects = [
        message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"] for path in mails
    ]
    assert len(subjects) == len(sent), (
        "one message per reminder (no facilitator has a task of their own yet)"
    )
    assert any(
        s.startswith("Plus aucune convention ne couvre le marché MKT-2027-002") for s in subjects
    )
    pending = cli("reminders", "list", "--status", "pending", "--market", "MKT-2026-012").out
    assert "declaration_due" in pending
    assert "n'est pas en échec" in cli("reminders", "retry", str(sent[0]["id"]), expect=1).err
    assert "Statut inconnu « parti »" in cli("reminders", "list", "--status", "parti", expect=2).err


def test_a_bad_load_file_is_refused_with_all_its_problems_at_once(cli, tmp_path):
    bad = tmp_path / "gymnase.yaml"
    bad.write_text(
        "markets:\n"
        '  - {ref: MKT-9, buyer: "12345678901234", title: Gymnase,\n'
        '     commune: "99999", cpv: "45212200",\n'
        "     amount: -1000}\n",
        encoding="utf-8",
    )
    failed = cli("load", str(bad), expect=2).err
    assert "gymnase.yaml : 3 erreurs, rien n'a été enregistré." in failed
    for line, field in ((2, "buyer"), (3, "commune"), (4, "amount")):
        assert f"gymnase.yaml, ligne {line}, champ « markets[MKT-9].{field} »" in failed
    assert "commune inconnue « 99999 »" in failed
    assert "Marché introuvable : « MKT-9 »" in cli("status", "MKT-9", expect=2).err
