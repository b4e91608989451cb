"""Where messages go: a local maildir (the default) or an SMTP server.

Failures are sorted once, here: temporary ones (connection refused, timeouts, 4xx, a full or
read-only disk) are retried with backoff; permanent ones (5xx) are not.
"""

from __future__ import annotations

import contextlib
import errno
import mailbox
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from threading import Lock

from notifications.messages import Composed
from notifications.settings import SmtpSettings


class DeliveryFailure(Exception):
    permanent = False


class TemporaryFailure(DeliveryFailure):
    pass


class PermanentFailure(DeliveryFailure):
    permanent = True


_ADDING = Lock()


def _nothing() -> None:
    return None


class MaildirTransport:
    """``send``'s ``before_acceptance`` runs before the message is written: a message is
    accepted once its file is in the maildir.

    The folder is made whole once per batch (``tmp/``, ``new/`` and ``cur/``, whichever are
    missing), and again if it disappears meanwhile: a folder half there, as a clone that tracked
    only ``new/`` had, must not hold every message back."""

    SUBFOLDERS = ("tmp", "new", "cur")

    def __init__(self, path: Path):
        self.path = Path(path)
        self.maildir: mailbox.Maildir | None = None

    def __enter__(self) -> MaildirTransport:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def _whole(self) -> mailbox.Maildir:
        for folder in (self.path, *(self.path / sub for sub in self.SUBFOLDERS)):
            if folder.exists() and not folder.is_dir():
                raise TemporaryFailure(
                    f"dossier des messages {self.path} : {folder} est un fichier, pas un dossier ; "
                    "déplacez ce fichier ou choisissez un autre dossier (outbox.maildir dans "
                    "config.yaml)"
                )
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _maildir_failure(self.path, exc) from exc
        return mailbox.Maildir(self.path, create=False)

    def _add(self, data: bytes) -> None:
        """One message at a time in this process: a file's name is the time, the process and a
        counter that ``mailbox`` shares between threads unguarded, so two threads adding at
        once may pick the same name and fail (``ExternalClashError``)."""
        with _ADDING:
            self.maildir.add(data)

    def send(self, message: Composed, before_acceptance: Callable[[], None] = _nothing) -> None:
        before_acceptance()
        if self.maildir is None:
            self.maildir = self._whole()
        try:
            self._add(message.data)
        except FileNotFoundError:  # removed since the batch began: made whole again, once
            self.maildir = self._whole()
            try:
                self._add(message.data)
            except OSError as exc:
                raise _maildir_failure(self.path, exc) from exc
        except OSError as exc:  # disk full, read-only, permissions: may heal, retried
            raise _maildir_failure(self.path, exc) from exc


def _maildir_failure(path: Path, exc: OSError) -> TemporaryFailure:
    return TemporaryFailure(
        f"dossier des messages {path} : {_disk_problem(exc)} ({exc.strerror or exc})"
    )


def _disk_problem(exc: OSError) -> str:
    """What a person can do something about, in French."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "disque plein, libérez de la place"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            "écriture refusée (disque en lecture seule ou droits insuffisants) : donnez le droit "
            "d'écriture à l'utilisateur qui lance Clausier, ou choisissez un autre dossier "
            "(outbox.maildir dans config.yaml)"
        )
    return "écriture impossible"


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)  # dot-stuffing, as smtplib does


class SmtpTransport:
    """One connection per batch, reopened if the server drops it. A server that cannot be
    reached fails the rest of the batch at once: one connection attempt (and its timeout) per
    batch, not one per message.

    ``send`` runs ``before_acceptance`` once the message's data has gone, before the line that
    ends it: the server accepts the message only at that line, and drops it if the connection
    closes first (RFC 5321, 4.1.1.4). The sweep waits there for the previous message's record,
    so that its database round trip overlaps this message's exchange."""

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
            # the end of data goes alone after the record it waited for: unbuffered, or
            # Nagle's algorithm holds it for the server's delayed ACK (40 ms a message)
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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

    def send(self, message: Composed, before_acceptance: Callable[[], None] = _nothing) -> None:
        if self.unreachable is not None:
            raise TemporaryFailure(str(self.unreachable))  # the same cause, not retried now
        if self.connection is None:
            self.connection = self._connect()
        try:
            self._transmit(self.connection, message, before_acceptance)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            if code == 421:  # the server closes the connection
                self._drop()
            raise _classify(smtplib.SMTPResponseException(code, text)) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _classify(exc) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryFailure(f"SMTP : connexion perdue ({exc})") from exc
        except BaseException:
            self._drop()  # before_acceptance failed mid-data: the server drops the message
            raise

    @staticmethod
    def _transmit(
        connection: smtplib.SMTP, message: Composed, before_acceptance: Callable[[], None]
    ) -> None:
        """``sendmail`` for one recipient (with ``send_message``'s options for non-ASCII
        addresses), split before the end of data."""
        data = message.wire()
        connection.ehlo_or_helo_if_needed()
        options: list[str] = []
        if not (message.sender.isascii() and message.to.isascii()):
            if not connection.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("le serveur n'accepte pas SMTPUTF8")
            options += ["SMTPUTF8", "BODY=8BITMIME"]
        if connection.does_esmtp and connection.has_extn("size"):
            options.append(f"size={len(data)}")
        code, reply = connection.mail(message.sender, options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, message.sender)
        code, reply = connection.rcpt(message.to)
        if code not in (250, 251):
            if code != 421:
                connection.rset()  # the connection stays usable for the next message
            raise smtplib.SMTPRecipientsRefused({message.to: (code, reply)})
        code, reply = connection.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = _LEADING_DOT.sub(b"..", data)
        connection.send(body if body.endswith(b"\r\n") else body + b"\r\n")
        before_acceptance()
        connection.send(b".\r\n")
        code, reply = connection.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

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
