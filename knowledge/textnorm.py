"""Words -> the terms the finder matches: SMS spellings expanded, accents folded, stop words
dropped, Snowball stems (Italian or English, the same algorithm as PostgreSQL's 'italian' and
'english' configurations) and one concept term per synonym group found (``~refund``)."""

from __future__ import annotations

import functools
import unicodedata

import Stemmer

from knowledge.synonyms import GROUPS, SPELLINGS
from understanding.text import sanitise, tokens

LANGUAGES = {"it": "italian", "en": "english"}
# Articles, prepositions, pronouns, auxiliaries: dropped before phrases are matched.
_FILLER = """
    il lo la i gli le l un uno una un' l' dell' all' nell' dall' sull' di del dello della dei
    degli delle a al allo alla ai agli alle da dal dallo dalla dai dagli dalle in nel nello
    nella nei negli nelle su sul sullo sulla sui sugli sulle con per tra fra e ed o od ma se
    che mi ti ci vi si ne me te ce ve lo mio mia miei mie tuo tua vostro vostra suo sua nostro
    nostra è e' sono ho hai ha abbiamo avete hanno essere avere sia sto stai sta questo questa
    quello quella quel ciao salve buongiorno buonasera grazie gentili saluti cordiali
    the a an of to in on at for from by with and or but if my your our their his her its me
    i you we they he she it is are was were be been am do does did have has had this that
    these those there here hi hello thanks thank please pls regards dear so just also
    """
FILLER = frozenset(_FILLER.split())
# Question and modal words: kept for phrases ("quanto tempo", "how long"), not as terms.
_QUESTION = """
    come quando dove perché perche chi cosa cos quale quali quanto quanta quanti quante
    posso può puo potete possiamo vorrei voglio devo dovrei serve servono bisogna mai non
    how when where why who what which whose can could would should will may might want need
    not no don't doesn't isn't any some yet still
    """
QUESTION = frozenset(_QUESTION.split())
MAX_TERMS = 200


def fold_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(LANGUAGES.get(language, "english"))


def _words(text: str) -> list[str]:
    out = []
    for tok in tokens(sanitise(text)):
        tok = SPELLINGS.get(tok, tok).rstrip("'")
        for part in tok.split():
            part = fold_accents(part)
            if part and part not in FILLER:
                out.append(part)
    return out


@functools.lru_cache(maxsize=4)
def _phrases(language: str) -> dict[tuple[str, ...], str]:
    """Every synonym phrase as a tuple of stems in ``language`` -> its concept term."""
    stem = _stemmer(language).stemWord
    table: dict[tuple[str, ...], str] = {}
    for concept, phrases in GROUPS.items():
        for phrase in phrases:
            words = tuple(stem(w) for w in _words(phrase))
            if words:
                table[words] = "~" + concept
    return table


@functools.lru_cache(maxsize=4)
def _longest_phrase(language: str) -> int:
    return max(len(k) for k in _phrases(language))


def terms(text: str, language: str) -> list[str]:
    """The terms of ``text`` in order (stems, then concepts; duplicates kept)."""
    language = language if language in LANGUAGES else "en"
    words = _words(text)[: MAX_TERMS * 2]
    stems = _stemmer(language).stemWords(words)
    phrases = _phrases(language)
    longest = _longest_phrase(language)
    out = [s for w, s in zip(words, stems, strict=True) if w not in QUESTION and len(s) > 1]
    for i in range(len(stems)):
        for n in range(min(longest, len(stems) - i), 0, -1):
            concept = phrases.get(tuple(stems[i : i + n]))
            if concept:
                out.append(concept)
                break
    return out[:MAX_TERMS]


def both_languages(text: str) -> dict[str, list[str]]:
    return {lang: terms(text, lang) for lang in LANGUAGES}
