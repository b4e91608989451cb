"""Where messages go: a local maildir (the default) or an SMTP server.

Failures are sorted once, here: temporary ones (connection refused, timeouts, 4xx, a full or
read-only disk) are retried with backoff; permanent ones (5xx) are not.
"""

from __future__ import annotations

import contextlib
import errno
import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from notifications.settings import SmtpSettings


class DeliveryFailure(Exception):
    permanent = False


class TemporaryFailure(DeliveryFailure):
    pass


class PermanentFailure(DeliveryFailure):
    permanent = True


class MaildirTransport:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> MaildirTransport:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def send(self, message: EmailMessage, to: str) -> None:
        try:
            mailbox.Maildir(self.path, create=True).add(message)
        except OSError as exc:  # disk full, read-only, permissions: may heal, retried
            raise TemporaryFailure(
                f"dossier des messages {self.path} : {_disk_problem(exc)} ({exc.strerror or exc})"
            ) from exc


def _disk_problem(exc: OSError) -> str:
    """What a person can do something about, in French."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "disque plein, libérez de la place"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "écriture refusée (disque en lecture seule ou droits insuffisants)"
    return "écriture impossible"


class SmtpTransport:
    """One connection per batch, reopened if the server drops it."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.security == "tls":
                connection = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
                if s.security == "starttls":
                    connection.starttls(context=ssl.create_default_context())
            if s.user:
                connection.login(s.user, s.password or "")
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"SMTP {s.host}:{s.port} injoignable : {exc}") from exc
        return connection

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.quit()
            self.connection = None

    def send(self, message: EmailMessage, to: str) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            refused = self.connection.send_message(message, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _classify(smtplib.SMTPResponseException(code, text)) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _classify(exc) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryFailure(f"SMTP : connexion perdue ({exc})") from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _classify(smtplib.SMTPResponseException(code, text))

    def _drop(self) -> None:
        try:
            if self.connection is not None:
                self.connection.close()
        finally:
            self.connection = None


def _classify(exc: smtplib.SMTPResponseException) -> DeliveryFailure:
    text = (
        exc.smtp_error.decode(errors="replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    detail = f"SMTP {exc.smtp_code} {text}".strip()
    return PermanentFailure(detail) if 500 <= exc.smtp_code < 600 else TemporaryFailure(detail)


def transport_for(outbox, smtp: SmtpSettings):
    return SmtpTransport(smtp) if outbox.transport == "smtp" else MaildirTransport(outbox.maildir)
