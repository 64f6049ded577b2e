"""A small linear model (multinomial logistic regression) read from JSON: features and scoring.

Trained by ``python -m understanding.train`` (scikit-learn, a dev dependency) on a TRAIN split,
stored as ``understanding/models/<name>.json`` with only its non-zero weights; scoring is a
dictionary lookup per feature and a softmax, pure Python, a few microseconds, no dependency.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from understanding.text import tokens

MODELS = Path(__file__).resolve().parent / "models"


def features(text: str) -> dict[str, float]:
    """Word unigrams and bigrams, character 4-grams inside words, and a few shape features."""
    toks = tokens(text)[:400]
    feats: dict[str, float] = {}
    for i, tok in enumerate(toks):
        feats["w:" + tok] = 1.0
        if i:
            feats["b:" + toks[i - 1] + "_" + tok] = 1.0
        padded = "^" + tok + "$"
        for j in range(max(1, len(padded) - 3)):
            feats["c:" + padded[j : j + 4]] = 1.0
    letters = [ch for ch in text[:2000] if ch.isalpha()]
    if len(letters) >= 8 and sum(ch.isupper() for ch in letters) / len(letters) > 0.5:
        feats["s:caps"] = 1.0
    if "!!" in text or "?!" in text:
        feats["s:!!"] = 1.0
    if "??" in text:
        feats["s:??"] = 1.0
    n = len(feats) or 1
    return {k: v / math.sqrt(n) for k, v in feats.items()}


@lru_cache(maxsize=4)
def load(name: str) -> dict | None:
    path = MODELS / f"{name}.json"
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def predict_proba(name: str, text: str) -> dict[str, float]:
    """{class: probability}; {} when the model file is absent."""
    model = load(name)
    if model is None:
        return {}
    classes = model["classes"]
    scores = list(model["intercept"])
    weights = model["weights"]
    for feat, value in features(text).items():
        w = weights.get(feat)
        if w is not None:
            for k, wk in enumerate(w):
                scores[k] += wk * value
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {c: e / total for c, e in zip(classes, exps, strict=True)}
