"""A wrong config.yaml stops the program with the file, the key and what is expected."""

from pathlib import Path

import pytest

from clausier.config import load_settings
from clausier.errors import ConfigError

ROOT = Path(__file__).parents[2]


def test_the_shipped_config_is_valid_and_matches_the_defaults():
    """Running without a config.yaml behaves as running with the shipped one."""
    assert load_settings(ROOT / "config.yaml") == load_settings()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "database:\n  pool_size: 0\n",
            "clé « database.pool_size » : attendu : une valeur supérieure ou égale à 1",
        ),
        (
            "database:\n  url: mysql://x/y\n",
            "clé « database.url » : pilote « mysql » non pris en charge",
        ),
        (
            "logging:\n  level: BAVARD\n",
            "clé « logging.level » : attendu : une de ces valeurs : 'DEBUG', 'INFO', 'WARNING' ou 'ERROR'",
        ),
        (
            "beneficiaries:\n  retention_months: 0\n",
            "clé « beneficiaries.retention_months » : attendu : une valeur supérieure ou égale à 1",
        ),
        (
            "web:\n  base_url: ftp://clausier.example.fr\n",
            "clé « web.base_url » : « ftp://clausier.example.fr » : attendu une adresse http(s)",
        ),
        ("web:\n  base_url: clausier.example.fr\n", "attendu une adresse http(s) du site"),
        (  # a proxy is trusted by its address: a name or « * » would trust anyone
            "web:\n  trusted_proxies: [10.0.0.5, proxy.example.fr]\n",
            "clé « web.trusted_proxies » : « proxy.example.fr » : attendu une adresse IP ou un réseau",
        ),
        ("web:\n  trusted_proxies: ['10.0.0.1/8']\n", "« 10.0.0.1/8 » : attendu une adresse IP"),
        (
            "web:\n  trusted_proxies: 10.0.0.5\n",
            "clé « web.trusted_proxies » : attendu : une liste",
        ),
        (
            "notifications:\n  base_url: https://clausier.example.fr\n",
            "clé « notifications » : « base_url » a été déplacée dans « web.base_url »",
        ),
        ("reminder: {}\n", "clé « reminder » : clé inconnue"),
        ("database: [1, 2]\n", "clé « database » : attendu : un ensemble de clés"),
        ("database:\n  url: [\n", "ligne 3 : YAML illisible"),
        (  # YAML would keep the second silently: nobody chose which
            "outbox:\n  transport: smtp\ndatabase: {}\noutbox:\n  transport: maildir\n",
            "clé « outbox » en double (lignes 1 et 4)",
        ),
    ],
)
def test_invalid_values_are_named(tmp_path, content, expected):
    path = tmp_path / "config.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as failure:
        load_settings(path)
    assert f"Configuration invalide ({path})" in str(failure.value)
    assert expected in str(failure.value)


def test_the_environment_chooses_the_file_and_the_database(tmp_path, monkeypatch):
    path = tmp_path / "other.yaml"
    path.write_text("database:\n  echo: true\n", encoding="utf-8")
    monkeypatch.setenv("CLAUSIER_CONFIG", str(path))
    monkeypatch.setenv("CLAUSIER_DATABASE_URL", "postgresql+psycopg://clausier@127.0.0.1/clausier")
    settings = load_settings()
    assert settings.database.echo is True
    assert settings.database.url == "postgresql+psycopg://clausier@127.0.0.1/clausier"


def test_a_bad_database_url_in_the_environment_is_named(monkeypatch):
    monkeypatch.setenv("CLAUSIER_DATABASE_URL", "n'importe quoi")
    with pytest.raises(ConfigError, match=r"database\.url \(via CLAUSIER_DATABASE_URL\)"):
        load_settings()


def test_a_missing_file_named_by_the_environment_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAUSIER_CONFIG", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ConfigError, match="fichier introuvable"):
        load_settings()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "tasks:\n  kinds:\n    x1:\n      label: Appeler\n      service: follow\n      state: signature\n",
            "état « signature » inconnu",
        ),
        (
            "tasks:\n  kinds:\n    x1:\n      label: Appeler\n      service: follow\n      state: consultation\n      done_by: [publish]\n",
            "done_by : « publish » ne fait pas quitter l'état consultation",
        ),
        (
            "tasks:\n  kinds:\n    x1:\n      label: Appeler\n      service: follow\n      state: execution\n      due: {after: tomorrow}\n",
            "clé « tasks.kinds.x1.due.after »",
        ),
        ("tasks:\n  due_time: '25:00'\n", "clé « tasks.due_time » : attendu : une heure HH:MM"),
        (
            "tasks:\n  kinds:\n    Appel Client:\n      label: Appeler\n      service: follow\n      state: execution\n",
            "lettres minuscules",
        ),
        (
            "tasks:\n  kinds:\n    x1:\n      label: Appeler\n      service: follow\n      state: evaluation\n      opened_by: declaration\n",
            "opened_by : « declaration » n'arrive qu'en exécution",
        ),
        (
            "tasks:\n  kinds:\n    x1:\n      label: Appeler\n      service: follow\n      state: execution\n      opened_by: pluie\n",
            "clé « tasks.kinds.x1.opened_by »",
        ),
        (
            "tasks:\n  kinds:\n    x1:\n      label: Appeler\n      service: accueil\n      state: execution\n",
            "service « accueil » inconnu",
        ),
        (
            "declarations:\n  pace_threshold: 1.5\n",
            "clé « declarations.pace_threshold »",
        ),
    ],
)
def test_task_kinds_are_checked_at_start_up(tmp_path, content, expected):
    path = tmp_path / "config.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_settings(path)


def test_a_reminder_template_with_an_unknown_variable_refuses_to_start(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "reminders:\n  relance:\n    label: Relance\n    follows: task\n    to: facilitator\n    after_business_days: 1\n"
        "    template: task_overdue\n    subject: 'Retard : {{ task.intitule }}'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as failure:
        load_settings(path)
    message = str(failure.value)
    assert "clé « reminders.relance »" in message
    assert "variable inconnue ('dict object' has no attribute 'intitule')" in message
    assert "variables d'un rappel qui suit « task »" in message


def test_a_template_that_assumes_a_structure_refuses_to_start(tmp_path):
    """An escalation about a market no structure follows still has to render: found at start-up,
    not at the first send (it failed every buyer escalation of such markets)."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "reminders:\n  relance:\n    label: Relance\n    follows: task\n    to: facilitator\n    after_business_days: 1\n"
        "    escalate: [buyer]\n    template: task_overdue\n"
        "    subject: 'Retard{% if escalated %} (rappels à {{ structure.name }}){% endif %}'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as failure:
        load_settings(path)
    assert (
        "clé « reminders.relance » : modèle « task_overdue », ligne 1 (rappel escaladé, marché "
        "qu'aucune structure ne suit) : variable inconnue ('None' has no attribute 'name')"
    ) in str(failure.value)


def test_a_reminder_template_that_does_not_exist_is_named(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "reminders:\n  relance:\n    label: Relance\n    follows: coverage\n    to: buyer\n    before_business_days: 0\n"
        "    template: inexistant\n    subject: Marché {{ market.ref }}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"modèle introuvable notifications/templates/inexistant\.txt\.j2"
    ):
        load_settings(path)


def test_a_template_line_is_named_when_a_shipped_template_meets_the_wrong_rule(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "reminders:\n  relance:\n    label: Relance\n    follows: coverage\n    to: buyer\n    before_business_days: 0\n"
        "    template: task_overdue\n    subject: Marché {{ market.ref }}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError,
        match=r"modèle « task_overdue », ligne 3 : variable inconnue \('task' is undefined\)",
    ):
        load_settings(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "reminders:\n  r:\n    label: Relance\n    follows: task\n    to: facilitator\n    template: task_overdue\n    subject: Sujet\n",
            "une seule échéance",
        ),
        (
            "reminders:\n  r:\n    label: Relance\n    follows: task\n    to: maire\n    before_business_days: 1\n    template: task_overdue\n    subject: Sujet\n",
            "clé « reminders.r.to »",
        ),
        (
            "outbox:\n  transport: smtp\nsmtp:\n  user: clausier\n  password_env: CLAUSIER_TEST_NO_SUCH_VARIABLE\n",
            "mot de passe SMTP",
        ),
    ],
)
def test_reminder_and_delivery_settings_are_checked(tmp_path, content, expected):
    path = tmp_path / "config.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_settings(path)


def test_a_task_kind_written_before_services_still_starts_and_stays_the_structures(tmp_path):
    """A deployment's config.yaml from before the ``service`` key keeps starting: such a kind is
    the structure's whatever its convention lists."""
    from clausier.markets.models import Market
    from clausier.tasks.planning import holder

    path = tmp_path / "config.yaml"
    path.write_text(
        "tasks:\n  kinds:\n    x1:\n      label: Appeler\n      state: execution\n",
        encoding="utf-8",
    )
    kind = load_settings(path).tasks.kinds["x1"]
    assert kind.service is None
    market = Market(structure_id=7)
    assert holder(kind, market, frozenset()) == 7
    follow = kind.model_copy(update={"service": "follow"})
    assert holder(follow, market, frozenset()) is None
    assert holder(follow, market, frozenset({"follow"})) == 7
