"""E-mails: HTML escaped, subjects on one line, headers that cannot be injected."""

from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy

import pytest

from notifications.messages import build, compose, message_id_for, one_line
from notifications.models import OutboxMessage
from notifications.rendering import SAMPLES, render


def test_html_is_escaped_and_text_is_not():
    context = {
        **SAMPLES["coverage"],
        "market": {**SAMPLES["coverage"]["market"], "title": "<script>alert(1)</script> & co"},
    }
    rendered = render("market_uncovered", "Marché {{ market.ref }}\n{{ market.title }}", context)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in rendered.html
    assert "<script>alert(1)</script> & co" in rendered.text
    assert "\n" not in rendered.subject


def test_a_message_id_is_stable_for_its_key():
    first = message_id_for("task_overdue:task:7:0", "Clausier <clausier@mde.example>")
    assert first == message_id_for("task_overdue:task:7:0", "Clausier <clausier@mde.example>")
    assert first.endswith("@mde.example>") and first != message_id_for(
        "task_overdue:task:7:1", "x@mde.example"
    )


def test_line_breaks_never_make_headers():
    row = OutboxMessage(
        idempotency_key="k", message_id="<k@clausier>", to_email="contact@bat.example",
        to_name="Bâtiments\r\nBcc: pirate@evil.example", subject="Relevé\nBcc: pirate@evil.example",
        text_body="texte", html_body="<p>html</p>", next_attempt_at=datetime.now(UTC), created_at=datetime.now(UTC),
    )  # fmt: skip
    composed = build(row, "Clausier <clausier@localhost>")
    message = message_from_bytes(composed.data, policy=policy.default)
    assert message["Bcc"] is None
    assert message["Subject"] == one_line("Relevé\nBcc: pirate@evil.example")
    assert [a.addr_spec for a in message["To"].addresses] == ["contact@bat.example"]
    assert b"\nBcc" not in composed.data.split(b"\n\n")[0]
    assert (composed.sender, composed.to) == ("clausier@localhost", "contact@bat.example")


def _parsed(**fields):
    values = {
        "sender": "Clausier <clausier@mde.example>", "to_name": "Bâtiments SARL",
        "to_email": "contact@bat.example", "subject": "Relevé d'heures de juin 2026 manquant",
        "message_id": "<k@mde.example>", "created_at": datetime(2026, 11, 25, 9, tzinfo=UTC),
        "text": "Bonjour,\n\nÀ faire d'ici le 02/12/2026.\n", "html": "<p>Bonjour é</p>",
    } | fields  # fmt: skip
    composed = compose(**values)
    lines = composed.data.split(b"\n")
    assert composed.data.isascii() or fields.get("to_email")
    assert all(len(line) <= 78 for line in lines), "folded, quoted-printable: short lines"
    return message_from_bytes(composed.data, policy=policy.default)


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Bâtiments SARL", "Relevé d'heures de juin 2026 manquant"),
        ('Dupont "et fils", S.A.', "Marché MKT-0001 : « Gros œuvre » " * 6),
        ("", "A plain ASCII subject that is long enough to need folding over lines " * 2),
        ("Œuvres d'insertion de la Manche", "=?utf-8?q?not_an_encoded_word?= tab\tand"),
        (None, ""),
    ],
)
def test_headers_read_back_as_written(name, subject):
    message = _parsed(to_name=name, subject=subject)
    assert message["Subject"] == one_line(subject)
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == (one_line(name or ""), "contact@bat.example")
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Clausier", "clausier@mde.example")
    assert message["Message-ID"] == "<k@mde.example>"
    assert message["Date"].datetime == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert message["Auto-Submitted"] == "auto-generated"
    assert not message.defects and not any(part.defects for part in message.walk())


def test_bodies_read_back_as_written():
    text = "Ligne  \n" + "x" * 200 + "\n= égal\r\n.\nFrom here\n--\nfin"
    html = "<p>" + "é" * 120 + "</p>"
    message = _parsed(text=text, html=html)
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == text.replace("\r\n", "\n") + "\n"
    assert message.get_body(("html",)).get_content() == html + "\n"
    ascii_only = _parsed(text="short ascii\n", html="<p>ok</p>")
    assert ascii_only.get_body(("plain",))["Content-Transfer-Encoding"] == "7bit"


def test_a_long_name_is_cut_into_encoded_words():
    [to] = _parsed(to_name="Œ" * 60)["To"].addresses
    # the email package's parser keeps a space between two encoded-words of a name
    assert (to.display_name.replace(" ", ""), to.addr_spec) == ("Œ" * 60, "contact@bat.example")


def test_a_non_ascii_address_goes_through_the_email_package():
    composed = compose(
        sender="Clausier <clausier@mde.example>", to_name="Jean", to_email="jean@bâtiments.example",
        subject="Relevé", message_id="<k@mde.example>", created_at=datetime(2026, 11, 25, tzinfo=UTC),
        text="Bonjour", html="<p>Bonjour</p>",
    )  # fmt: skip
    message = message_from_string(composed.data.decode(), policy=policy.default)  # SMTPUTF8
    assert message["To"].addresses[0].addr_spec == composed.to == "jean@bâtiments.example"
    assert message.get_body(("plain",)).get_content() == "Bonjour\n"
