"""Text hygiene shared by every entry point."""

from __future__ import annotations

import unicodedata

_ALLOWED_CONTROLS = {"\n", "\t"}


def clean_text(text: str | None) -> str:
    """Normalise line endings and NFC, drop control characters and NULs, strip the ends."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in _ALLOWED_CONTROLS or unicodedata.category(ch) != "Cc")
    return unicodedata.normalize("NFC", text).strip()
