"""A person who mistypes a command is answered in French, with the usage line and where the help
is, and exit code 2 (DESIGN.md); the help screens speak French too. Through ``run()``, the
entry point of the ``clausier`` script."""

from __future__ import annotations

import pytest

from clausier.cli.app import run
from clausier.config import get_settings

ENGLISH = ("Usage:", "Missing", "Invalid value", "Try ", "Error", "No such", "Got unexpected",
           "requires", "Choose from", "Did you mean", "Possible options", "Show this message",
           "Commands", "[required]", "Value error", "Input should")  # fmt: skip


@pytest.fixture
def cli(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # no config.yaml: the defaults
    get_settings.cache_clear()

    def call(*args: str, expect: int):
        capsys.readouterr()
        code = run(list(args))
        output = capsys.readouterr()
        assert code == expect, (code, output.out, output.err)
        assert not [word for word in ENGLISH if word in output.out + output.err], output
        return output

    yield call
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("argv", "said", "usage"),
    [
        (["status"], "Erreur : Il manque l'argument « ref ».", "clausier status"),
        (
            ["token", "create"],
            "Erreur : Il manque l'option --role "
            "(au choix : admin, buyer, facilitator ou contractor).",
            "clausier token create",
        ),
        (
            ["token", "create", "--role", "chef"],
            "Erreur : Valeur « chef » invalide pour l'option --role : "
            "attendu : admin, buyer, facilitator ou contractor.",
            "clausier token create",
        ),
        (
            ["status", "--jso", "MKT-2027-001"],
            "Erreur : Option inconnue : « --jso ». Vouliez-vous dire : « --json » ?",
            "clausier status",
        ),
        (
            ["tokn", "create"],
            "Erreur : Commande inconnue : « tokn ». Vouliez-vous dire : « token » ?",
            "clausier",
        ),
        (["status", "MKT-1", "MKT-2"], "Erreur : Argument en trop : « MKT-2 ».", "clausier status"),
        (
            ["demo-data", "--markets", "mille"],
            "Erreur : Valeur « mille » invalide pour l'option --markets : "
            "attendu : un nombre entier.",
            "clausier demo-data",
        ),
    ],
    ids=[
        "missing-argument",
        "missing-option",
        "bad-choice",
        "unknown-option",
        "unknown-command",
        "extra-argument",
        "not-an-integer",
    ],
)
def test_a_mistyped_command_is_answered_in_french_with_exit_code_2(cli, argv, said, usage):
    err = cli(*argv, expect=2).err
    assert err.splitlines()[0] == said
    assert f"Utilisation : {usage} [OPTIONS]" in err
    assert f"Aide : {usage} -h" in err


def test_an_option_without_its_value_is_named(cli):
    err = cli("convention", "terminate", "CONV-1", "--on", expect=2).err
    assert err.splitlines()[0] == "Erreur : L'option --on attend une valeur."


def test_the_help_screens_speak_french(cli):
    top = cli("--help", expect=0).out
    assert "Utilisation : clausier [OPTIONS] COMMANDE [ARGUMENTS]..." in top
    assert "─ Commandes ─" in top and "Affiche cette aide." in top
    command = cli("token", "create", "-h", expect=0).out
    assert "Utilisation : clausier token create [OPTIONS]" in command
    assert "─ Options ─" in command and "[obligatoire]" in command
    assert "─ Arguments ─" in cli("status", "-h", expect=0).out


def test_no_command_at_all_shows_the_help_as_bad_usage(cli):
    assert "Utilisation : clausier [OPTIONS] COMMANDE" in cli(expect=2).out
