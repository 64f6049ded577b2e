"""Text normalisation for the consent classifier: what people type in an SMS or WhatsApp message
("nn voglio + ricevere msg pls", "Pleeease STOP!!!") brought to one plain spelling the patterns
can be written against: lower case, no accents, straight apostrophes, letters repeated three or
more times said once, SMS abbreviations and politeness spellings expanded."""

from __future__ import annotations

import re
import unicodedata

# Abbreviations and misspellings, as whole words, after accents are removed.
_WORDS = {
    # Italian
    "nn": "non",
    "+": "piu",
    "nnt": "niente",
    "nt": "niente",
    "x": "per",
    "xfavore": "per favore",
    "xfv": "per favore",
    "pf": "per favore",
    "grz": "grazie",
    "ke": "che",
    "k": "che",
    "cn": "con",
    "mex": "messaggi",
    "mess": "messaggi",
    "msg": "msg",  # English or Italian: both tables know it
    "msgs": "messages",
    "mesaggi": "messaggi",
    "messagi": "messaggi",
    "vs": "vostri",
    "wa": "whatsapp",
    "whatsup": "whatsapp",
    "watsapp": "whatsapp",
    "whatapp": "whatsapp",
    "wapp": "whatsapp",
    "notifice": "notifiche",
    # English
    "pls": "please",
    "plz": "please",
    "pleas": "please",
    "plase": "please",
    "pleae": "please",
    "u": "you",
    "ur": "your",
    "yr": "your",
    "txt": "text",
    "txts": "texts",
    "txting": "texting",
    "texs": "texts",
    "mesages": "messages",
    "messges": "messages",
    "msging": "messaging",
    "dont": "do not",
    "don't": "do not",
    "doesnt": "does not",
    "cant": "can not",
    "can't": "can not",
    "cannot": "can not",
    "won't": "will not",
    "wont": "will not",
    "isn't": "is not",
    "isnt": "is not",
    "aren't": "are not",
    "didn't": "did not",
    "didnt": "did not",
    "im": "i am",
    "i'm": "i am",
    "i'd": "i would",
    "id": "i would",
    "thx": "thanks",
    "ty": "thanks",
    "ta": "thanks",
    "anymore": "any more",
    "no1": "no one",
    "unsubscibe": "unsubscribe",
    "unsubcribe": "unsubscribe",
    "unsuscribe": "unsubscribe",
    "unsubsribe": "unsubscribe",
    "optout": "opt out",
    "opt-out": "opt out",
    "opt-in": "opt in",
    "optin": "opt in",
}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_REPEATS = re.compile(r"([a-z])\1{2,}")
_TOKEN = re.compile(r"[a-z0-9']+|\+")
_PUNCT = re.compile(r"[^a-z0-9'+?!.,;:\s]")


def plain(text: str) -> str:
    """Lower case without accents or emoji, apostrophes straightened, runs of one letter cut."""
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_APOSTROPHES))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    lowered = _PUNCT.sub(" ", stripped.lower())
    return _REPEATS.sub(r"\1", lowered)


def normalise(text: str) -> str:
    """``plain`` with abbreviations expanded, each clause mark kept as its own token: "STOP. I
    never signed up" -> "stop . i never signed up"."""
    out: list[str] = []
    for piece in re.findall(r"[a-z0-9']+|\+|[?!.,;:]", plain(text)):
        word = piece.strip("'")
        out.append(_WORDS.get(word, _WORDS.get(piece, word)) if word else piece)
    return " ".join(part for part in out if part)


def words(text: str) -> list[str]:
    """The normalised words, without punctuation."""
    marks = {"?", "!", ".", ",", ";", ":"}
    return [token for token in normalise(text).split() if token not in marks]
