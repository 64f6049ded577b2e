"""Finding the answer to a customer's message.

1. The message is analysed (``understanding.analyse``: language, questions and their kinds) and
   turned into terms in Italian and in English (``knowledge.textnorm``: stems, SMS spellings,
   synonym concepts). Words the knowledge base does not know are corrected to the closest word it
   knows by trigram similarity (typos, "spedizzione", "refnd").
2. Candidates come from the database's full-text index (``knowledge.backends``).
3. Each candidate is re-ranked in Python from a few features (how much of the message it covers,
   weighted by rarity; how much of its title is asked; the question kind; the language) combined
   by a logistic model fitted on the labelled train split (``python -m knowledge.train``,
   coefficients in ``knowledge/model.json``). The top candidate's confidence also weighs its
   margin over the next; below ``settings.HUB_KNOWLEDGE_MIN_CONFIDENCE`` there is no answer.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Max

from knowledge import backends
from knowledge.models import Answer, AnswerText
from knowledge.textnorm import LANGUAGES, _phrases, terms
from understanding import analyse

MODEL_PATH = Path(__file__).with_name("model.json")
CANDIDATES = 40
FEATURES = (
    "coverage",
    "question",
    "head",
    "title",
    "concepts",
    "kind",
    "language",
    "unmatched",
)


@dataclass
class Candidate:
    answer: Answer
    confidence: float
    reasons: dict
    score: float = 0.0
    features: dict = field(default_factory=dict)


@dataclass
class FindResult:
    language: str
    questions: list[dict]
    candidates: list[Candidate]
    min_confidence: float = 0.5

    @property
    def best(self) -> Candidate | None:
        if self.candidates and self.candidates[0].confidence >= self.min_confidence:
            return self.candidates[0]
        return None


# --- the published base's statistics, cached per process ---------------------------------------


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class _Stats:
    """Document frequencies and the vocabulary (with a trigram index) of the published texts."""

    def __init__(self, generation):
        self.generation = generation
        self.df: dict[str, int] = {}
        self.answers = 0
        self.grams: dict[str, set[str]] = {}
        rows = AnswerText.objects.filter(answer__status=Answer.Status.PUBLISHED).values_list(
            "answer_id", "terms"
        )
        per_answer: dict[int, set[str]] = {}
        for answer_id, text_terms in rows:
            bag = per_answer.setdefault(answer_id, set())
            for part in (text_terms or {}).values():
                bag.update(part)
        self.answers = len(per_answer)
        for bag in per_answer.values():
            for term in bag:
                self.df[term] = self.df.get(term, 0) + 1
        for term in self.df:
            if not term.startswith("~") and len(term) >= 3:
                for gram in _trigrams(term):
                    self.grams.setdefault(gram, set()).add(term)

    def idf(self, term: str) -> float:
        return math.log((self.answers + 1) / (self.df.get(term, 0) + 0.5))

    def correct(self, term: str) -> str | None:
        """The known word closest to an unknown one (>= 0.5 trigram Jaccard), or None."""
        if term in self.df or term.startswith("~") or len(term) < 4 or term.isdigit():
            return None
        grams = _trigrams(term)
        counts: dict[str, int] = {}
        for gram in grams:
            for known in self.grams.get(gram, ()):
                counts[known] = counts.get(known, 0) + 1
        best, best_sim = None, 0.5
        for known, shared in counts.items():
            sim = shared / (len(grams) + len(_trigrams(known)) - shared)
            if sim > best_sim or (sim == best_sim and best is not None and known < best):
                best, best_sim = known, sim
        return best


_lock = threading.Lock()
_stats: _Stats | None = None
_checked_at = 0.0
# Another process's edits reach this one's statistics within this many seconds (this process's
# own edits at once: services call ``invalidate``). The candidates themselves always come from
# the database, so a draft is never found; only the word weights may lag.
STATS_TTL = 2.0


def invalidate() -> None:
    global _stats
    with _lock:
        _stats = None


def _current_stats() -> _Stats:
    global _stats, _checked_at
    now = time.monotonic()
    held = _stats
    if held is not None and now - _checked_at < STATS_TTL:
        return held
    _checked_at = now
    row = Answer.objects.filter(status=Answer.Status.PUBLISHED).aggregate(
        n=Count("id"), last=Max("updated_at")
    )
    generation = (row["n"], row["last"])
    with _lock:
        if _stats is None or _stats.generation != generation:
            _stats = _Stats(generation)
        return _stats


def _model() -> dict:
    global _MODEL
    if _MODEL is None:
        _MODEL = json.loads(MODEL_PATH.read_text())
    return _MODEL


_MODEL: dict | None = None


# --- features ---------------------------------------------------------------------------------


def _single_concepts(language: str) -> dict[str, str]:
    return {k[0]: v for k, v in _phrases(language).items() if len(k) == 1}


def query_terms(text: str, stats: _Stats) -> tuple[dict[str, list[str]], list[str]]:
    """The message's terms per language, typos corrected; and the corrections made."""
    out: dict[str, list[str]] = {}
    fixed: list[str] = []
    for lang in LANGUAGES:
        concepts = _single_concepts(lang)
        found = []
        for term in terms(text, lang):
            found.append(term)
            better = stats.correct(term)
            if better:
                found.append(better)
                fixed.append(f"{term}->{better}")
                if better in concepts:
                    found.append(concepts[better])
        out[lang] = list(dict.fromkeys(found))
    return out, fixed


RETRIEVAL_TERMS = 12
# In a base of more than SMALL_BASE answers, a term in more than COMMON of them does not select
# candidates (it would select most of the base and only cost time).
SMALL_BASE = 200
COMMON = 0.3


def retrieval_terms(
    by_lang: dict[str, list[str]], stats: _Stats, asked: dict[str, list[str]] | None = None
) -> list[str]:
    """The rarest of the message's terms (both languages), those of its question sentences
    first: they pick the candidates. Common words would select most of the base and only cost
    time (the re-ranking still uses them); rare words of a long email are often names."""
    most = stats.answers if stats.answers <= SMALL_BASE else COMMON * stats.answers
    chosen: list[str] = []
    for source in (asked or {}, by_lang):
        pool = list(dict.fromkeys(t for ts in source.values() for t in ts))
        known = [t for t in pool if 0 < stats.df.get(t, 0) <= most and t not in chosen]
        known.sort(key=lambda t: (stats.df[t], t))
        chosen.extend(known[: RETRIEVAL_TERMS - len(chosen)])
    if not chosen:
        chosen = [t for ts in by_lang.values() for t in ts if stats.df.get(t, 0)][:RETRIEVAL_TERMS]
    return chosen


def _coverage(query: list[str], doc: set[str], stats: _Stats) -> float:
    total = sum(stats.idf(t) for t in query) or 1.0
    return sum(stats.idf(t) for t in query if t in doc) / total


def features(
    query: list[str],
    question: list[str],
    text_terms: dict,
    kinds: set[str],
    answer_kinds: list[str],
    same_language: bool,
    stats: _Stats,
) -> tuple[dict, list[str]]:
    doc = set().union(*[set(v) for v in text_terms.values()]) if text_terms else set()
    head = set(text_terms.get("title", [])) | set(text_terms.get("topics", []))
    short = set(text_terms.get("short", []))
    qw = {t: stats.idf(t) for t in query}
    total = sum(qw.values()) or 1.0
    matched = [t for t in query if t in doc]
    head_weight = sum(stats.idf(t) for t in head) or 1.0
    q_concepts = [t for t in query if t.startswith("~")]
    doc_concepts = {t for t in doc if t.startswith("~")}
    kind = 0.0
    if kinds and answer_kinds:
        kind = 1.0 if kinds & set(answer_kinds) else -1.0
    f = {
        "coverage": sum(qw[t] for t in matched) / total,
        "question": _coverage(question, doc, stats) if question else 0.0,
        "head": sum(qw[t] for t in query if t in head or t in short) / total,
        "title": sum(stats.idf(t) for t in head if t in qw) / head_weight,
        "concepts": (
            sum(1 for t in q_concepts if t in doc_concepts) / len(q_concepts) if q_concepts else 0
        ),
        "kind": kind,
        "language": 1.0 if same_language else 0.0,
        "unmatched": math.log1p(sum(1 for t in query if t not in doc and not t.startswith("~"))),
    }
    return f, matched


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, x))))


def score_of(f: dict, model: dict) -> float:
    weights = model["rank"]
    return weights["bias"] + sum(weights[name] * f[name] for name in FEATURES)


def confidence_of(top: float, margin: float, model: dict) -> float:
    c = model["confidence"]
    return _sigmoid(c["bias"] + c["score"] * top + c["margin"] * margin)


# --- the finder --------------------------------------------------------------------------------


def rank(
    text: str,
    *,
    language: str = "",
    channel: str = "",
    kinds: list[str] | None = None,
    limit: int = 3,
    model: dict | None = None,
) -> FindResult:
    model = model or _model()
    analysis = analyse(text, language_prior=language, channel=channel)
    lang = language or analysis.language or ""
    questions = [{"text": q.text, "kind": q.kind} for q in analysis.questions]
    wanted = set(kinds) if kinds else {q["kind"] for q in questions}
    stats = _current_stats()
    by_lang, fixed = query_terms(text, stats)
    asked = " ".join(q["text"] for q in questions)
    by_lang_q = query_terms(asked, stats)[0] if asked else by_lang
    rows = backends.candidates(
        retrieval_terms(by_lang, stats, by_lang_q if asked else None), CANDIDATES
    )
    scored: dict[int, Candidate] = {}
    for answer_id, text_language, text_terms, answer_kinds in rows:
        query = by_lang.get(text_language) or by_lang["en"]
        f, matched = features(
            query,
            by_lang_q.get(text_language) or by_lang_q["en"],
            text_terms or {},
            wanted,
            answer_kinds or [],
            text_language == lang or not lang,
            stats,
        )
        s = score_of(f, model)
        held = scored.get(answer_id)
        if held is None or s > held.score:
            scored[answer_id] = Candidate(
                answer=None,
                confidence=0.0,
                score=s,
                features=f,
                reasons={
                    "matched_words": [m for m in matched if not m.startswith("~")],
                    "concepts": [m[1:] for m in matched if m.startswith("~")],
                    "kind_match": f["kind"] > 0,
                    "language": text_language,
                    "corrected": fixed,
                },
            )
    ordered = sorted(scored.items(), key=lambda item: (-item[1].score, item[0]))
    keep = ordered[: max(limit, 0)] if limit else ordered
    answers = Answer.objects.prefetch_related("texts").in_bulk([pk for pk, _ in keep])
    for pk, cand in keep:
        cand.answer = answers[pk]
    ordered = [cand for _, cand in ordered]
    for i, cand in enumerate(ordered):
        nxt = ordered[i + 1].score if i + 1 < len(ordered) else model["confidence"]["floor"]
        cand.confidence = round(confidence_of(cand.score, cand.score - nxt, model), 4)
    return FindResult(
        language=lang,
        questions=questions,
        candidates=[c for _, c in keep],
        min_confidence=settings.HUB_KNOWLEDGE_MIN_CONFIDENCE,
    )


def find_answers(
    text: str,
    *,
    channel: str = "",
    language: str = "",
    kinds: list[str] | None = None,
    limit: int = 3,
) -> FindResult:
    """The published answers for ``text``, best first, with calibrated confidences."""
    return rank(text, language=language, channel=channel, kinds=kinds, limit=limit)
