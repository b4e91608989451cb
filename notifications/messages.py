"""E-mail messages, composed as the bytes that go on the wire (RFC 5322 and MIME).

They are written here rather than with the ``email`` package's ``EmailMessage``: its header
registry parses every header it is given and its generator folds them again, which cost more
than the rest of a delivery (``docs/performance.md``). What is written is what ``EmailMessage``
wrote: ``multipart/alternative`` with a text and an HTML part in UTF-8, non-ASCII subjects and
names as RFC 2047 encoded-words, a stable Message-ID. An address that is not a plain ASCII
``local@domain`` (quoted local part, non-ASCII mailbox) still goes through the ``email`` package.

Header values are made single-line before they are written: a name or subject carrying a line
break can never add a header (no ``Bcc:`` smuggled in a contractor's name).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from notifications.models import OutboxMessage

_LINE = 78  # RFC 5322's recommended line length, which EmailMessage also kept
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_PLAIN_ADDRESS = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PHRASE = re.compile(rf"[{_ATEXT}]+(?: [{_ATEXT}]+)*")
_WORD_BYTES = 39  # UTF-8 bytes per encoded-word: 64 characters, a line with "Subject: "


def one_line(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def message_id_for(key: str, sender: str) -> str:
    """A stable Message-ID: the same key always gives the same id, so a re-send is recognisable."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{_domain(sender)}>"


@lru_cache(maxsize=8)
def _domain(sender: str) -> str:
    return parseaddr(sender)[1].partition("@")[2] or "clausier.localhost"


@dataclass(frozen=True)
class Composed:
    """A message ready to send: its bytes and the envelope's sender and recipient."""

    data: bytes  # "\n" line ends, as a maildir keeps them
    sender: str
    to: str

    def wire(self) -> bytes:
        """For SMTP, CRLF line ends (``sendmail`` does not add them to bytes)."""
        return self.data.replace(b"\n", b"\r\n")


def build(row: OutboxMessage, sender: str) -> Composed:
    """An outbox row's message (or any row with the same columns, as the sweep reads them)."""
    return compose(
        sender=sender, to_name=row.to_name, to_email=row.to_email, subject=row.subject,
        message_id=row.message_id, created_at=row.created_at, text=row.text_body,
        html=row.html_body,
    )  # fmt: skip


def compose(
    *,
    sender: str,
    to_name: str | None,
    to_email: str,
    subject: str,
    message_id: str,
    created_at: datetime,
    text: str,
    html: str,
) -> Composed:
    sender_name, sender_email, from_header = _sender(sender)
    to_email = one_line(to_email)
    if not (from_header and _PLAIN_ADDRESS.fullmatch(to_email) and message_id.isascii()):
        return _with_email_package(
            sender_name,
            sender_email,
            to_name,
            to_email,
            subject,
            message_id,
            created_at,
            text,
            html,
        )
    text_part, text_encoding = _body(text)
    html_part, html_encoding = _body(html)
    boundary = "=_" + hashlib.sha1(message_id.encode()).hexdigest()[:24]
    while boundary.encode() in text_part or boundary.encode() in html_part:
        boundary += "_"  # a 7bit body quoting this very boundary: never in practice
    head = (
        from_header
        + _header("To", [*_phrase(one_line(to_name or "")), _angle(to_email, to_name)])
        + _header("Subject", _unstructured(one_line(subject)))
        + f"Message-ID: {one_line(message_id)}\n"
        f"Date: {format_datetime(created_at)}\n"
        "Auto-Submitted: auto-generated\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
    )
    data = b"".join((
        head.encode("ascii"),
        f'--{boundary}\nContent-Type: text/plain; charset="utf-8"\n'
        f"Content-Transfer-Encoding: {text_encoding}\n\n".encode("ascii"),
        text_part,
        f'\n--{boundary}\nContent-Type: text/html; charset="utf-8"\n'
        f"Content-Transfer-Encoding: {html_encoding}\n\n".encode("ascii"),
        html_part,
        f"\n--{boundary}--\n".encode("ascii"),
    ))  # fmt: skip
    return Composed(data, sender_email, to_email)


@lru_cache(maxsize=8)
def _sender(sender: str) -> tuple[str, str, str]:
    """Name, address and ``From:`` line (empty if the address is not a plain one)."""
    name, email = parseaddr(sender)
    name, email = one_line(name), one_line(email)
    plain = _PLAIN_ADDRESS.fullmatch(email)
    return name, email, _header("From", [*_phrase(name), _angle(email, name)]) if plain else ""


def _body(content: str) -> tuple[bytes, str]:
    """Lines as ``EmailMessage.set_content`` cut them; 7bit when ASCII and short, else
    quoted-printable (7-bit clean: no server needs 8BITMIME)."""
    lines = content.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if body.isascii() and max(map(len, lines), default=0) <= _LINE:
        return body, "7bit"
    return binascii.b2a_qp(body, istext=True), "quoted-printable"


def _encoded_words(value: str) -> list[str]:
    """RFC 2047 ``B`` words of at most ``_WORD_BYTES`` bytes, cut between characters."""
    data, words, start = value.encode("utf-8"), [], 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character: cut before
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return words


def _plain(value: str) -> bool:
    """Printable ASCII that no decoder could take for an encoded-word."""
    return value.isascii() and value.isprintable() and "=?" not in value


def _unstructured(value: str) -> list[str]:
    if not value:
        return []
    if _plain(value) and len(value) <= _LINE - len("Subject: "):
        return [value]
    return _encoded_words(value)


def _phrase(name: str) -> list[str]:
    """A display name: as it is, quoted, or encoded-words."""
    if not name:
        return []
    if _plain(name) and len(name) <= 40:
        if _PHRASE.fullmatch(name):
            return [name]
        return ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return _encoded_words(name)


def _angle(email: str, name: str | None) -> str:
    return f"<{email}>" if one_line(name or "") else email


def _header(name: str, tokens: list[str]) -> str:
    """``name: tokens`` folded before a token that would pass ``_LINE`` characters."""
    lines, line = [], f"{name}:"
    for token in tokens:
        if len(line) + 1 + len(token) > _LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\n".join(lines) + "\n"


def _address(name: str | None, email: str) -> Address:
    user, _, domain = one_line(email).partition("@")
    return Address(display_name=one_line(name or ""), username=user, domain=domain)


def _with_email_package(
    sender_name, sender_email, to_name, to_email, subject, message_id, created_at, text, html
) -> Composed:
    """The unusual addresses, with the ``email`` package (and SMTPUTF8 for non-ASCII ones)."""
    message = EmailMessage()
    message["From"] = _address(sender_name, sender_email)
    message["To"] = _address(to_name, to_email)
    message["Subject"] = one_line(subject)
    message["Message-ID"] = one_line(message_id)
    message["Date"] = format_datetime(created_at)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    international = not (sender_email.isascii() and to_email.isascii())
    policy = message.policy.clone(utf8=True) if international else message.policy
    return Composed(message.as_bytes(policy=policy), sender_email, to_email)
