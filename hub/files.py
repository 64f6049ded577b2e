"""Stored attachment files: written so that a rolled-back transaction leaves none behind, and
served by every door that hands one out: the agents' download (``hub.views``), the signed media
URLs Twilio fetches (``channels_sms``) and the signed links in the chat widget
(``channels_chat``).

A file is written to storage before its ``Attachment`` row, inside the message's transaction.
When that transaction rolls back (a concurrent retry of the same provider message won, a later
step failed) the row is gone but the file would stay: ``atomic_with_files`` deletes the files
written inside it when it rolls back. Nested, the inner block's files go to the outer block on
success, since the outer one may still roll back.

A signed link carries the attachment's id signed with its door's salt and expires; the
signature is the authorisation (the reader cannot carry a session). Every response is inert on
the hub's origin: ``nosniff`` and a sandboxing CSP, whatever the file claims to be.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core import signing
from django.core.files.storage import Storage
from django.db import transaction
from django.http import FileResponse

from hub.models import Attachment

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# The files written inside the innermost ``atomic_with_files`` block of this thread or task.
_written: ContextVar[list[tuple[Storage, str]] | None] = ContextVar(
    "hub_files_written", default=None
)


@contextmanager
def atomic_with_files(using: str | None = None) -> Iterator[None]:
    """``transaction.atomic``, and the files stored inside it (``note_written``) deleted when
    it rolls back. Usable as a decorator."""
    outer = _written.get()
    mine: list[tuple[Storage, str]] = []
    token = _written.set(mine)
    try:
        with transaction.atomic(using=using):
            yield
    except BaseException:
        _delete(mine)
        raise
    finally:
        _written.reset(token)
    if outer is not None:
        outer.extend(mine)


def note_written(storage: Storage, name: str) -> None:
    """``name`` was just written to ``storage`` for a row of the current transaction."""
    written = _written.get()
    if written is not None:
        written.append((storage, name))


def _delete(files: list[tuple[Storage, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception:  # the transaction's own error is the one to report
            logger.warning("could not delete %s after a rollback", name, exc_info=True)


def safe_filename(name: str) -> str:
    """``name`` as a URL path segment (the file keeps its real name in the download)."""
    return _SAFE_NAME.sub("_", name)[:100] or "file"


def sign(attachment: Attachment, salt: str) -> str:
    return signing.dumps(attachment.pk, salt=salt, compress=True)


def signed_id(token: str, salt: str, max_age: int) -> int | None:
    """The attachment id a valid token of ``salt`` names, or None (forged or expired)."""
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # also SignatureExpired
        return None
    return value if isinstance(value, int) else None


def file_response(
    attachment: Attachment,
    *,
    as_attachment: bool = True,
    content_type: str | None = None,
    cache_control: str | None = None,
) -> FileResponse:
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=as_attachment,
        filename=attachment.filename,
        content_type=content_type or attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    if cache_control:
        response["Cache-Control"] = cache_control
    return response
