"""The result types of the understanding layer (the interface agreed with the Django side)."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("who", "what", "why", "when", "where", "how", "which")
TEMPERATURES = ("calm", "urgent", "annoyed", "angry")

# Bump whenever rules, lexicons or models change: stored with every result so it can be recomputed.
VERSION = "2026.12.2"

# The fixed vocabulary of ``Analysis.signals`` (documented in understanding/README.md).
SIGNALS = (
    "anger_lexicon",  # an insult, an accusation of fraud/theft, explicit fury
    "profanity",
    "threat_to_leave",  # close the account, last order, go elsewhere, tell everyone
    "threat_review",  # bad review, one star, social media, the press
    "threat_dispute",  # chargeback, dispute, formal complaint
    "threat_legal",  # lawyer, court, police, consumer authority
    "caps",  # several words shouted in capitals
    "repeated_punctuation",  # "!!", "??", "?!"
    "negative_lexicon",  # frustration, disappointment, sighs, eye-roll emoji
    "polite_complaint",  # "purtroppo", "with all due respect", "I was hoping"
    "intensifier",  # "really disappointed", "davvero deluso"
    "sarcasm",  # praise next to a bad fact, quoted claims ("servizio clienti")
    "repeated_contact",  # "third time", "five emails", "ho già scritto"
    "deadline",  # a deadline, time pressure or a safety problem happening now
    "learned_tone",  # no rule fired; the trained model heard urgency or annoyance (never anger)
    "negated",  # "non sono arrabbiato", "no hurry": a cue switched off
    "error",  # the analyser failed on this text (never expected; the result is empty)
)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    confidence: float

    def as_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "confidence": self.confidence}

    @classmethod
    def from_dict(cls, d: dict) -> Question:
        return cls(
            text=str(d.get("text", "")),
            kind=str(d.get("kind", "what")),
            confidence=float(d.get("confidence", 0.0)),
        )


@dataclass(frozen=True)
class Analysis:
    language: str
    language_confidence: float
    questions: tuple[Question, ...]
    temperature: str
    temperature_confidence: float
    signals: tuple[str, ...]
    version: str

    def as_dict(self) -> dict:
        """JSON-serialisable, stable keys (storage, API, webhooks)."""
        return {
            "language": self.language,
            "language_confidence": self.language_confidence,
            "questions": [q.as_dict() for q in self.questions],
            "temperature": self.temperature,
            "temperature_confidence": self.temperature_confidence,
            "signals": list(self.signals),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Analysis:
        return cls(
            language=str(d.get("language", "")),
            language_confidence=float(d.get("language_confidence", 0.0)),
            questions=tuple(Question.from_dict(q) for q in d.get("questions", ())),
            temperature=str(d.get("temperature", "calm")),
            temperature_confidence=float(d.get("temperature_confidence", 0.0)),
            signals=tuple(str(s) for s in d.get("signals", ())),
            version=str(d.get("version", "")),
        )
