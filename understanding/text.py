"""Text plumbing shared by the analysers: sanitising, normalising, tokens, sentences.

Everything here is pure, deterministic and linear in the input (no backtracking regexes).
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 5000  # longer texts are truncated: the first screen of a message carries its intent

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+", re.UNICODE)

# SMS / chat spellings -> the written form (Italian and English). Applied token by token.
SMS = {
    # Italian
    "nn": "non",
    "n": "non",
    "xké": "perché",
    "xke": "perché",
    "xchè": "perché",
    "xché": "perché",
    "xche": "perché",
    "perchè": "perché",
    "perche": "perché",
    "pk": "perché",
    "pke": "perché",
    "cmq": "comunque",
    "ke": "che",
    "ki": "chi",
    "xk": "perché",
    "xkè": "perché",
    "anke": "anche",
    "kosa": "cosa",
    "cs": "cosa",
    "qualke": "qualche",
    "kome": "come",
    "qdo": "quando",
    "k": "che",
    "qnd": "quando",
    "qndo": "quando",
    "qnt": "quanto",
    "qlc": "qualche",
    "qlcs": "qualcosa",
    "dv": "dove",
    "dp": "dopo",
    "x": "per",
    "sn": "sono",
    "tt": "tutto",
    "grz": "grazie",
    "nulla": "nulla",
    "cm": "come",
    "dove'": "dove",
    "qual'è": "qual è",
    "quà": "qua",
    "po": "può",
    "puo": "può",
    "pò": "può",
    "e'": "è",
    # English
    "u": "you",
    "ur": "your",
    "r": "are",
    "y": "why",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "ty": "thanks",
    "wat": "what",
    "wot": "what",
    "wht": "what",
    "whn": "when",
    "wen": "when",
    "hw": "how",
    "cud": "could",
    "cn": "can",
    "abt": "about",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "2day": "today",
    "2morrow": "tomorrow",
    "im": "i'm",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "isnt": "isn't",
    "whats": "what's",
    "wheres": "where's",
    "whos": "who's",
    "hows": "how's",
    "ppl": "people",
    "msg": "message",
    "b4": "before",
    "wanna": "want to",
    "gonna": "going to",
}


def sanitise(text: object) -> str:
    """Any input -> a bounded, encodable str without control characters (never raises)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    # Lone surrogates cannot be encoded: replace them.
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = _CONTROL.sub(" ", text)
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lowercase with typographic quotes/apostrophes unified (accents kept)."""
    return (
        text.lower()
        .replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("`", "'")
        .replace("\u00b4", "'")
    )


def strip_urls(text: str) -> str:
    """Links and e-mail addresses say nothing about language or intent (each regex only runs
    when its marker is present, so a long run of letters costs nothing)."""
    low = text.lower()
    if "://" in low or "www." in low:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _EMAIL.sub(" ", text)
    return text


_ELIDED = frozenset(
    ["l", "un", "dell", "all", "nell", "dall", "sull", "quell", "d", "s", "n", "m", "t", "v", "c"]
)
_KEEP_ELIDED = frozenset(
    ["c'è", "c'e", "c'era", "c'erano", "dov'è", "cos'è", "qual'è", "com'è", "quand'è"]
)


def tokens(text: str) -> list[str]:
    """Lowercased word tokens with SMS spellings expanded and Italian elisions split."""
    out: list[str] = []
    for tok in _WORD.findall(fold(strip_urls(text))):
        if "'" in tok and tok not in _KEEP_ELIDED:
            head, _, rest = tok.partition("'")
            if (head in _ELIDED and head not in ("s", "t", "m", "d")) or head in ("l", "un"):
                out.append(head + "'")
                tok = rest
        exp = SMS.get(tok)
        if exp is None:
            out.append(tok)
        else:
            out.extend(exp.split())
    return out


def normalise(text: str) -> str:
    """A sentence as space-joined normalised tokens, padded with spaces (for ' word ' matching)."""
    return " " + " ".join(tokens(text)) + " "


# --- sentences --------------------------------------------------------------------------------

# A sentence ends at . ! ? … (one or more, with closing quotes/brackets) followed by space, or at
# a line break. Abbreviations and numbers ("3.5", "e.g.") do not end a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?…;])[\"'»)\]]*\s+|\n+|(?<=\?)(?=[^\s?!.])")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|ecc|sig|sigg|dott|dr|mr|mrs|ms|n|nr|no|vs)\.)$", re.I)
_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff\u2b50\u2b55\ufe0f\u200d]+"
)


_STRIP = " \t-\u2013\u2014\u2022*>"


def sentences(text: str) -> list[str]:
    """Split a message into sentences (strip() each; empty ones dropped)."""
    text = _EMOJI.sub(lambda m: "\n" if m.end() < len(text) else " ", text)
    parts: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        piece = text[start : m.start()]
        if _ABBREV.search(piece):
            continue
        parts.append(piece)
        start = m.end()
    parts.append(text[start:])
    return [p.strip(_STRIP) for p in parts if p.strip(_STRIP)]


def words(spec: str) -> list[str]:
    """A word list written as one space-separated string (keeps the lexicons readable)."""
    return spec.split()
