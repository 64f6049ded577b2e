"""The understanding layer: language, questions with their kind, and temperature of a message.

One entry point, :func:`analyse`, pure Python and fast enough for the ingest path (see
understanding/README.md for how each part works, its figures and its known errors).
"""

from __future__ import annotations

from understanding import language, questions, temperature
from understanding.text import sanitise
from understanding.types import KINDS, SIGNALS, TEMPERATURES, VERSION, Analysis, Question

__all__ = [
    "KINDS",
    "SIGNALS",
    "TEMPERATURES",
    "VERSION",
    "Analysis",
    "Question",
    "analyse",
    "warm_up",
]

CHANNELS = ("email", "sms", "whatsapp", "chat", "api")


def analyse(text: str, *, language_prior: str = "", channel: str = "") -> Analysis:
    """Analyse the visible text of one inbound message. Never raises on any str input."""
    try:
        clean = sanitise(text)
        prior = language_prior if isinstance(language_prior, str) else ""
        lang, lang_conf = language.detect(clean, prior)
        found = tuple(
            Question(text=q, kind=k, confidence=c) for q, k, c in questions.find_questions(clean)
        )
        label, temp_conf, signals = temperature.temperature(clean, lang)
    except Exception:  # a bug must not lose a message: report "unknown/calm", never raise
        return Analysis("", 0.0, (), "calm", 0.0, ("error",), VERSION)
    return Analysis(
        language=lang,
        language_confidence=float(lang_conf),
        questions=found,
        temperature=label,
        temperature_confidence=float(temp_conf),
        signals=signals,
        version=VERSION,
    )


def warm_up() -> None:
    """Load the language model now (about 1 s, once per process) instead of on the first message.

    Call it where a process starts (a worker's ready signal, an AppConfig.ready) when the first
    message's latency matters; analyse() loads it lazily otherwise.
    """
    analyse("Warm up: load the language identification model once for this process.")
