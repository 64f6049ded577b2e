"""Serving stored attachments, shared by every door that hands one out: the agents' download
(``hub.views``), the signed media URLs Twilio fetches (``channels_sms``) and the signed links
in the chat widget (``channels_chat``).

A signed link carries the attachment's id signed with its door's salt and expires; the
signature is the authorisation (the reader cannot carry a session). Every response is inert on
the hub's origin: ``nosniff`` and a sandboxing CSP, whatever the file claims to be.
"""

from __future__ import annotations

import re

from django.core import signing
from django.http import FileResponse

from hub.models import Attachment

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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
