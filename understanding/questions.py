"""Question sentences and their kind (the type of answer the customer needs).

A sentence is a question when it has a question mark, starts with an interrogative word or an
auxiliary ("can I", "posso", "is it"), or is an indirect question ("vorrei sapere…", "could you
tell me…"). Its kind comes from cues in normalised tokens (SMS spellings expanded): the phrase
that asks ("which office" asks for a who, "a che ora" for a when, "how much" for a what), found
after the polite/indirect lead-in is stripped. Cues at the start of the question win; otherwise the
earliest wh-cue in the sentence ("il pacco quando arriva?"); otherwise yes/no questions are "how"
when they ask about doing something ("can I…", "posso…") and "what" (a fact/status) otherwise.
"""

from __future__ import annotations

import re

from understanding.kinds import kind_of_head
from understanding.text import normalise, sentences, words

# Lead-ins stripped from the start (greetings, fillers, indirect-question frames). Longest first.
_LEADS = sorted(
    [
        "ciao",
        "salve",
        "buongiorno",
        "buonasera",
        "buon pomeriggio",
        "hi",
        "hello",
        "hey",
        "hiya",
        "dear",
        "good morning",
        "good afternoon",
        "good evening",
        "scusate",
        "scusa",
        "scusi",
        "excuse me",
        "sorry",
        "ehm",
        "ehi",
        "allora",
        "ma",
        "e",
        "and",
        "but",
        "so",
        "also",
        "inoltre",
        "quindi",
        "poi",
        "ok",
        "okay",
        "oh",
        "then",
        "anyway",
        "comunque",
        "per favore",
        "per cortesia",
        "please",
        "gentilmente",
        "cortesemente",
        "team",
        "one more thing",
        "un'altra cosa",
        "altra domanda",
        "un'altra domanda",
        "quick question",
        "una domanda",
        "domanda",
        "question",
        "i have a question",
        "ho una domanda",
        "btw",
        "by the way",
        "senti",
        "sentite",
        "guys",
        "ragazzi",
        "hi there",
        "hello there",
        "anche",
    ],
    key=len,
    reverse=True,
)
_INDIRECT = sorted(
    [
        "vorrei sapere",
        "volevo sapere",
        "vorremmo sapere",
        "volevamo sapere",
        "vorrei capire",
        "volevo capire",
        "mi sapete dire",
        "mi sapreste dire",
        "sapreste dirmi",
        "sapete dirmi",
        "mi potete dire",
        "mi potreste dire",
        "potete dirmi",
        "potreste dirmi",
        "mi dite",
        "mi dici",
        "mi dica",
        "ditemi",
        "dimmi",
        "posso sapere",
        "possiamo sapere",
        "si può sapere",
        "è possibile sapere",
        "e possibile sapere",
        "mi chiedevo",
        "mi domandavo",
        "volevo chiedere",
        "vorrei chiedere",
        "chiedo",
        "vi chiedo",
        "non capisco",
        "non ho capito",
        "non riesco a capire",
        "mi spiegate",
        "mi spieghi",
        "spiegatemi",
        "fatemi sapere",
        "mi fate sapere",
        "fammi sapere",
        "mi fai sapere",
        "mi confermate",
        "confermatemi",
        "sapete",
        "sai",
        "avrei bisogno di sapere",
        "ho bisogno di sapere",
        "devo sapere",
        "mi serve sapere",
        "vorrei informazioni su",
        "vorrei un'informazione",
        "un'informazione",
        "un informazione",
        "i'd like to know",
        "i would like to know",
        "i want to know",
        "i wanted to know",
        "i need to know",
        "i'd like to ask",
        "i would like to ask",
        "i wanted to ask",
        "i want to ask",
        "could you tell me",
        "can you tell me",
        "would you tell me",
        "could you let me know",
        "can you let me know",
        "please let me know",
        "let me know",
        "could you please tell me",
        "can you please tell me",
        "could you explain",
        "can you explain",
        "please explain",
        "could you confirm",
        "can you confirm",
        "please confirm",
        "could you check",
        "can you check",
        "i was wondering",
        "i'm wondering",
        "i am wondering",
        "i wonder",
        "wondering",
        "do you know",
        "any idea",
        "tell me",
        "please tell me",
        "may i ask",
        "can i ask",
        "could i ask",
        "i don't understand",
        "i do not understand",
        "i can't understand",
        "can i know",
        "could i know",
        "may i know",
        "is it possible to know",
        "i'd like to understand",
        "i need to understand",
        "can somebody tell me",
        "can someone tell me",
        "could someone tell me",
        "anyone know",
        "does anyone know",
        "i'd like some information about",
        "some info about",
        "info on",
        "volevo solo sapere",
        "vorrei solo sapere",
        "volevo solamente sapere",
        "i just wanted to know",
        "just wanted to know",
        "i just want to know",
        "just want to know",
        "i'd just like to know",
        "i just need to know",
        "could you please let me know",
        "can you please let me know",
        *[
            "don't get",
            "do not get",
            "mi date",
            "mi dai",
            "mi dareste",
            "mi potete dare",
            "can you give me",
        ],
        "could you give me",
    ],
    key=len,
    reverse=True,
)
_INDIRECT_START = re.compile(r" (?:" + "|".join(re.escape(x) for x in _INDIRECT) + r") ")
_LEAD_START = re.compile(r" (?:" + "|".join(re.escape(x) for x in _LEADS) + r") ")
_INDIRECT_ANYWHERE = re.compile(
    r" (" + "|".join(re.escape(x) for x in _INDIRECT if " " in x) + r") "
)

# Words that open a direct question (checked on the stripped head).
_OPENERS = frozenset(
    words(
        "who whom whose what what's which when where where's why how how's is are am was were do "
        "does did can could would will should may might shall have has had isn't aren't doesn't "
        "don't didn't can't won't wouldn't couldn't shouldn't haven't hasn't chi cosa che quando "
        "dove dov'è perché come quale quali qual quanto quanta quanti quante posso possiamo "
        "potete potreste può puoi riuscite riesco si c'è ci avete hai è sono siete devo dobbiamo "
        "bisogna serve"
    )
)
# Openers that are also common statement starts: they need a "?" to count.
_WEAK_OPENERS = frozenset(
    words(
        "is are am was were do does did have has had will would should may might shall si ci è "
        "sono hai avete che serve bisogna devo dobbiamo can could"
    )
)
# Question openings that need no "?" (SMS and chat often drop it): an inverted auxiliary,
# "can I/si può", the shop's services in the 2nd person plural, a preposition + wh-word.
_QUESTION_START = re.compile(
    r"^ (?:is|are|isn't|aren't|do|does|did|have you|has it|has my|has the|will it|will my|"
    r"will you|will the|would it|can i|could i|may i|can we|could we|should i|shall i|"
    r"si può|si puo|spedite|consegnate|accettate|vendete|arrivate|"
    r"(?:a|con|da|di|per|in|su|fino a|entro|to|from|with|for|at|on) (?:chi|che|cosa|quale|"
    r"quali|quanto|quanta|quanti|quante|quando|dove|who|whom|what|which|when|where|how)) "
)
_NOT_QUESTION_STARTS = re.compile(
    r"^ (do not |does not |per quanto (?:riguarda|mi riguarda) |"
    r"come (da|detto|sempre|al solito|promesso|d'accordo|concordato|anticipato)|"
    r"(when|where|if) (i|we|it|they|he|she) |quando (ho|abbiamo|sono|siamo|provo|clicco|cerco|"
    r"faccio|vado|apro|entro|accedo|metto|inserisco|pago|ordino|è arrivato|è arrivata)|"
    r"che (bello|peccato|schifo|vergogna|disastro)|what a |how (nice|kind|sad|annoying) )"
)


def strip_lead(norm: str) -> tuple[str, bool]:
    """Strip greetings/fillers and indirect frames from the start; (head, was_indirect).

    A multi-word indirect frame later in the sentence ("non sono arrabbiato, volevo solo sapere
    quando…") also starts the head.
    """
    indirect = False
    m = _INDIRECT_ANYWHERE.search(norm)
    if m is not None and m.start() > 0:
        norm = norm[m.end() - 1 :]
        indirect = True
    for _ in range(8):  # a few stacked lead-ins at most ("ciao, scusate, vorrei sapere…")
        m = _INDIRECT_START.match(norm)
        if m is not None:
            norm = norm[m.end() - 1 :]
            indirect = True
            continue
        m = _LEAD_START.match(norm)
        if m is not None and len(norm) > m.end() + 1:
            norm = norm[m.end() - 1 :]
            continue
        break
    # "if/se/whether" after an indirect frame: "vorrei sapere se…" is a yes/no question.
    for conj in (" se ", " if ", " whether "):
        if indirect and norm.startswith(conj):
            norm = norm[len(conj) - 1 :]
    return norm, indirect


def is_question(sentence: str) -> bool:
    if "?" in sentence and any(ch.isalnum() for ch in sentence):
        return True
    norm = normalise(sentence)
    head, indirect = strip_lead(norm)
    if indirect and len(head.split()) >= 1:
        return True
    first = head.split(" ", 2)[1] if head.strip() else ""
    if first in _OPENERS and first not in _WEAK_OPENERS:
        return not _NOT_QUESTION_STARTS.match(head)
    return bool(_QUESTION_START.match(head)) and not _NOT_QUESTION_STARTS.match(head)


def kind_of(sentence: str) -> tuple[str, float]:
    """(kind, confidence) of one question sentence, by rules (understanding.kinds)."""
    head, indirect = strip_lead(normalise(sentence))
    return kind_of_head(head, indirect)


def classify(sentence: str) -> tuple[str, float]:
    """(kind, confidence) of one question sentence: the public classifier."""
    return kind_of(sentence)


MAX_SENTENCES = 60  # a longer text is a document, not a message: its first screen is enough


def find_questions(text: str) -> list[tuple[str, str, float]]:
    """[(question sentence, kind, confidence)] in message order."""
    out = []
    for sentence in sentences(text)[:MAX_SENTENCES]:
        if is_question(sentence):
            kind, conf = classify(sentence)
            out.append((sentence, kind, conf))
    return out
