"""Is this inbound SMS/WhatsApp message an opt-out or an opt-in? Italian and English.

Rules, not a model: every decision names the rule that made it, and a false opt-out (silencing a
customer who asked about their mixer) costs more than a miss, which an agent can still catch.

1. A keyword alone, or nearly alone ("STOP", "sotp", "unsubscribe please", "STOP STOP",
   "stop promo"): sure.
2. A phrase that names both the wish and what it is about: a verb of stopping or removing and an
   object of consent (texts, messages, notifications, promos, "me", "this number", "your list"),
   "basta messaggi", "toglietemi dai vostri contatti", "send me updates again": sure.
3. Unsure (the message goes to an agent with a suggestion): a question about how to opt out, a
   partial request ("no more promos but keep the delivery updates"), another channel named (the
   email newsletter, calls), a retraction ("... no wait"), a statement ("not interested in your
   offers", "this isn't my number any more"), a bare "basta"/"si" that depends on the previous
   message.
4. Anything else is ``none``: "stop" about a mixer, "cancel" about an order, "remove" about a
   basket item never matches rule 2, whose objects are only those of consent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consent.normalise import normalise, plain
from consent.patterns import (
    IN_SURE,
    IN_UNSURE,
    NEGATED_OUT,
    OTHER_CHANNEL,
    OUT_SURE,
    OUT_UNSURE,
    PARTIAL,
    QUESTION_HOW,
    RETRACT,
)

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
NONE = "none"

SURE = 0.95
UNSURE = 0.6


@dataclass(frozen=True)
class Decision:
    intent: str  # OPT_OUT, OPT_IN or NONE
    sure: bool
    confidence: float
    rule: str = ""

    @property
    def acts(self) -> bool:
        """Whether the decision may change consent without an agent."""
        return self.sure and self.intent != NONE


NOTHING = Decision(NONE, True, 0.0, "")

# --- keywords -------------------------------------------------------------------------------

OUT_KEYWORDS = {
    "stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "opt out",
    "remove me", "take me off", "unsubscribe me",
    "arresta", "basta", "cancella", "cancellami", "disiscrivi", "disiscrivimi", "disiscrivere",
    "annulla", "rimuovimi", "toglimi",
}  # fmt: skip
IN_KEYWORDS = {
    "start", "yes", "unstop", "subscribe", "resubscribe", "opt in",
    "iscrivi", "iscrivimi", "riprendi", "riattiva", "avvia",
}  # fmt: skip
# Typos are accepted only for these (a one-letter slip on "end" or "yes" is another word).
TYPO_KEYWORDS = {"stop": OPT_OUT, "unsubscribe": OPT_OUT, "arresta": OPT_OUT, "start": OPT_IN,
                 "unstop": OPT_IN, "disiscrivimi": OPT_OUT, "cancellami": OPT_OUT}  # fmt: skip
POLITE = {
    "please", "thanks", "thank", "you", "ok", "okay", "now", "hi", "hello", "pls", "kindly",
    "grazie", "per", "favore", "cortesia", "ciao", "salve", "buongiorno", "buonasera", "mille",
    "gentilmente", "subito", "immediately", "asap", "me", "mi", "all", "tutto", "again",
}  # fmt: skip
KEYWORD_OBJECTS = {
    "promo", "promos", "promozioni", "sms", "messaggi", "messages", "texts", "text", "offerte",
    "offers", "pubblicita", "pubblicitari", "marketing", "notifiche", "notifications", "spam",
    "whatsapp", "alerts", "avvisi",
}  # fmt: skip
# Ambiguous alone: they answer the previous message.
BARE_OUT = {
    "enough",
    "smettete",
    "quit it",
    "stop it",
    "smettetela",
    "smettila",
    "basta cosi",
    "enough already",
}
BARE_IN = {"si", "sure"}


def _damerau(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def _typo_of(word: str) -> str | None:
    """The keyword ``word`` is a slip of: short ones only by a swap or a doubled letter ("sotp",
    "stopp"), long ones by one edit (two from ten letters)."""
    for keyword, intent in TYPO_KEYWORDS.items():
        if word == keyword or abs(len(word) - len(keyword)) > 2:
            continue
        if len(keyword) <= 5:
            swapped = len(word) == len(keyword) and sorted(word) == sorted(keyword)
            doubled = re.sub(r"(.)\1", r"\1", word) == keyword
            if (swapped and _damerau(word, keyword) == 1) or doubled:
                return intent
        elif _damerau(word, keyword) <= (2 if len(keyword) >= 10 else 1):
            return intent
    return None


def _keyword_intent(word: str) -> str | None:
    if word in OUT_KEYWORDS:
        return OPT_OUT
    if word in IN_KEYWORDS:
        return OPT_IN
    return _typo_of(word)


def keyword_decision(text: str) -> Decision | None:
    """Rule 1: the message is a keyword, repeated or with politeness words or an object."""
    tokens = [t for t in normalise(text).split() if t not in {"?", "!", ".", ",", ";", ":"}]
    joined = " ".join(tokens)
    if not tokens or len(tokens) > 6:
        return None
    for phrase in ("stop all", "opt out", "opt in", "remove me", "take me off", "unsubscribe me"):
        joined = joined.replace(phrase, phrase.replace(" ", "_"))
    content = [t.replace("_", " ") for t in joined.split() if t not in POLITE]
    intents = {_keyword_intent(t) for t in content if t not in KEYWORD_OBJECTS}
    if not content or None in intents or len(intents) != 1:
        return None
    intent = intents.pop()
    if intent == OPT_IN and any(t in KEYWORD_OBJECTS for t in content) and len(content) > 2:
        return None
    if intent == OPT_IN and content == ["yes"] and len(tokens) > 1:
        return None  # "yes please" answers something else
    return Decision(intent, True, SURE, "keyword")


# --- phrases ----------------------------------------------------------------------------------

NUMBER_CHANGED = {"en_not_my_number", "it_non_mio"}

_OUT = [(name, re.compile(pattern)) for name, pattern in OUT_SURE]
_IN = [(name, re.compile(pattern)) for name, pattern in IN_SURE]
_OUT_UNSURE = [(name, re.compile(pattern)) for name, pattern in OUT_UNSURE]
_IN_UNSURE = [(name, re.compile(pattern)) for name, pattern in IN_UNSURE]


def _first(patterns, text: str) -> str | None:
    return next((name for name, pattern in patterns if pattern.search(text)), None)


def _leading_keyword(text: str) -> Decision | None:
    """ "STOP. I never signed up for this": a keyword as the whole first clause, then a sentence
    about consent (never about a photo or an order: "stop! wrong colour" is not an opt-out)."""
    match = re.match(r"^(\w+(?: \w+)?)\s*[.!]+\s*(.+)$", text)
    if match is None:
        return None
    keyword = keyword_decision(match.group(1))
    if keyword is None or keyword.intent != OPT_OUT:
        return None
    rest = match.group(2)
    if re.search(
        r"\b(?:signed up|subscribed|asked|consen\w*|detto|told|iscritt\w|chiesto|ricever\w*|"
        r"ricevo|number|numero|spam|messages|messaggi|texts|sms)\b",
        rest,
    ):
        return Decision(OPT_OUT, True, SURE, "keyword_then_reason")
    return Decision(OPT_OUT, False, UNSURE, "keyword_then_other")


# A longer message is a conversation an agent reads: only its start is looked at, and a match
# there is only a suggestion (this also bounds the time the patterns take).
MAX_CHARS = 1000


def classify(text: str) -> Decision:
    """The message's consent intent, with how sure and by which rule."""
    text = text or ""
    if len(text) > MAX_CHARS:
        found = _classify(text[:MAX_CHARS])
        if found.intent == NONE:
            return found
        return Decision(found.intent, False, UNSURE, f"{found.rule}+long")
    return _classify(text)


def _classify(text: str) -> Decision:
    normal = normalise(text)
    if not normal:
        return NOTHING
    flat = re.sub(r"\s*[?!.,;:]\s*", " ", normal).strip()
    flat = " ".join(w for w in flat.split() if w not in POLITE or w in {"ok", "me", "mi"}) or flat
    if flat in BARE_OUT:
        return Decision(OPT_OUT, False, UNSURE, "bare_word")
    if flat in BARE_IN:
        return Decision(OPT_IN, False, UNSURE, "bare_word")
    keyword = keyword_decision(text)
    if keyword is not None:
        return keyword
    opt_in = _first(_IN, normal)
    opt_out = _first(_OUT, normal)
    if opt_out is None and NEGATED_OUT.search(normal) is None:
        leading = _leading_keyword(normal)
        if leading is not None and opt_in is None:
            return leading
    if NEGATED_OUT.search(normal):
        opt_out = None
    doubt = _doubt(normal)
    if opt_in is not None and (opt_out is None or opt_in in {"en_by_mistake", "it_per_sbaglio"}):
        if doubt in {"other_channel", "retracted"}:
            return Decision(OPT_IN, False, UNSURE, f"{opt_in}+{doubt}")
        return Decision(OPT_IN, True, SURE, opt_in)
    if opt_out is not None:
        if opt_in is not None:
            return Decision(OPT_OUT, False, UNSURE, f"{opt_out}+{opt_in}")
        if doubt is not None:
            return Decision(OPT_OUT, False, UNSURE, f"{opt_out}+{doubt}")
        return Decision(OPT_OUT, True, SURE, opt_out)
    unsure_out = _first(_OUT_UNSURE, normal)
    other_channel = OTHER_CHANNEL.search(normal) is not None
    if unsure_out is not None and (unsure_out in NUMBER_CHANGED or not other_channel):
        return Decision(OPT_OUT, False, UNSURE, unsure_out)
    unsure_in = _first(_IN_UNSURE, normal)
    if unsure_in is not None and not OTHER_CHANNEL.search(normal):
        return Decision(OPT_IN, False, UNSURE, unsure_in)
    return NOTHING


def _doubt(normal: str) -> str | None:
    """Why a matching message is still not sure enough to act on without an agent."""
    if OTHER_CHANNEL.search(normal):
        return "other_channel"  # even with "texts" named: "newsletter yes, texts are fine"
    if RETRACT.search(normal):
        return "retracted"
    if QUESTION_HOW.search(normal):
        return "question"
    if PARTIAL.search(normal):
        return "partial"
    return None


def is_plain_keyword(text: str) -> bool:
    """Whether the message is only a keyword (Twilio answers those itself on SMS)."""
    return plain(text).strip(" .!?").upper() in {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "START",
        "YES",
        "UNSTOP",
    }
