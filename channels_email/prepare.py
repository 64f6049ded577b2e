"""The CPU-only half of ingesting an email: parse it and work out its content, without Django or
the database, so that ``import_mail`` can run it in worker processes while the main process
writes the results in order (see :mod:`channels_email.importer`).

:func:`prepare_raw_email` never raises: what could not be parsed comes back with the quarantine
code and reason the ingest records. Its result is picklable (no ``email.message`` object in it).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from email.message import Message as MimeMessage
from typing import Any

from channels_email.parsing import ParsedEmail, UnreadableEmail, parse_bytes
from channels_email.quotes import forwarded_message, split_html_reply, split_reply


@dataclass
class EmailContent:
    """What the timeline shows of an email, and the metadata that goes with it."""

    visible: str
    html: str
    # metadata.email, in order, up to and including ``text_truncated``; the ingest adds the
    # source in front and the attachments, reports, raw file and participants after.
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class PreparedEmail:
    parsed: ParsedEmail | None = None
    content: EmailContent | None = None  # None if working it out failed (the ingest retries)
    listing: dict[str, str] = field(default_factory=dict)  # headers for the quarantine list
    error_code: str = ""  # set when the bytes could not be parsed: quarantine them
    error_reason: str = ""
    error_traceback: str = ""


def prepare_raw_email(raw: bytes, max_chars: int) -> PreparedEmail:
    try:
        message, parsed = parse_bytes(raw)
    except UnreadableEmail as exc:
        return PreparedEmail(error_code=exc.code, error_reason=exc.reason)
    except Exception as exc:
        return PreparedEmail(
            error_code="parse_error",
            error_reason=f"{type(exc).__name__}: {exc}",
            error_traceback=traceback.format_exc(),
        )
    return PreparedEmail(
        parsed=parsed, content=_content_or_none(parsed, max_chars), listing=listing_headers(message)
    )


def prepare_many(raws: list[bytes], max_chars: int) -> list[PreparedEmail]:
    """One task of a worker process: a few messages at once (less pickling overhead)."""
    return [prepare_raw_email(raw, max_chars) for raw in raws]


def _content_or_none(parsed: ParsedEmail, max_chars: int) -> EmailContent | None:
    try:
        return email_content(parsed, max_chars)
    except Exception:
        return None  # the ingest runs it again and quarantines with the error


def email_content(parsed: ParsedEmail, max_chars: int) -> EmailContent:
    """Split off quoted history and signature; apply the length limits."""
    parts = split_html_reply(parsed.html) if parsed.text_from_html else split_reply(parsed.text)
    full_text = parsed.text.strip()
    visible = parts.visible or parts.without_quotes or full_text
    html = parsed.html if len(parsed.html) <= max_chars * 4 else ""
    meta: dict[str, Any] = {
        "message_id": parsed.message_id,
        "subject": parsed.subject,
        "from": _format(parsed.from_name, parsed.from_address),
        "to": [_format(*pair) for pair in parsed.to],
        "cc": [_format(*pair) for pair in parsed.cc],
        "reply_to": [_format(*pair) for pair in parsed.reply_to],
        "date": parsed.date.isoformat() if parsed.date else None,
        "in_reply_to": parsed.in_reply_to,
        "references": parsed.references[-20:],
    }
    if full_text and full_text != visible:
        meta["original_text"] = full_text[:max_chars]
    if parts.signature:
        meta["signature"] = parts.signature[:2000]
    if parts.is_forward:
        # The note above a forwarded message is what the person wrote; the forwarded message is
        # kept beside it (the timeline shows it folded, the search reads its text). A forward
        # with no note shows the forwarded message itself.
        forwarded = forwarded_message(parts.forwarded or visible)
        forwarded = {key: value[:500] for key, value in forwarded.items() if key != "text"} | {
            "text": forwarded.get("text", "")[:max_chars],
            "with_note": bool(parts.forwarded),
        }
        meta["forwarded"] = forwarded
    if parsed.auto_reply_reason:
        meta["auto_reply"] = parsed.auto_reply_reason
    if parsed.defects:
        meta["defects"] = parsed.defects[:20]
    if not parsed.message_id:
        meta["message_id_missing"] = True
    if html != parsed.html:
        meta["html_dropped"] = "HTML body longer than the limit; it is kept in the raw message."
    if len(visible) > max_chars:
        visible = visible[:max_chars]
        meta["text_truncated"] = True
    return EmailContent(visible=visible, html=html, meta=meta)


def _format(name: str, address: str) -> str:
    return f"{name} <{address}>" if name else address


def listing_headers(message: MimeMessage | None) -> dict[str, str]:
    """Message-ID, subject and sender as the quarantine list shows them."""
    if message is None:
        return {}
    out = {}
    for field_name, header, size in (
        ("message_id_header", "Message-ID", 255),
        ("subject", "Subject", 500),
        ("sender", "From", 320),
    ):
        try:
            out[field_name] = str(message.get(header) or "").replace("\x00", "")[:size]
        except Exception:
            out[field_name] = ""
    return out
