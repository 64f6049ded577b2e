"""The kind of one question: the type of answer the customer needs (rules).

Applied to the *head* of the question (normalised tokens, SMS spellings expanded, the greeting and
the indirect frame "vorrei sapere…"/"could you tell me…" stripped), in this order:

1. listed alternatives ("BRT o GLS?", "you or the courier?") -> which;
2. an interrogative determiner with a noun decides by the noun's type: "which office" -> who,
   "what's the address" -> where, "che giorno" -> when, "what size" -> which;
3. a question phrase at the start ("a che ora", "how long", "how much", "come mai", "why");
4. the earliest question phrase later in the sentence ("il pacco quando arriva?"), except
   subordinate ones ("when I log in…");
5. yes/no questions take the kind of what would settle them: doing something ("can I", "posso",
   "any way to") -> how; coverage ("do you ship to", "consegnate a") -> where; a time ("today",
   "entro Natale", "open") -> when; a party ("is there someone") -> who; otherwise a fact -> what.
"""

from __future__ import annotations

import re

from understanding.text import words


def _alt(spec: str) -> str:
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", " ") for w in spec.split("|")) + ")"


WHO_NOUNS = _alt(
    "office|offices|team|department|dept|person|people|agent|agents|operator|courier|couriers|"
    "carrier|carriers|company|companies|firm|shipper|colleague|manager|supervisor|staff|"
    "supplier|technician|engineer|bank|representative|body|authority|organisation|organization|"
    "ufficio|uffici|reparto|operatore|operatrice|persona|persone|corriere|corrieri|vettore|"
    "azienda|società|ditta|tecnico|tecnici|responsabile|referente|collega|dipartimento|"
    "fornitore|addetto|ente|amministrazione|call center|call centre|manufacturer|maker|"
    "producer|seller|vendor|retailer|reseller|dealer|employee|driver|delivery man|postman|"
    "rider|shop assistant|salesperson|owner|founder|director|ceo|president|leader|king|queen|"
    "ruler|actor|actress|author|writer|composer|singer|artist|inventor|player|doctor|lawyer|"
    "produttore|fabbricante|venditore|venditori|rivenditore|rivenditori|commesso|commessa|"
    "impiegato|impiegata|autista|fattorino|postino|titolare|proprietario|direttore|capo|"
    "presidente|medico|avvocato|installatore|centro assistenza"
)
WHERE_NOUNS = _alt(
    "address|addresses|country|countries|city|cities|town|store|stores|shop|shops|branch|page|"
    "section|menu|tab|link|website|site|location|locations|place|places|warehouse|folder|screen|"
    "settings|post office|side|area|areas|region|pickup point|pick-up point|drop-off point|"
    "counter|locker|indirizzo|indirizzi|paese|paesi|nazione|nazioni|città|negozio|negozi|"
    "punto vendita|punto ritiro|punti ritiro|ufficio postale|sede|sedi|pagina|sezione|menù|"
    "sito|magazzino|luogo|posto|parte|lato|cartella|schermata|impostazioni|zona|zone|regione|"
    "cassetto|comune|provincia|county|state|states|continent|capital|island|islands|street|"
    "road|building|floor|room|port|airport|station|village|hemisphere|ocean|sea|lake|river|"
    "mountain|park|hotel|restaurant|mall|centre|center|door|entrance|exit|button|corner|shelf|"
    "aisle|via|strada|piano|stanza|porta|ingresso|uscita|stazione|aeroporto|porto|isola|isole|"
    "lago|mare|fiume|quartiere|edificio|palazzo|scaffale|bottone|tasto|angolo|stato|stati"
)
WHEN_NOUNS = _alt(
    "time|times|date|dates|day|days|hour|hours|month|months|week|weeks|year|period|moment|"
    "deadline|orario|orari|ora|ore|giorno|giorni|data|mese|mesi|settimana|settimane|periodo|"
    "momento|scadenza|fascia oraria"
)
WHICH_NOUNS = _alt(
    "size|sizes|plan|plans|model|models|colour|colours|color|colors|version|versions|option|"
    "options|payment method|payment methods|delivery method|method|methods|product|products|"
    "subscription|package|tariff|format|one|ones|brand|filter|filters|descaler|browser|language|"
    "jug|kettle|blender|mixer|machine|air fryer|accessory|accessories|bundle|offer|promo|"
    "taglia|taglie|modello|modelli|piano|piani|colore|colori|versione|versioni|opzione|opzioni|"
    "metodo|metodi|prodotto|prodotti|abbonamento|tariffa|formato|marca|filtro|filtri|"
    "decalcificante|lingua|caraffa|caraffe|bollitore|frullatore|macchina|macchinetta|friggitrice|"
    "accessorio|accessori|offerta|offerte|pacchetto|soluzione|confezione"
)
_DET = (
    r"(?:which|what|what's|what are|what is|whats|quale|quali|qual|qual è|quale è|che|"
    r"in quale|in che|a quale|a che|da quale|su quale|su che|con quale|per quale|di quale|"
    r"in which|in what|at which|at what|to which|to what|from which|from what|on which|on what)"
)
_ART = (
    r"(?: (?:the|a|an|your|my|il|lo|la|l'|i|gli|le|un|una|vostro|vostra|mio|mia))?"
    r"(?: (?!(?:is|are|do|does|did|can|è|sono)\b)\S+){0,2}?"
)

# Listed alternatives; the second option must not open a clause (a polar alternative).
_LISTED = re.compile(
    r" (?:or|o|oppure) (?!(?:not|no|non|something|qualcosa|cosa|what|do|does|did|is|are|was|"
    r"will|would|can|could|should|have|has|i|you|we|it|they|lo|la|li|le|devo|è|sono|mi|ci|si|"
    r"pago|posso|faccio|ne|meno|less|more|never|anything|altro|else|whatever|so|siete|sei|"
    r"are|am|does|did|va|vanno) )\S"
)
_NOUN_TYPED = [
    (
        "who",
        re.compile(
            rf" (?:name|nome|contact|contatto|number|numero) (?:of the|of a|of|del|della|"
            rf"dell'|di un|di una|dello) {WHO_NOUNS} "
        ),
    ),
    ("where", re.compile(rf" {_DET}{_ART} {WHERE_NOUNS} ")),
    ("who", re.compile(rf" {_DET}{_ART} {WHO_NOUNS} ")),
    ("when", re.compile(rf" {_DET}{_ART} {WHEN_NOUNS} ")),
    ("which", re.compile(rf" {_DET}{_ART} {WHICH_NOUNS} ")),
]

_PHRASES: list[tuple[str, str]] = [
    (
        "when",
        "how long|how soon|how often|how late|how early|until when|by when|till when|"
        "until what|till what|opening hours|opening times|how far in advance|how many days|"
        "how many hours|how many weeks|how many months|how many minutes|how many working days|"
        "a che ora|a che ore|che ora|che ore|entro quando|fino a quando|da quando|per quando|"
        "quanto tempo|in quanto tempo|tra quanto|fra quanto|quanto ci vuole|quanto ci vorrà|"
        "quanto ci mette|quanto ci metterà|quanto ci mettete|quanto ci mettono|quanto impiega|"
        "quanto impiegate|ogni quanto|ogni quanti|ogni quanto tempo|con che frequenza|"
        "quanti giorni|"
        "quante ore|quante settimane|quanti mesi|quanti minuti|tempi di|tempistiche|tempistica|"
        "orari|orario",
    ),
    (
        "why",
        "how come|what's the reason|what is the reason|the reason for|the reason why|"
        "for what reason|what causes|what caused|what's causing|what is causing|reason|"
        "what happened|what's happened|what's holding|holding it up|what's wrong|what is wrong|"
        "what went wrong|am i doing something wrong|what's the point|due to|"
        "come mai|per quale motivo|per quale ragione|per che motivo|il motivo|la ragione|motivo|"
        "a cosa è dovuto|a cosa e dovuto|a cosa sono dovuti|dovuto a|cosa è successo|"
        "cos'è successo|che è successo|sbaglio qualcosa|cosa sbaglio|causa|cause",
    ),
    (
        "what",
        "how much|how many|quanto costa|quanto costano|quanto viene|quanto vengono|"
        "quanto pago|quanto si paga|quanto spendo|quanto è|quanti punti|quanto rimborsate|"
        "qual è|quale è|qual'è|a che punto",
    ),
    ("where", "in che punto|in quale punto|in which part|in what part|whereabouts"),
    (
        "how",
        "somehow|in some way|in qualche modo|what do i do|what should i do|"
        "what do i need to do|what do we do|what should we do|"
        "what's the procedure|what is the procedure|what are the steps|what steps|in what way|"
        "cosa devo fare|che devo fare|cosa dobbiamo fare|cosa bisogna fare|cosa si fa|"
        "cosa faccio|che faccio|in che modo|in quale modo|che procedura|qual è la procedura|"
        "come faccio|come posso|come devo|come si|come fare|come funziona|come procedo|"
        "come procedere|come bisogna|come arrivo|how far",
    ),
    (
        "which",
        "better|best|meglio|migliore|migliori|conviene|conviene di più|recommend|"
        "recommended|consigliate|consigli|consigliereste|consiglia|suggest|suggerite|prefer|"
        "preferable|preferibile|should i get|should i buy|should i choose|should i use|"
        "should i go for|devo comprare|devo prendere|devo scegliere|which one|quale dei|"
        "quale delle|quali dei|which of",
    ),
    (
        "who",
        "who|whom|whose|who's|chi|a chi|con chi|da chi|di chi|per chi|qualcuno|someone|"
        "somebody|anyone|anybody|a person|una persona|a human|un operatore|speak to|talk to|"
        "parlare con|in touch with|passarmi|passami|put me through|connect me",
    ),
    ("where", "where|where's|whereabouts|dove|dov'è|da dove|dov'e|address|indirizzo"),
    ("when", "when|quando"),
    ("why", "why|perché|perchè"),
    ("which", "which|quale|quali|qual"),
    ("how", "how|come"),
    ("what", "what|what's|cosa|che cosa|cos'è|quanto|quanta|quanti|quante"),
]
_PHRASE_RX = [(k, re.compile(r" (" + _alt(spec) + r") ")) for k, spec in _PHRASES]
_SUBORDINATE = re.compile(
    r" (?:when|where|if|quando|se|that|che) (?:i|we|ho|abbiamo|provo|clicco|cerco|faccio|vado|"
    r"apro|entro|accedo|metto|inserisco|pago|ordino) "
)
_MID_UNSAFE = frozenset(
    words(
        "come how which quale quali qual what cosa quanto quanta quanti "
        "quante due to motivo causa cause address indirizzo"
    )
)

_YESNO_HOW = re.compile(
    r" (?:can|could|may|must) (?:i|we) | (?:is|would) it (?:be )?(?:possible|ok|okay) |"
    r" (?:can|could|would) (?:you|someone|somebody|anyone) |"
    r" (?:is|are) there (?:a|any) way | any way | anyway to |"
    r" (?:posso|possiamo|potrei|potremmo|si può|si puo|è possibile|e possibile|è fattibile|"
    r"potete|potreste|puoi|riuscite|riesco|riuscireste|c'è modo|c'è un modo|ci sono modi|"
    r"può|puo) "
)
_COVERAGE = re.compile(
    r" (?:do|can|could|will) you (?:also )?(?:ship|deliver|send|post|sell|operate) "
    r"| (?:ship|deliver|send) (?:also )?(?:to|outside|abroad|overseas|internationally) "
    r"| (?:spedite|consegnate|arrivate|spedisci|consegni|fate consegne|vendete|operate)"
    r"(?: anche)? (?:a|in|all|alle|ai|nel|nella|nelle|negli|fuori|all'estero|estero) "
    r"| (?:is|are) there (?:a |an |any )?\S+(?: \S+)? (?:near|in|at|close to|around) "
    r"| c'è (?:un|una|qualche) \S+(?: \S+)? (?:a|in|vicino|presso|all|al|nel) "
)
_TIME = re.compile(
    r" (?:today|tomorrow|tonight|this week|next week|this weekend|weekend|before|in time|"
    r"christmas|easter|monday|tuesday|wednesday|thursday|friday|saturday|sunday|morning|"
    r"afternoon|evening|open|opened|closed|reopen|still open|soon|yet|already|on time|"
    r"oggi|domani|stasera|stamattina|dopodomani|entro|prima di|in tempo|natale|pasqua|lunedì|"
    r"martedì|mercoledì|giovedì|venerdì|sabato|domenica|mattina|pomeriggio|sera|settimana|"
    r"aperto|aperti|aperta|chiuso|chiusi|chiusa|riaprite|ripassa|ancora|già|presto|puntuale) "
)
_WHO_YESNO = re.compile(
    r" (?:is there|are there|c'è|ci sono|c'e) (?:someone|somebody|anyone|anybody|qualcuno|"
    r"un operatore|una persona|a person|a human|un responsabile) "
)


def _earliest(head: str, only_start: bool, indirect: bool = False) -> tuple[int, str, str] | None:
    best: tuple[int, int, str, str] | None = None
    for order, (kind, rx) in enumerate(_PHRASE_RX):
        for m in rx.finditer(head):
            pos = m.start()
            if only_start and pos > 0:
                break
            phrase = m.group(1)
            if pos > 0 and phrase in _MID_UNSAFE:
                continue
            if (pos > 0 or not indirect) and _SUBORDINATE.match(head, pos):
                continue
            if best is None or (pos, order) < best[:2]:
                best = (pos, order, kind, phrase)
            break
    return None if best is None else (best[0], best[2], best[3])


_RECOMMEND = re.compile(
    r" (?:better|best|meglio|migliore|migliori|conviene|recommend|recommended|consigliate|"
    r"consigliereste|consiglia|consigli|suggest|suggerite|prefer|preferable|preferibile) "
)


_CLOSED_SET = re.compile(
    r" (?:which one|which of|quale dei|quale delle|quali dei|quali delle|tra i "
    r"due|between the) "
)
_WHAT_FOR = re.compile(r" (?:what's|what is|what are|whats) .* for $")
_CONTACT = re.compile(
    r" (?:e-mail|email|mail|pec|web|ip|mac) (?:address|indirizzo) | (?:indirizzo|address) "
    r"(?:e-mail|email|mail|pec|di posta|web) "
)
_ARTICLE_START = re.compile(r" (?:the|il|lo|la|l'|i|gli|le) ")


def kind_of_head(head: str, indirect: bool = False) -> tuple[str, float]:
    """(kind, confidence) of a normalised question head (see the module docstring)."""
    if _LISTED.search(head) or _CLOSED_SET.match(head):
        return "which", 0.8
    if _WHAT_FOR.match(head):
        return "why", 0.75
    typed_head = _CONTACT.sub(" contact ", head)
    if indirect and _ARTICLE_START.match(typed_head):
        typed_head = " what" + typed_head
    typed = None
    for kind, rx in _NOUN_TYPED:
        m = rx.search(typed_head)
        if m and (typed is None or (m.start(), -m.end()) < typed[:2]):
            typed = (m.start(), -m.end(), kind)
    if typed is not None:
        typed = (typed[0], typed[2])
    start = _earliest(head, only_start=True, indirect=indirect)
    if typed is not None and (start is None or typed[0] <= 2 or start[1] in ("what", "which")):
        return typed[1], 0.85
    if (start is None or start[1] in ("what", "how")) and _RECOMMEND.search(head):
        return "which", 0.75
    if start is not None:
        return start[1], 0.9
    anywhere = _earliest(head, only_start=False)
    if _YESNO_HOW.match(head) or (_YESNO_HOW.search(head) and anywhere is None):
        if anywhere is not None and anywhere[1] != "what":
            return anywhere[1], 0.7
        if _COVERAGE.search(head):
            return "where", 0.65
        return "how", 0.75
    if typed is not None:
        return typed[1], 0.75
    if anywhere is not None:
        return anywhere[1], 0.7
    if _COVERAGE.search(head):
        return "where", 0.7
    if _WHO_YESNO.search(head):
        return "who", 0.7
    if _TIME.search(head):
        return "when", 0.6
    return "what", 0.55
