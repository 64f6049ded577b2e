"""Language identification: py3langid for real text, a short-text lexicon and the prior.

py3langid (a maintained fork of langid.py) ships its model inside the wheel and classifies a chat
message in a few tens of microseconds. Its weakness is very short text ("ok", "Hi", "STOP"), where
n-gram statistics are noise; there we vote with a lexicon of very common Italian/English words and
chat abbreviations, fall back on ``language_prior`` (the contact's language or the channel's
default), and otherwise answer "" (unknown): a wrong language is worse than none.
"""

from __future__ import annotations

from functools import lru_cache

from understanding.text import strip_urls, tokens, words

SHORT_LETTERS = 20  # below this many letters the n-gram model is not trusted alone

# Languages a customer-support hub in Europe plausibly receives. Restricting py3langid to them
# removes its rare-language noise on informal text (Latin, Occitan, Walloon, ...) while keeping
# every language a customer is likely to write in recognised as itself.
PLAUSIBLE = words(
    "it en fr de es pt nl ca ro pl cs sk sl hr sr bs hu el bg ru uk tr ar he fa hi ur bn zh ja "
    "ko vi th id ms tl sv no da fi et lv lt sq mk is ga cy sw"
)

# Words that say nothing about the language alone: shared by many languages, or used everywhere
# ("ok", "STOP", "Hi", "ciao", "info", "super"). With nothing else, the prior or "" decides.
NEUTRAL = frozenset(
    words(
        "ok okay okk oki oké okey stop start info top no sms app ciao bye lol ah oh eh mh mmm hmm "
        "boh ehi hey hi hello hallo wow super bravo si sí yes ja da pa ps hola salut tschüss"
    )
)

# Very common words and chat abbreviations per language (greetings, thanks, yes/no, function
# words, the shop's everyday vocabulary). Italian and English are first-class; a few words for
# the other languages customers often use, so that a short "obrigado" is not forced into it/en.
_LEX = {
    "it": "grazie grz mille buongiorno buonasera buonanotte salve arrivederci prego perfetto bene "
    "benissimo va d'accordo certo esatto capito ricevuto scusa scusate scusi aiuto annulla "
    "disdici basta voglio vorrei posso potete potreste quando dove perché come quanto quale "
    "quali chi cosa che non sono ho hai ha abbiamo avete hanno il lo la gli le un una del della "
    "dei delle di da in con su per tra fra è e ma anche ancora già oggi domani ieri adesso "
    "subito sempre mai niente nulla ordine pacco spedizione consegna rimborso reso fattura "
    "pagamento carta conto numero buona giornata serata cmq comunque tutto tutti tt mio mia tuo "
    "vostro nostro questo quello qui qua allora però quindi poi dopo prima molto poco troppo sì "
    "gentilissimi gentile arrivato arrivata arriva funziona ricevere sapere vorremmo serve "
    "servono aspetto attendo attesa risposta richiesta problema fatto fare dire avere essere "
    "nuovo nuova posto fermo richiamarmi chiamatemi al alla ai nel nella dal dalla sul sulla "
    "ok grazie a presto tutto bene ottimo fantastico bellissimo capisco",
    "en": "thanks thank you thx ty ta morning evening afternoon night good great fine please pls "
    "plz sorry help cancel unsubscribe yeah yep nope sure got received understood want would "
    "could can will when where why how what which who is are was were the a an of to in on at "
    "for with from my your our their this that these those i we they he she it not don't "
    "doesn't didn't can't won't i'm it's have has had do does did order package parcel "
    "delivery refund return invoice payment card account number today tomorrow yesterday now "
    "still again already never always any some just very too much many all done need know "
    "tell cheers regards best kind dear team guys arrived working waiting answer reply "
    "request problem issue new and but or so if then also out till brilliant lovely awesome "
    "cool see soon bye",
    "es": "gracias hola buenos buenas días dias por favor quiero pedido cuándo cuando dónde "
    "donde qué cómo está hasta luego vale muchas el los las es y pero muy bien adiós",
    "fr": "merci bonjour bonsoir salut oui commande quand où pourquoi comment est je vous "
    "d'accord à demain beaucoup très bien au revoir s'il vous plaît le les des et mais",
    "de": "danke hallo guten tag morgen bitte ja nein bestellung wann wo warum wie ist ich sie "
    "vielen dank schön bis später und aber nicht das der die",
    "pt": "obrigado obrigada olá bom dia boa tarde noite sim não encomenda quando onde "
    "porquê prazo entrega até logo muito",
    "nl": "dank bedankt je wel tot morgen dan goedemorgen hoi graag niet het een en",
    "ro": "mulțumesc multumesc mersi frumos bună buna ziua zi seara da nu comanda când unde "
    "vă va rog mulţumesc",
    "pl": "dziękuję dziekuje dobrze do jutra tak nie cześć dzień dobry proszę zamówienie",
    "sv": "tack så mycket hej ja nej hejdå",
    "sq": "faleminderit përshëndetje mirë po jo porosia",
    "tr": "teşekkürler teşekkür ederim merhaba evet hay\u0131r sipari\u015f",
    "hr": "hvala lijepa dobar dan molim",
    "cs": "děkuji dobrý den prosím ano",
    "hu": "köszönöm szia igen nem rendelés",
    "fi": "kiitos hei kyllä ei tilaus",
}
LEXICON: dict[str, frozenset[str]] = {}
for _lang, _spec in _LEX.items():
    for _w in _spec.split():
        LEXICON[_w] = LEXICON.get(_w, frozenset()) | {_lang}
for _w in NEUTRAL:
    LEXICON.pop(_w, None)

# Scripts used by one language (or one main language) tell it from very little text.
_SCRIPTS = (
    ("\u0600", "\u06ff", "ar"),
    ("\u0590", "\u05ff", "he"),
    ("\u0370", "\u03ff", "el"),
    ("\u3040", "\u30ff", "ja"),
    ("\uac00", "\ud7af", "ko"),
    ("\u0e00", "\u0e7f", "th"),
    ("\u0900", "\u097f", "hi"),
    ("\u4e00", "\u9fff", "zh"),
    ("\u0400", "\u04ff", "cyrillic"),
)
_UK_LETTERS = frozenset("іїєґ")
_RU_LETTERS = frozenset("ыэъё")
_CYRILLIC_WORDS = {
    "спасибо": "ru",
    "большое": "ru",
    "пожалуйста": "ru",
    "здравствуйте": "ru",
    "привет": "ru",
    "заказ": "ru",
    "когда": "ru",
    "где": "ru",
    "дякую": "uk",
    "будь": "uk",
    "ласка": "uk",
    "коли": "uk",
    "буде": "uk",
    "доставка": "",
    "вітаю": "uk",
    "замовлення": "uk",
    "благодаря": "bg",
    "хвала": "sr",
    "ок": "",
}


def _script(text: str) -> str:
    """The language a non-Latin script gives away ("" for Latin or mixed/unknown scripts)."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha() and ch > "\u024f":
            for lo, hi, lang in _SCRIPTS:
                if lo <= ch <= hi:
                    counts[lang] = counts.get(lang, 0) + 1
                    break
    if not counts:
        return ""
    lang = max(counts, key=lambda k: counts[k])
    if lang == "zh" and counts.get("ja"):
        return "ja"  # kanji with kana is Japanese
    if lang != "cyrillic":
        return lang
    low = text.lower()
    if any(ch in _UK_LETTERS for ch in low):
        return "uk"
    if any(ch in _RU_LETTERS for ch in low):
        return "ru"
    for w in tokens(low):
        if _CYRILLIC_WORDS.get(w):
            return _CYRILLIC_WORDS[w]
    return "cyrillic"


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(PLAUSIBLE)
    return ident


def _lexicon_vote(words: list[str]) -> tuple[str, float, int]:
    """(best language, share of the known words voting for it, number of known words)."""
    votes: dict[str, float] = {}
    known = 0
    for w in words:
        langs = LEXICON.get(w)
        if not langs:
            continue
        known += 1
        for lang in langs:
            votes[lang] = votes.get(lang, 0.0) + 1.0 / len(langs)
    if not votes:
        return "", 0.0, 0
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    best, score = ranked[0]
    if len(ranked) > 1 and ranked[1][1] >= score:
        return "", 0.0, known
    return best, score / known, known


def detect(text: str, prior: str = "") -> tuple[str, float]:
    """(ISO 639-1 code or "", confidence 0..1) of an already sanitised text."""
    prior = (prior or "").strip().lower()[:2]
    clean = strip_urls(text)
    letters = sum(1 for ch in clean if ch.isalpha())
    if letters == 0:
        return "", 0.0
    words = tokens(clean)
    script = _script(clean)
    if script and script != "cyrillic":
        return script, 0.9 if letters >= 4 else 0.75
    lex_lang, lex_share, lex_known = _lexicon_vote(words)
    if script == "cyrillic":
        if letters >= SHORT_LETTERS:
            lang, prob = _identifier().classify(clean)
            if lang in ("ru", "uk", "bg", "sr", "mk") and prob >= 0.5:
                return lang, round(float(prob), 2)
        return (prior, 0.5) if prior in ("ru", "uk", "bg", "sr", "mk") else ("", 0.0)
    if letters < SHORT_LETTERS:
        content = [w for w in words if w not in NEUTRAL and not w.isdigit()]
        if lex_lang and lex_share >= 0.75 and lex_known >= max(1, (len(content) + 1) // 2):
            if prior and prior != lex_lang and lex_known == 1 and lex_share < 1.0:
                return prior, 0.5
            return lex_lang, round(min(0.9, 0.55 + 0.1 * lex_known), 2)
        if prior:
            return prior, 0.5
        if letters >= 12:
            lang, prob = _identifier().classify(clean)
            if prob >= 0.98:
                return lang, round(prob * 0.7, 2)
        return "", 0.0
    ranked = _identifier().rank(clean)
    lang, prob = ranked[0]
    if lex_lang in ("it", "en") and lex_known >= 3 and lex_share >= 0.8 and lang != lex_lang:
        other = dict(ranked[:5]).get(lex_lang, 0.0)
        if prob < 0.9 or other > 0.05 or lex_share == 1.0:
            return lex_lang, round(max(0.6, lex_share * 0.8), 2)
    if prob < 0.6 and prior and dict(ranked[:3]).get(prior, 0.0) > 0.1:
        return prior, round(max(prob, 0.5), 2)
    if prob < 0.3:
        return "", 0.0
    return lang, round(float(prob), 2)
