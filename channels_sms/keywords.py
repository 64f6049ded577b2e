"""Opt-out and opt-in keywords.

Twilio's defaults (its Advanced Opt-Out docs): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
REVOKE, OPTOUT opt out; START, YES, UNSTOP opt back in. Italian equivalents are added for our
first market. As Twilio does, only a message that is the keyword alone counts ("STOP" does,
"please stop the delivery" does not); case, accents, surrounding spaces and punctuation are
ignored ("Stop.", "basta!").
"""

from __future__ import annotations

import string
import unicodedata

OPT_OUT = "opt_out"
OPT_IN = "opt_in"

OPT_OUT_KEYWORDS = frozenset(
    {
        # Twilio
        "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
        # Italian
        "ARRESTA", "BASTA", "CANCELLA", "CANCELLAMI", "DISISCRIVI", "DISISCRIVIMI", "ANNULLA",
    }
)  # fmt: skip
OPT_IN_KEYWORDS = frozenset(
    {
        # Twilio
        "START", "YES", "UNSTOP",
        # Italian
        "ISCRIVI", "ISCRIVIMI", "RIPRENDI", "RIATTIVA", "AVVIA",
    }
)  # fmt: skip

_STRIP = string.whitespace + string.punctuation + "¡¿«»“”\u2018\u2019…"


def normalise_keyword(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.strip(_STRIP).upper().split())


def keyword_action(text: str) -> tuple[str, str] | None:
    """``(OPT_OUT or OPT_IN, keyword)`` when the whole message is such a keyword, else None."""
    if not text or len(text) > 40:
        return None
    keyword = normalise_keyword(text)
    if keyword in OPT_OUT_KEYWORDS:
        return OPT_OUT, keyword
    if keyword in OPT_IN_KEYWORDS:
        return OPT_IN, keyword
    return None
