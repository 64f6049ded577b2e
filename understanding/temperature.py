"""A message's temperature: calm, urgent, annoyed or angry, with the signals that decided it.

Scores from an Italian/English lexicon (negation flips a negative word off: "non sono
arrabbiato"; intensifiers strengthen the next one), sarcasm markers, CAPS, repeated punctuation,
threats (leave, review, dispute, legal), mild profanity, and deadlines for urgency. For English,
VADER's compound score is one more signal. Angry needs strong evidence and calm needs none at all:
when unsure the answer is "annoyed", so calm and angry are never swapped.
"""

from __future__ import annotations

import re
from functools import lru_cache

from understanding.text import normalise, words

_NEGATORS = frozenset(words("non not no never nessun nessuna mai don't isn't i'm not wasn't"))
_INTENSIFIERS = frozenset(
    words(
        "molto davvero veramente assolutamente totalmente proprio troppo super really very so "
        "absolutely totally extremely completely utterly seriously incredibly"
    )
)

# Word/phrase lexicons (normalised tokens). Weights: anger counts double in the score.
_ANGER = (
    "vergogna|vergognoso|vergognosa|vergognatevi|schifo|schifoso|fa schifo|ridicolo|ridicola|"
    "ridicoli|truffa|truffatori|truffati|ladri|ladrata|incompetenti|incompetente|incapaci|"
    "pessimo|pessima|pessimi|inaccettabile|scandaloso|scandalosa|scandalo|indecente|vergognoso|"
    "basta|mai più|arrabbiato|arrabbiata|arrabbiatissimo|furioso|furiosa|infuriato|incazzato|"
    "incazzata|presi in giro|prendete in giro|presa in giro|preso in giro|buffoni|pagliacci|"
    "vi denuncio|assurdo|assurda|allucinante|disgusting|ridiculous|scam|scammers|thieves|"
    "incompetent|unacceptable|worst|pathetic|useless|disgrace|disgraceful|outrageous|furious|"
    "angry|livid|fed up|sick of|sick and tired|rubbish|joke|a joke|clowns|shameful|"
    "appalling|horrible|terrible|awful|insane|absurd|robbery|fraud|liars|lying|bugiardi|"
    "mentite|state mentendo|inutili|inutile|scandalous|enough is enough|last straw|"
    "ultima goccia|non se ne può più|non ne posso più|disgustato|disgusted|nauseato"
)
_ANNOY = (
    "ancora|di nuovo|ennesima|ennesimo|ancora niente|ancora nulla|nessuna risposta|"
    "non risponde|non rispondete|non mi rispondete|nessuno risponde|deluso|delusa|delusione|"
    "sto aspettando|aspetto ancora|da giorni|da una settimana|da settimane|da un mese|"
    "again|still|no answer|no reply|no response|nobody answers|disappointed|disappointing|"
    "frustrated|frustrating|frustrante|annoying|annoyed|irritating|waiting for|for days|"
    "for weeks|third time|second time|terza volta|seconda volta|not happy|unhappy|"
    "non funziona|doesn't work|not working|does not work|broken|rotto|rotta|"
    "non è possibile|not acceptable|insoddisfatto|insoddisfatta|dissatisfied|"
    "infastidito|seccato|stufo|stufa|scocciato|ritardo|delay|delayed|late|mistake|errore|"
    "sbagliato|sbagliata|wrong|problema|problem|issue|reclamo|complaint|lamentela|"
    "ignored|ignorato|ignorata|ignorate|sollecito|sollecitare|solleciti|reminder|chasing|"
    "ho già scritto|already wrote|already written|already told|ho già chiamato|"
    "already called|nessuno mi|nobody has|no one has"
)
_POLITE_COMPLAINT = "purtroppo|unfortunately|i'm afraid|mi dispiace ma|spiace dirlo|sadly"
_PROFANITY = (
    "cazzo|cazzi|cazzate|merda|fanculo|vaffanculo|porca miseria|porca puttana|minchia|stronzi|"
    "stronzo|coglioni|fuck|fucking|fucked|shit|shitty|damn|damned|crap|crappy|wtf|bullshit|"
    "bloody|hell|piss|pissed|dannazione|accidenti|mannaggia|cavolo|dannati"
)
_LEAVE = (
    "cambio fornitore|cambio gestore|cambiare fornitore|disdico|disdetta|annullo tutto|"
    "non comprerò più|non ordinerò più|mai più da voi|ultimo ordine|vado dalla concorrenza|"
    "passo alla concorrenza|chiudo il conto|chiudo l'account|cancel my account|close my account|"
    "cancel everything|switching to|switch to another|go elsewhere|going elsewhere|"
    "never order again|never buy again|never again|last order|lost a customer|"
    "take my business elsewhere|competitor|concorrenza|unsubscribe me"
)
_REVIEW = (
    "recensione|recensioni|trustpilot|tripadvisor|social|facebook|instagram|twitter|"
    "review|reviews|one star|una stella|1 stella|1 star|tell everyone|dirò a tutti|"
    "lo dirò a tutti|passaparola|pubblicamente|publicly|sui social|on social media"
)
_DISPUTE = (
    "chargeback|contestazione|contesto|contestare|storno|stornare|disconoscimento|"
    "dispute|my bank|la mia banca|paypal claim|reclamo paypal|apro un reclamo|"
    "open a claim|file a claim|credit card company"
)
_LEGAL = (
    "avvocato|avvocati|legale|legali|vie legali|denuncia|denuncio|denunciare|querela|"
    "carabinieri|polizia|giudice|tribunale|codacons|altroconsumo|adiconsum|garante|agcom|"
    "lawyer|lawyers|attorney|sue|suing|lawsuit|legal action|court|small claims|"
    "consumer protection|trading standards|ombudsman|police"
)
_URGENT = (
    "urgente|urgentemente|urgenza|subito|immediatamente|entro stasera|entro oggi|entro domani|"
    "entro stamattina|entro le|serve per domani|serve per oggi|mi serve oggi|mi serve domani|"
    "serve oggi|serve domani|il prima possibile|prima possibile|quanto prima|al più presto|"
    "emergenza|domattina|stasera|parto domani|parto stasera|volo|scadenza|scade|scade oggi|"
    "scade domani|non posso aspettare|tra un'ora|fra un'ora|tra due ore|fra due ore|tra 2 ore|"
    "asap|urgent|urgently|emergency|immediately|right now|right away|as soon as possible|"
    "tonight|by tonight|by tomorrow|by today|by end of day|by monday|in 2 hours|in two hours|"
    "in an hour|in 1 hour|leaves in|flight|deadline|expires|expiring|time sensitive|"
    "time-sensitive|quickly|hurry|can't wait|cannot wait|before tomorrow|today please|"
    "oggi stesso|in giornata|today"
)
_SARCASM = (
    "complimenti davvero|complimenti|bravi bravi|bravissimi|ottimo lavoro|grazie tante|"
    "grazie mille eh|grazie eh|fantastico|fantastici|meraviglioso|splendido|che servizio|"
    "bel servizio|servizio eccellente|great job|well done|good job|thanks a lot|thanks for nothing|"
    "grazie per niente|brilliant|fantastic|wonderful|amazing|lovely|what a service|great service|"
    "oh great|oh perfetto|perfetto proprio|nice one|sure thing|yeah right|certo certo"
)
_SARCASM_CONTEXT = (
    "ancora|di nuovo|ennesima|terza|seconda|settimana|settimane|again|still|third|second|week|"
    "weeks|mai|never|nothing|niente|nulla|another|altro|ancora una volta"
)


def _phrases(spec: str) -> re.Pattern:
    words = sorted({w.strip() for w in spec.split("|") if w.strip()}, key=len, reverse=True)
    return re.compile(r"(?<= )(" + "|".join(re.escape(w) for w in words) + r")(?= )")


_RX = {
    name: _phrases(spec)
    for name, spec in (
        ("anger", _ANGER),
        ("annoy", _ANNOY),
        ("polite", _POLITE_COMPLAINT),
        ("profanity", _PROFANITY),
        ("leave", _LEAVE),
        ("review", _REVIEW),
        ("dispute", _DISPUTE),
        ("legal", _LEGAL),
        ("urgent", _URGENT),
        ("sarcasm", _SARCASM),
        ("sarcasm_ctx", _SARCASM_CONTEXT),
    )
}
_REPEATED_PUNCT = re.compile(r"[!?]{2,}|!\s*!|\?\s*!")
_QUOTED = re.compile(
    r"[\"“«']\s?(assistenza|servizio clienti|customer service|service|support|"
    r"supporto|help|aiuto|professionisti|professionals|express|veloce|fast)"
    r"\s?[\"”»']",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(r"\.\.\.|…")


def _negated(norm: str, start: int) -> bool:
    before = norm[max(0, start - 30) : start].split()[-3:]
    return any(w in _NEGATORS for w in before)


def _intensified(norm: str, start: int) -> bool:
    before = norm[max(0, start - 20) : start].split()[-2:]
    return any(w in _INTENSIFIERS for w in before)


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def temperature(text: str, language: str = "") -> tuple[str, float, tuple[str, ...]]:
    """(label, confidence, signals) of an already sanitised text."""
    norm = normalise(text)
    if not norm.strip():
        return "calm", 0.5, ()
    signals: list[str] = []
    anger = annoy = urgency = 0.0

    def hits(name: str) -> list[re.Match]:
        return list(_RX[name].finditer(norm))

    for m in hits("anger"):
        if _negated(norm, m.start()):
            signals.append("negated")
            continue
        anger += 2.0 if _intensified(norm, m.start()) else 1.5
        signals.append("anger_lexicon")
        if _intensified(norm, m.start()):
            signals.append("intensifier")
    for m in hits("annoy"):
        if _negated(norm, m.start()) and m.group(0) not in ("non funziona", "non risponde"):
            continue
        annoy += 1.0
        signals.append("negative_lexicon")
    if hits("polite"):
        annoy += 1.0
        signals.append("polite_complaint")
    if hits("profanity"):
        anger += 2.0
        signals.append("profanity")
    for name, signal, weight in (
        ("leave", "threat_to_leave", 1.5),
        ("review", "threat_review", 1.5),
        ("dispute", "threat_dispute", 2.0),
        ("legal", "threat_legal", 2.5),
    ):
        if hits(name):
            anger += weight
            signals.append(signal)
    sarcastic = bool(_QUOTED.search(text))
    if hits("sarcasm") and (hits("sarcasm_ctx") or _ELLIPSIS.search(text) or annoy or anger):
        sarcastic = True
    if sarcastic:
        anger += 1.5
        signals.append("sarcasm")
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 12 and sum(ch.isupper() for ch in letters) / len(letters) > 0.6:
        signals.append("caps")
        anger += 1.0 if (anger or annoy) else 0.5
        annoy += 0.5
    if _REPEATED_PUNCT.search(text):
        signals.append("repeated_punctuation")
        if anger or annoy:
            anger += 0.5
        annoy += 0.5
    if hits("urgent"):
        urgency += 1.0
        signals.append("deadline")
    if language == "en" or (not language and " the " in norm):
        compound = _vader().polarity_scores(text[:1000])["compound"]
        if compound <= -0.6:
            annoy += 0.5
            signals.append("vader_negative")
    if anger >= 3.0:
        label, conf = "angry", min(0.95, 0.6 + 0.05 * anger)
    elif anger > 0 or annoy >= 1.0:
        label, conf = "annoyed", min(0.9, 0.55 + 0.1 * (anger + annoy))
    elif urgency:
        label, conf = "urgent", 0.75
    elif annoy > 0:
        label, conf = "annoyed", 0.5
    else:
        label, conf = "calm", 0.7
    seen: dict[str, None] = dict.fromkeys(signals)
    return label, round(conf, 2), tuple(seen)
