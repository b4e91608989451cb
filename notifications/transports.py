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
from pathlib import Path

from notifications.messages import Composed
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

    def send(self, message: Composed) -> None:
        try:
            mailbox.Maildir(self.path, create=True).add(message.data)
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
    """One connection per batch, reopened if the server drops it. A server that cannot be
    reached fails the rest of the batch at once: one connection attempt (and its timeout) per
    batch, not one per message."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.connection: smtplib.SMTP | None = None
        self.unreachable: TemporaryFailure | None = None

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
            failure = _classify(exc)
            if not failure.permanent:  # 421 at the greeting: the next try would get it too
                self.unreachable = failure
            raise failure from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.unreachable = TemporaryFailure(f"SMTP {s.host}:{s.port} injoignable : {exc}")
            raise self.unreachable from exc
        return connection

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.quit()
            self.connection = None

    def send(self, message: Composed) -> None:
        if self.unreachable is not None:
            raise TemporaryFailure(str(self.unreachable))  # the same cause, not retried now
        if self.connection is None:
            self.connection = self._connect()
        try:
            refused = self._sendmail(self.connection, message)
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

    @staticmethod
    def _sendmail(connection: smtplib.SMTP, message: Composed) -> dict:
        """``sendmail`` with ``send_message``'s options for non-ASCII addresses."""
        options: tuple[str, ...] = ()
        if not (message.sender.isascii() and message.to.isascii()):
            connection.ehlo_or_helo_if_needed()
            if not connection.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("le serveur n'accepte pas SMTPUTF8")
            options = ("SMTPUTF8", "BODY=8BITMIME")
        return connection.sendmail(message.sender, [message.to], message.wire(), options)

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
