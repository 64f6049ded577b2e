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
    ],
    key=len,
    reverse=True,
)
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
_NOT_QUESTION_STARTS = re.compile(
    r"^ (come (da|detto|sempre|al solito|promesso|d'accordo|concordato|anticipato)|"
    r"(when|where|if) (i|we|it|they|he|she) |quando (ho|abbiamo|sono|siamo|provo|clicco|cerco|"
    r"faccio|vado|apro|entro|accedo|metto|inserisco|pago|ordino|è arrivato|è arrivata)|"
    r"che (bello|peccato|schifo|vergogna|disastro)|what a |how (nice|kind|sad|annoying) )"
)

# Kind cues: (kind, regex over the normalised " tok tok " string). At one position the first
# listed wins, so specific phrases precede the bare words they contain.
_T_UNITS = r"(days?|hours?|weeks?|minutes?|months?|years?|working days|business days)"
_WHO_NOUNS = (
    r"(office|team|department|dept|person|people|agent|operator|courier|carrier|company|firm|"
    r"shipper|colleague|manager|staff|contact|supplier|technician|bank|service|representative|"
    r"ufficio|reparto|operatore|operatrice|persona|persone|corriere|corrieri|azienda|società|"
    r"ditta|tecnico|responsabile|referente|collega|dipartimento|banca|fornitore|servizio|"
    r"addetto|numero da chiamare)"
)
_WHERE_NOUNS = (
    r"(address|country|countries|city|store|shop|branch|page|section|menu|tab|link|website|"
    r"site|location|place|warehouse|part of the|folder|screen|settings|indirizzo|paese|paesi|"
    r"nazione|nazioni|città|negozio|negozi|punto vendita|punto ritiro|sede|pagina|sezione|menu|"
    r"menù|link|sito|magazzino|luogo|posto|parte|cartella|schermata|impostazioni|zona|regione)"
)
_WHICH_NOUNS = (
    r"(size|sizes|plan|plans|model|models|colou?rs?|version|versions|option|options|type|types|"
    r"kind|payment method|payment methods|method|methods|product|products|subscription|"
    r"package|tariff|rate|format|one|ones|brand|material|taglia|taglie|modello|modelli|piano|"
    r"piani|colore|colori|versione|versioni|opzione|opzioni|tipo|tipi|formato|abbonamento|"
    r"tariffa|tariffe|metodo|metodi|prodotto|prodotti|misura|misure|marca|materiale|offerta|"
    r"offerte|pacchetto|pacchetti|soluzione)"
)
_CUES: list[tuple[str, re.Pattern]] = [
    (kind, re.compile(rx))
    for kind, rx in (
        ("who", rf" (which|what|whose) {_WHO_NOUNS} "),
        ("who", rf" (quale|quali|qual|che|a quale|con quale|da quale|in quale) {_WHO_NOUNS} "),
        (
            "where",
            rf" (which|what|in which|in what|at which|at what|to which|to what) "
            rf"{_WHERE_NOUNS} ",
        ),
        (
            "where",
            rf" (quale|quali|qual è l'|che|in quale|in che|a quale|a che|da quale|su quale|"
            rf"su che|in quali) {_WHERE_NOUNS} ",
        ),
        ("when", r" (what|which) (time|date|day|days|hour|hours|month|week|year|times) "),
        (
            "when",
            r" (how long|how soon|how late|how early|until when|by when|till when|"
            r"till what time|until what time|opening hours|opening times) ",
        ),
        ("when", rf" how many {_T_UNITS} "),
        (
            "when",
            r" (a che ora|a che ore|che ora|che ore|entro quando|fino a quando|da quando|"
            r"per quando|quanto tempo|in quanto tempo|tra quanto|fra quanto|quanto ci vuole|"
            r"quanto ci vorrà|quanto ci mette|quanto ci metterà|quanto ci mettete|"
            r"quanto impiega|quanto dura|quanto durano|orari|orario|tempi di|tempistiche|"
            r"tempistica) ",
        ),
        ("when", r" (quanti|quante) (giorni|mesi|minuti|anni|ore|settimane|giorni lavorativi) "),
        (
            "when",
            r" (che|quale|quali|in che|in quale|entro che|entro quale) (giorno|giorni|data|"
            r"date|ora|ore|mese|settimana|orario|orari) ",
        ),
        ("when", r" (are you|is it|is the \w+|is your \w+) (open|closed) "),
        ("when", r" (siete|è|sono) (aperti|aperto|aperta|chiusi|chiuso|chiusa) "),
        (
            "why",
            r" (how come|what's the reason|what is the reason|the reason for|the reason why|"
            r"for what reason|what caused|reason) ",
        ),
        (
            "why",
            r" (come mai|per quale motivo|per quale ragione|per che motivo|il motivo|"
            r"la ragione|qual è il motivo|motivo|cause|causa) ",
        ),
        (
            "what",
            r" (how much|how many|quanto costa|quanto costano|quanto viene|quanto vengono|"
            r"quanto pago|quanto devo|quanto si paga|quanto spendo) ",
        ),
        ("which", rf" (which|what) {_WHICH_NOUNS} "),
        ("which", rf" (quale|quali|qual|che) {_WHICH_NOUNS} "),
        (
            "how",
            r" (cosa devo fare|che devo fare|cosa dobbiamo fare|cosa bisogna fare|cosa si fa|"
            r"what do i do|what should i do|what do i need to do|what do we do|"
            r"what should we do|what's the procedure|what is the procedure|what are the steps|"
            r"in che modo|in quale modo|in what way|what steps|che procedura|"
            r"qual è la procedura) ",
        ),
        ("who", r" (who|whom|whose|who's|chi|a chi|con chi|da chi|di chi) "),
        ("where", r" (where|where's|wherever|dove|dov'è|da dove|dov'e) "),
        ("when", r" (when|quando) "),
        ("why", r" (why|perché|perchè|x) "),
        (
            "which",
            r" (which|quale|quali|qual|better|meglio|conviene|recommend|recommended|"
            r"consigliate|consigli|consigliereste|consigliate|suggest|suggerite|"
            r"prefer|preferable|preferibile) ",
        ),
        (
            "how",
            r" (how|come faccio|come posso|come devo|come si|come fare|come fa|come funziona|"
            r"come procedo|come procedere|come bisogna|come) ",
        ),
        ("what", r" (what|what's|cosa|che cosa|quanto|quanta|quanti|quante) "),
    )
]
# Cues that only count at the very start of the head (too common mid-sentence).
_START_ONLY = frozenset(["how"])  # the bare Italian "come" is filtered below
_YESNO_HOW = re.compile(
    r"^ (can|could|may|do|should|must) (i|we) |^ (is|would) it (be )?(possible|ok|okay) |"
    r"^ (can|could|would|will) you |^ do (i|we) (need|have) to |^ (is|are) there a way |"
    r"^ (posso|possiamo|potrei|potremmo|si può|si puo|è possibile|e possibile|è fattibile|"
    r"devo|dobbiamo|bisogna|serve|potete|potreste|puoi|può|riuscite|riesco|riuscireste|"
    r"c'è modo|c'è un modo|ci sono modi|è necessario) "
)
_CHOICE = re.compile(r" (or|o|oppure|or rather|or else) \S")
_SUBORDINATE_AFTER = re.compile(
    r" (when|where|if|quando|se) (i|we|it|they|he|she|ho|abbiamo|provo|clicco|cerco|faccio|vado|"
    r"apro|entro|accedo|metto|inserisco|pago|ordino) "
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
    changed = True
    while changed:
        changed = False
        for lead in _INDIRECT:
            if norm.startswith(" " + lead + " "):
                norm = norm[len(lead) + 1 :]
                indirect = True
                changed = True
                break
        else:
            for lead in _LEADS:
                if norm.startswith(" " + lead + " ") and len(norm) > len(lead) + 3:
                    norm = norm[len(lead) + 1 :]
                    changed = True
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
    return False


def kind_of(sentence: str) -> tuple[str, float]:
    """(kind, confidence) of one question sentence, by rules."""
    head, _ = strip_lead(normalise(sentence))
    best: tuple[int, int, str] | None = None
    for order, (kind, rx) in enumerate(_CUES):
        for m in rx.finditer(head):
            pos = m.start()
            word = m.group(0).strip()
            if word == "come" and pos > 0:
                continue
            if (
                kind == "how"
                and word == "how"
                and pos > 0
                and _SUBORDINATE_AFTER.match(head, pos - 1)
            ):
                continue
            if pos > 0 and _SUBORDINATE_AFTER.match(head, pos):
                continue
            if word in ("x",) and pos > 0:
                continue
            if best is None or (pos, order) < best[:2]:
                best = (pos, order, kind)
            break
    choice = bool(_CHOICE.search(head))
    yesno_how = _YESNO_HOW.match(head)
    if best is not None and best[0] == 0:
        kind = best[2]
        if kind in ("how", "what") and choice and not head.startswith((" how ", " come ")):
            return "which", 0.7
        return kind, 0.9
    if yesno_how:
        if (
            best is not None
            and best[2] in ("who", "when", "where", "why", "which")
            and (best[0] <= 25)
        ):
            return best[2], 0.7
        if choice:
            return "which", 0.7
        return "how", 0.75
    if best is not None:
        return best[2], 0.7
    if choice:
        return "which", 0.6
    return "what", 0.5


def classify(sentence: str) -> tuple[str, float]:
    """(kind, confidence) of one question sentence: the public classifier."""
    return kind_of(sentence)


def find_questions(text: str) -> list[tuple[str, str, float]]:
    """[(question sentence, kind, confidence)] in message order."""
    out = []
    for sentence in sentences(text):
        if is_question(sentence):
            kind, conf = classify(sentence)
            out.append((sentence, kind, conf))
    return out
