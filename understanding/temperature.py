"""A message's temperature: calm, urgent, annoyed or angry, with the signals that decided it.

Decision order (the labelling rules of eval/data/temperature/GUIDELINES.md, which follow issue #18):
1. angry: a threat (leave for good, review/social media, chargeback/dispute, authority, police,
   lawyer/court), an insult or accusation of fraud/theft, profanity, explicit fury, or shouting
   (several words in capitals with a demand or a complaint);
2. annoyed: frustration, disappointment, sarcasm, repeated follow-ups, polite complaints, sighs;
3. urgent: a deadline or time pressure ("entro stasera", "my flight leaves in 2 hours", "asap"),
   or a safety problem happening now ("sparking", "perde acqua");
4. calm: none of these.
Negation switches a cue off ("non sono arrabbiato", "no hurry", "non c'è urgenza"). Anger needs
explicit evidence, so a calm message is never called angry; when only weak hints exist the answer is
annoyed. Patterns match normalised tokens (SMS spellings expanded), a few look at the raw text
(capitals, "!!!", eye-roll emoji, quoted claims).
"""

from __future__ import annotations

import re

from understanding.model import predict_proba
from understanding.text import normalise


def _rx(*parts: str) -> re.Pattern:
    """Alternatives over normalised text; each alternative is a regex matched between spaces."""
    return re.compile(r" (?:" + "|".join(p for part in parts for p in part.split("|")) + r") ")


# --- angry ----------------------------------------------------------------------------------------
THREAT_LEAVE = _rx(
    r"(?:close|closing|cancel|cancelling|delete|deleting) (?:my|the) account|"
    r"(?:chiudo|chiuderò|cancello|elimino) (?:il mio |l')?(?:account|conto)|"
    r"(?:last|ultimo|ultima) (?:order|ordine|time i|volta che)|"
    r"never (?:again|order|buy|shop)|mai più|non (?:compro|comprerò|ordino|ordinerò) più|"
    r"(?:go|going|shop|shopping|take my business) elsewhere|"
    r"(?:vado|passo|andrò|passerò) (?:dalla|alla) concorrenza|cambio (?:negozio|fornitore)|"
    r"lost (?:a|me as a) customer|perso un cliente|addio|goodbye forever|"
    r"(?:telling|tell|told) (?:all my|everyone|all)|(?:dirò|dico|racconterò) a tutti|"
    r"not to shop here|di non comprare"
)
THREAT_REVIEW = _rx(
    r"trustpilot|tripadvisor|(?:one|1) star|(?:una|1) stella|"
    r"(?:bad|negative|terrible|honest) review|recensione (?:negativa|pessima)|"
    r"(?:write|writing|leave|leaving|post|posting) (?:a |an |my )?(?:\w+ )?review|"
    r"(?:scrivo|scriverò|lascio|lascerò|faccio) (?:una )?recensione|"
    r"(?:on|su|sui|all) (?:social|socials|social media|facebook|instagram|twitter|tiktok|"
    r"google|amazon)|tutti i social|all (?:my )?social|pubblicherò|posterò|"
    r"(?:publish|post|posting) (?:the |my )?(?:photos|pictures|pics)|"
    r"striscia la notizia|a striscia|le iene|ai giornali|(?:go|going) to the press|newspapers"
)
THREAT_DISPUTE = _rx(
    r"chargeback|charge ?back|dispute|disputing|disputed|contestazione|contesto|contestato|"
    r"contestare|storno|stornare|disconoscimento|(?:paypal|bank|credit card) (?:claim|dispute)|"
    r"(?:contact|call|calling) my bank|(?:chiamo|sento) la (?:mia )?banca|"
    r"reclamo formale|formal complaint|vedetevela"
)
THREAT_LEGAL = _rx(
    r"lawyer|lawyers|solicitor|solicitors|attorney|legal action|legal steps|court|courts|sue|"
    r"suing|lawsuit|small claims|ombudsman|trading standards|consumer (?:protection|association|"
    r"rights)|police|avvocato|avvocati|legale|legali|vie legali|tribunale|giudice|faccio causa|"
    r"fare causa|vi denuncio|denuncia|denunciare|querela|carabinieri|polizia|antitrust|codacons|"
    r"altroconsumo|adiconsum|associazione (?:dei )?consumatori|garante|agcm|agcom"
)
INSULT = _rx(
    r"ladri|ladro|thieves|thief|truffa|truffatori|truffaldini|scam|scammers|fraud|fraudsters|"
    r"frode|incompetenti|incompetente|incompetent|incapaci|idioti|idiots|buffoni|pagliacci|"
    r"clowns|cialtroni|vergogna|vergognatevi|vergognoso|vergognosa|vergognosi|disgrace|"
    r"disgraceful|shameful|shame on you|disgusting|disgustoso|schifo|fa schifo|schifezza|"
    r"pathetic|patetici|ridicoli|ridiculous|ridicolo|joke of a|what a joke|this is a joke|"
    r"a complete joke|presa in giro|prendendo in giro|prendete in giro|presi in giro|"
    r"preso in giro|che razza di|peggior|peggiore|worst|appalling|appallingly|outrageous|"
    r"scandaloso|scandalosa|scandalo|indecente|vergognarvi|"
    r"liars|bugiardi|robbed|derubato|derubata|rubato|rubati|stealing|state rubando|"
    r"trattato malissimo|treated appallingly|servizio clienti inesistente|"
    r"customer service doesn't exist|nessun rispetto|no respect|ripped off|rip-off|rip off|"
    r"con artists|crooks|cowboys|criminals|criminali|delinquenti|farabutti|imbroglioni|"
    r"a disgrace|an absolute joke|absolute joke|beyond a joke|worst company|horrendous|"
    r"atrocious|deplorable|abysmal|shambles|useless lot|this is theft|è un furto|ladrata|"
    r"schifosi|penosi|pietosi|indecenti|mi fate schifo|che schifo|una barzelletta|"
    r"mi avete rotto|rotto le scatole|siete pessimi|you people are|siete dei|you are all"
)
FURY = _rx(
    r"furioso|furiosa|furiosi|inferocito|inferocita|incazzato|incazzata|arrabbiatissimo|"
    r"arrabbiatissima|livid|furious|fuming|enraged|seething|stufo marcio|stufa marcia|"
    r"i've had it|i have had it|had enough|ne ho abbastanza|non ne posso più|"
    r"non se ne può più|enough is enough|last straw|ultima goccia|mi avete stufato|"
    r"you've lost|basta|enough|ultimo avviso|final warning|pretendo|i demand|"
    r"non ve lo ripeto|not saying it again|i won't say it again|absolutely disgusting|"
    r"how dare you|come vi permettete|fuming|seething|outraged|indignato|indignata|"
    r"esasperato|esasperata|exasperated|beyond angry|so angry|really angry|very angry|"
    r"sono arrabbiato|sono arrabbiata|sono arrabbiatissimo|i am angry|i'm angry|i'm furious"
)
PROFANITY = _rx(
    r"cazzo|cazzi|cazzate|merda|fanculo|vaffanculo|porca (?:miseria|puttana|vacca)|minchia|"
    r"stronzi|stronzo|coglioni|incazz\w*|fuck|fucking|fucked|f\*+k|shit|shitty|crap|crappy|"
    r"wtf|bullshit|bloody|damn|damned|piss|pissed|dannati|bastardi|bastards"
)
DEMAND = _rx(
    r"ridatemi|ridate|rimborsatemi|rimborso|refund|money|soldi|i want|voglio|pretendo|give me|"
    r"enough|basta|now|adesso|ora|subito|nobody|nessuno|never|mai|joke|service|servizio"
)
# --- annoyed --------------------------------------------------------------------------------------
FRUSTRATION = _rx(
    r"deluso|delusa|delusi|delusione|disappointed|disappointing|disappointment|"
    r"mi aspettavo|expected (?:more|better)|i expected|aspettavo di meglio|"
    r"non è la prima volta|not the first time|ennesima|ennesimo|umpteenth|"
    r"(?:second|third|fourth|fifth|seconda|terza|quarta|quinta) (?:time|volta|week|settimana|"
    r"email|mail|message|messaggio|reclamo|complaint)|ancora una volta|di nuovo|"
    r"(?:late|broken|wrong|nothing|missing|delayed|charged|cancelled|happened) again|"
    r"again (?:late|broken|nothing|no|not|wrong)|speravo|i was hoping|i'd hoped|i had hoped|"
    r"(?:almeno|at least) (?:avvisate|avvisare|tell|let|warn|inform|rispondete|reply|answer)|"
    r"non risolve|doesn't solve|didn't solve|does not solve|non è possibile che|ogni volta|"
    r"every (?:single )?time|no (?:refund|reply|answer|response|news|update) yet|"
    r"(?:nessun|nessuna) (?:rimborso|risposta|notizia|aggiornamento) (?:ancora)?|"
    r"still (?:nothing|no|not|waiting|doesn't|hasn't|haven't|isn't|broken)|"
    r"ancora (?:niente|nulla|nessun|nessuna|non)|neanche oggi|nemmeno oggi|today either|"
    r"uffa|ugh|sigh|mah|boh|siete lenti|so slow|too slow|molto lenti|troppo lenti|"
    r"continua a non|keeps (?:not|failing|breaking)|still doesn't|still not|"
    r"non capisco perché|i don't get why|i don't understand why|non mi spiego|"
    r"comincia a essere|getting (?:a bit )?(?:long|ridiculous|old)|"
    r"ho perso|i've wasted|wasted|perso la mattinata|persa la mattinata|tempo perso|"
    r"non voglio fare polemica|not to make a fuss|non per polemica|"
    r"non mi ha convinto|not impressed|unimpressed|per niente soddisfatto|not happy|unhappy|"
    r"insoddisfatto|insoddisfatta|dissatisfied|frustrated|frustrating|frustrante|annoying|"
    r"annoyed|irritating|irritato|irritata|seccato|seccata|scocciato|scocciata|stufo|stufa|"
    r"stanco di|stanca di|tired of|sick of|fed up|a bit much|un po' troppo|"
    r"è così difficile|is it (?:really )?that hard|is it so hard|possibile che|"
    r"how (?:hard|difficult) can it be|ci vuole tanto|nessuno (?:mi )?risponde|"
    r"nobody (?:answers|replies|has replied|responds|got back)|no one (?:answers|replies)|"
    r"no (?:answer|reply|response) (?:yet|again)|still no (?:answer|reply|response)|"
    r"non (?:mi |ci )?(?:risponde|rispondete|rispondono|richiamate|richiama)|"
    r"(?:nessuno|non) (?:mi |ci )?(?:ha|hanno|avete) (?:ancora |mai )?(?:risposto|richiamato|"
    r"scritto)|non ho (?:ancora |mai )?(?:avuto|ricevuto) (?:nessuna |una )?risposta|"
    r"(?:nobody|no one|no-one) (?:has |have )?(?:replied|answered|responded|got back|called)|"
    r"(?:haven't|have not|hasn't|never) (?:heard back|had a reply|had an answer|got a reply|"
    r"received a reply|received an answer|replied|answered|got back)|"
    r"(?:doesn't|don't|never) (?:answer|reply|respond|call back)|never (?:answers|replies)|"
    r"assurdo|assurda|allucinante|absurd|ridiculous|escalate|escalating|"
    r"inaccettabile|unacceptable|ignored|ignorato|ignorata|quality control|controllo qualità|"
    r"con tutto il rispetto|with all due respect|vi faccio notare|just pointing out|"
    r"faccio presente|i must point out|tipico|typical|as usual|come al solito|"
    r"peccato|shame|what a pity|che peccato|sinceramente|to be honest|honestly|"
    r"non me l'aspettavo|didn't expect|did not expect|"
    r"(?:a |un )?(?:bit|po') (?:disappointed|deluso|delusa)|"
    r"aspetto da|waiting for (?:days|weeks|a week|two weeks|ages|an hour|over)|"
    r"da (?:giorni|settimane|un mese|una settimana|due settimane)|for (?:days|weeks|ages)|"
    r"senza (?:risposta|notizie)|without (?:an? )?(?:answer|reply|news)"
)
# Praise that is sarcastic next to a bad fact: set phrases anywhere, plain praise only when it
# opens the message ("Lovely, the parcel arrived open"), never a closing "perfetto, grazie".
SARCASM_WORDS = _rx(
    r"complimenti|bravi|bravissimi|ottimo lavoro|grazie eh|grazie tante|grazie per niente|"
    r"grazie mille eh|great job|well done|good job|thanks a lot for|thanks for nothing|"
    r"cheers for nothing|just what i wanted|proprio quello che volevo|nice idea|bell'idea|"
    r"brilliant service|great service|servizio eccellente|che servizio|what a service"
)
SARCASM_OPENING = re.compile(
    r"^ (?:oh |ah |wow )?(?:great|lovely|brilliant|fantastic|wonderful|amazing|perfect|nice|"
    r"super|fantastico|fantastica|bellissimo|bellissima|meraviglioso|splendido|perfetto|"
    r"ottimo|benissimo|che bello|bello|evviva) "
)
SARCASM_CONTEXT = _rx(
    r"already open|già aperto|arrivato aperto|arrived open|waiting|aspettare|aspettato|aspetto|"
    r"an hour|un'ora|un ora|three agents|tre operatori|different answers|risposte diverse|"
    r"third|terza|broken|rotto|rotta|nothing|niente|nulla|never|late|ritardo|scratch|graffio|"
    r"damaged|rovinato|for keeping|per avermi|for making|arrivato aperto|wrong|sbagliato|"
    r"sbagliata|"
    r"another|un altro|un'altra"
)
REPEAT_CONTACT = _rx(
    r"(?:second|third|fourth|fifth|seconda|terza|quarta|quinta|\d+) (?:time|times|volta|volte)|"
    r"(?:five|four|three|cinque|quattro|tre|\d+) (?:emails|email|mail|messages|messaggi|calls|"
    r"chiamate|telefonate)|already (?:written|wrote|called|told)|ho già (?:scritto|chiamato|detto)|"
    r"vi ho (?:già )?scritto|i've written|i wrote to you"
)
# --- urgent ---------------------------------------------------------------------------------------
URGENCY = _rx(
    r"urgente|urgentemente|urgenza|urgent|urgently|asap|emergency|emergenza|"
    r"subito|immediatamente|immediately|right now|right away|straight away|"
    r"il prima possibile|prima possibile|quanto prima|al più presto|as soon as possible|"
    r"fretta|in a hurry|in a rush|pressed for time|sorry to rush|quick answer|quick one|"
    r"risposta veloce|risposta rapida|rispondetemi presto|reply (?:soon|quickly|within)|"
    r"within the hour|entro (?:oggi|stasera|stanotte|domani|domattina|stamattina|le|un'ora|"
    r"un ora|mezz'ora|sera|mezzanotte|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|"
    r"fine giornata|\d+)|"
    r"(?:by|before) (?:tonight|tomorrow|today|midnight|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|noon|end of (?:the )?day|\d+)|"
    r"(?:serve|servono|mi serve|ci serve|ci servono) (?:per|entro) |"
    r"(?:tra|fra|in) (?:\d+|dieci|cinque|mezz'ora|mezzora|un'ora|un ora|due ore|half an hour|"
    r"an hour|a few minutes) ?(?:minuti|min|mins|minutes|ore|hours|hour)?|"
    r"(?:expire|expires|expiring|ends|scade|scadono|finisce) (?:at|a|tonight|today|oggi|"
    r"stasera|tomorrow|domani|mezzanotte|midnight)|"
    r"flight|volo|my train|il treno|parto|leaving the country|leaving tomorrow|"
    r"before (?:it's|it is|they|you) (?:dispatched|ship|shipped|spedito|leaves)|"
    r"prima che (?:parta|venga spedito|spediate)|still time|ancora in tempo|too late|troppo tardi|"
    r"same-day|same day|stessa giornata|oggi stesso|"
    r"ospiti|guests|clienti alle|client meeting|meeting at|event on|evento|fiera|"
    r"(?:need|needed|serve|servono|mi serve|devo|have to|must) (?:\S+ ){0,6}?(?:today|oggi|"
    r"tonight|stasera|now|adesso)|tonight|stasera|stanotte|"
    r"(?:closes|closed|chiude|chiuso) (?:\S+ ){0,3}?(?:from|da|dal) (?:tomorrow|domani)|"
    r"sparking|sparks|scintille|burning|bruciato|fumo|smoke|smoking|"
    r"allagato|flooding|in questo momento|appena bevuta|just drank"
)
CALM_NEGATED = _rx(
    r"no hurry|no rush|not urgent|nothing urgent|non è urgente|non c'è (?:nessuna )?(?:urgenza|"
    r"fretta)|nessuna fretta|nessuna urgenza|take your time|con calma|when you have a moment|"
    r"quando potete|quando avete (?:un momento|tempo)|whenever suits|no stress|no worries|"
    r"non mi arrabbio|i'm not (?:angry|annoyed|upset|cross|mad)|i am not (?:angry|annoyed|upset)|"
    r"not (?:angry|annoyed|upset|cross|complaining)|non sono (?:arrabbiato|arrabbiata|"
    r"seccato|seccata|infastidito|infastidita)|not a problem|nessun problema|no problem"
)
POLITE_COMPLAINT = _rx(
    r"purtroppo|unfortunately|sadly|con tutto il rispetto|with all due respect|i'm afraid|"
    r"mi dispiace ma|mi spiace ma|vi faccio notare|just pointing out|faccio presente|speravo|"
    r"i was hoping|i had hoped|non voglio fare polemica|not to make a fuss"
)
INTENSIFIED = _rx(
    r"(?:molto|davvero|veramente|proprio|assolutamente|totalmente|really|very|so|absolutely|"
    r"totally|extremely|seriously|incredibly) (?:deluso|delusa|arrabbiato|arrabbiata|stufo|stufa|"
    r"disappointed|frustrated|annoyed|upset|angry|fed up|disgusting|unacceptable|inaccettabile|"
    r"ridiculous|ridicolo|pessimo|bad|poor|slow|lenti|scadente)"
)
NEGATORS = frozenset(
    ["non", "not", "no", "never", "nessun", "nessuna", "mai", "don't", "isn't", "wasn't"]
)
_EYEROLL = re.compile(
    "[\U0001f643\U0001f644\U0001f612\U0001f624\U0001f621\U0001f620\U0001f92c\U0001f611]"
)
_ANGRY_FACE = re.compile("[\U0001f621\U0001f620\U0001f92c]")
_MULTI_PUNCT = re.compile(r"[!?]{2,}")
_CAPS_WORD = re.compile(r"\b[A-ZÀ-Ý]{2,}\b")
_QUOTED_CLAIM = re.compile(r"[\"“«][^\"”»]{2,40}[\"”»]")
_BUT = re.compile(r" (?:but|ma|però) ")


def _hits(rx: re.Pattern, norm: str, negatable: bool = True) -> int:
    n = 0
    for m in rx.finditer(norm):
        if negatable:
            before = norm[max(0, m.start() - 25) : m.start()].split()[-2:]
            if any(w in NEGATORS for w in before):
                continue
        n += 1
    return n


def _shouting(text: str) -> bool:
    """Several words in capitals in a row (a whole sentence shouted), not one emphasised word."""
    caps = _CAPS_WORD.findall(text)
    letters = [ch for ch in text if ch.isalpha()]
    if len(caps) < 2 or not letters:
        return False
    upper = sum(ch.isupper() for ch in letters) / len(letters)
    return upper >= 0.6 or len(caps) >= 4


FALLBACK_MIN = 0.6  # chosen by cross-validation on TRAIN (python -m understanding.train)


def combine(rules_label: str, proba: dict[str, float], minimum: float = FALLBACK_MIN) -> str:
    """The rules decide when they found evidence; when they say calm, the model may lift the
    label to urgent or annoyed (anger and annoyance together), never to angry."""
    if rules_label != "calm" or not proba:
        return rules_label
    upset = proba.get("annoyed", 0.0) + proba.get("angry", 0.0)
    hurry = proba.get("urgent", 0.0)
    if upset >= minimum and upset >= hurry:
        return "annoyed"
    if hurry >= minimum:
        return "urgent"
    return "calm"


def temperature(text: str, language: str = "") -> tuple[str, float, tuple[str, ...]]:
    """(label, confidence, signals) of an already sanitised text: rules, then the model."""
    label, conf, signals = rules_temperature(text, language)
    if label != "calm" or "negated" in signals:
        return label, conf, signals
    proba = predict_proba("temperature", text)
    lifted = combine(label, proba)
    if lifted == label:
        return label, conf, signals
    return lifted, round(min(0.7, max(proba.values())), 2), (*signals, "learned_tone")


def rules_temperature(text: str, language: str = "") -> tuple[str, float, tuple[str, ...]]:
    """(label, confidence, signals) of an already sanitised text, by the rules alone."""
    norm = normalise(text)
    if not norm.strip():
        return "calm", 0.5, ()
    signals: list[str] = []
    calm_said = bool(CALM_NEGATED.search(norm))
    if calm_said:
        signals.append("negated")
    angry = 0
    for rx, signal in (
        (THREAT_LEAVE, "threat_to_leave"),
        (THREAT_REVIEW, "threat_review"),
        (THREAT_DISPUTE, "threat_dispute"),
        (THREAT_LEGAL, "threat_legal"),
        (INSULT, "anger_lexicon"),
        (FURY, "anger_lexicon"),
        (PROFANITY, "profanity"),
    ):
        if _hits(rx, norm):
            angry += 1
            signals.append(signal)
    shouting = _shouting(text)
    repeated = bool(_MULTI_PUNCT.search(text))
    if repeated:
        signals.append("repeated_punctuation")
    frustration = _hits(FRUSTRATION, norm)
    if frustration:
        signals.append("negative_lexicon")
    if _hits(POLITE_COMPLAINT, norm):
        frustration += 1
        signals.append("polite_complaint")
    if _hits(INTENSIFIED, norm):
        signals.append("intensifier")
    if _hits(REPEAT_CONTACT, norm, negatable=False):
        frustration += 1
        signals.append("repeated_contact")
    if _EYEROLL.search(text):
        frustration += 1
        signals.append("negative_lexicon")
    if _ANGRY_FACE.search(text):
        angry += 1
    praise = SARCASM_WORDS.search(norm) or SARCASM_OPENING.match(norm)
    sarcasm = bool(praise) and bool(_hits(SARCASM_CONTEXT, norm, negatable=False) or frustration)
    if _QUOTED_CLAIM.search(text) and (frustration or SARCASM_CONTEXT.search(norm)):
        sarcasm = True
    if sarcasm:
        signals.append("sarcasm")
        frustration += 1
    if shouting:
        signals.append("caps")
        if frustration or repeated or _hits(DEMAND, norm, negatable=False):
            angry += 1
    urgent = 0 if calm_said and not _BUT.search(norm) else _hits(URGENCY, norm, negatable=False)
    if calm_said and _BUT.search(norm):
        # "I'm not angry, but I'm tired of waiting" keeps the frustration after the "but".
        tail = norm[_BUT.search(norm).end() - 1 :]
        frustration = _hits(FRUSTRATION, tail)
        urgent = _hits(URGENCY, tail, negatable=False)
    if urgent:
        signals.append("deadline")
    if angry:
        label, conf = "angry", min(0.95, 0.65 + 0.1 * angry)
    elif frustration:
        label, conf = "annoyed", min(0.9, 0.6 + 0.1 * frustration)
    elif urgent:
        label, conf = "urgent", min(0.9, 0.6 + 0.1 * urgent)
    elif repeated and not calm_said:
        label, conf = "annoyed", 0.5
    else:
        label, conf = "calm", 0.8 if not signals else 0.6
    if calm_said and label == "angry":
        label, conf = "annoyed", 0.5  # "non sono arrabbiato, ma…": never jump from calm to angry
    return label, round(conf, 2), tuple(dict.fromkeys(signals))
