"""E-mails: HTML escaped, subjects on one line, headers that cannot be injected."""

from datetime import UTC, datetime

from notifications.messages import build, message_id_for, one_line
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
    message = build(row, "Clausier <clausier@localhost>")
    assert message["Bcc"] is None
    assert message["Subject"] == one_line("Relevé\nBcc: pirate@evil.example")
    assert [a.addr_spec for a in message["To"].addresses] == ["contact@bat.example"]
    assert "\nBcc" not in message.as_string().split("\n\n")[0]
