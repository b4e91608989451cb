"""E-mail messages built with the standard ``email`` package.

Header values are made single-line before they are set: a name or subject carrying a line break
can never add a header (no ``Bcc:`` smuggled in a contractor's name).
"""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from notifications.models import OutboxMessage


def one_line(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def message_id_for(key: str, sender: str) -> str:
    """A stable Message-ID: the same key always gives the same id, so a re-send is recognisable."""
    domain = parseaddr(sender)[1].partition("@")[2] or "clausier.localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def _address(name: str | None, email: str) -> Address:
    user, _, domain = one_line(email).partition("@")
    return Address(display_name=one_line(name or ""), username=user, domain=domain)


def build(row: OutboxMessage, sender: str) -> EmailMessage:
    sender_name, sender_email = parseaddr(sender)
    message = EmailMessage()
    message["From"] = _address(sender_name, sender_email)
    message["To"] = _address(row.to_name, row.to_email)
    message["Subject"] = one_line(row.subject)
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    return message
