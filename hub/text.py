"""Text hygiene shared by every entry point."""

from __future__ import annotations

import re
import unicodedata

_ALLOWED_CONTROLS = {"\n", "\t"}
_DROPPED_CATEGORIES = ("Cc", "Cs")  # control characters, lone surrogates
# What a text column cannot hold (PostgreSQL refuses NUL; a lone surrogate has no UTF-8 form),
# and the other C0 controls, which no address, header or reason should carry.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str | None) -> str:
    """Normalise line endings and NFC, drop control characters, NULs and lone surrogates,
    strip the ends."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        ch
        for ch in text
        if ch in _ALLOWED_CONTROLS or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    return unicodedata.normalize("NFC", text).strip()


def escape_unstorable(text: str) -> str:
    """``text`` with control characters and lone surrogates written as ``\\xNN`` / ``\\uNNNN``:
    storable in any text column, and what was there stays readable."""
    return _UNSTORABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
