"""``python -m knowledge.train``: fit the finder's two small logistic models on the TRAIN split
(never the test split) and write ``knowledge/model.json``.

1. rank: P(candidate is the right answer) from the candidate's features (``finder.FEATURES``),
   fitted on every (message, candidate) pair of the train messages.
2. confidence: P(the top candidate is right) from its rank score and its margin over the next,
   fitted on the train messages (those with no right answer count as "top is wrong").
Then the lowest threshold that keeps the train wrong-answer rate at or under ``--max-wrong`` is
printed: ``HUB_KNOWLEDGE_MIN_CONFIDENCE``'s default in config/settings.py is set from it.
Pure Python gradient descent: a handful of weights does not need a library.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from knowledge.evaluate import DATA, load, throwaway_database

FLOOR = -6.0  # the "next score" when a candidate has no runner-up


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, x))))


def fit(
    xs: list[list[float]],
    ys: list[int],
    l2: float = 0.01,
    steps: int = 1500,
    rate: float = 1.0,
    balanced: bool = True,
) -> list[float]:
    """Logistic regression (bias first) by full-batch gradient descent; ``balanced`` weighs
    both classes alike (ranking), otherwise every example alike (calibrated probabilities)."""
    n_features = len(xs[0])
    w = [0.0] * (n_features + 1)
    pos = sum(ys) or 1
    neg = (len(ys) - sum(ys)) or 1
    weights = [(0.5 / pos if y else 0.5 / neg) if balanced else 1 / len(ys) for y in ys]
    for _ in range(steps):
        grad = [0.0] * (n_features + 1)
        for x, y, sw in zip(xs, ys, weights, strict=True):
            p = _sigmoid(w[0] + sum(wi * xi for wi, xi in zip(w[1:], x, strict=True)))
            err = (p - y) * sw
            grad[0] += err
            for i, xi in enumerate(x):
                grad[i + 1] += err * xi
        for i in range(n_features + 1):
            w[i] -= rate * (grad[i] + (l2 * w[i] if i else 0.0))
    return w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.train", description=__doc__)
    parser.add_argument("--max-wrong", type=float, default=0.03)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write model.json")
    args = parser.parse_args(argv)
    teardown = throwaway_database()
    try:
        from knowledge import finder, importing

        importing.import_path(DATA / "kb.json")
        rows = load(DATA / "train.jsonl")
        neutral = {
            "rank": {"bias": 0.0, **dict.fromkeys(finder.FEATURES, 1.0)},
            "confidence": {"bias": 0.0, "score": 1.0, "margin": 0.0, "floor": FLOOR},
        }
        found = [finder.rank(r["text"], channel=r["channel"], limit=0, model=neutral) for r in rows]
        xs, ys = [], []
        for row, result in zip(rows, found, strict=True):
            for cand in result.candidates:
                xs.append([cand.features[f] for f in finder.FEATURES])
                ys.append(int(cand.answer.key == row["answer_key"]))
        w = fit(xs, ys)
        rank_model = {"bias": round(w[0], 4)}
        rank_model.update({f: round(v, 4) for f, v in zip(finder.FEATURES, w[1:], strict=True)})
        model = {"rank": rank_model, "confidence": {"floor": FLOOR}}
        cx, cy = [], []
        for row, result in zip(rows, found, strict=True):
            scores = sorted(
                ((finder.score_of(c.features, model), c.answer.key) for c in result.candidates),
                reverse=True,
            )
            if not scores:
                continue
            top, key = scores[0]
            nxt = scores[1][0] if len(scores) > 1 else FLOOR
            cx.append([top, top - nxt])
            cy.append(int(key == row["answer_key"]))
        c = fit(cx, cy, l2=0.001, balanced=False)
        model["confidence"].update(
            {"bias": round(c[0], 4), "score": round(c[1], 4), "margin": round(c[2], 4)}
        )
        confidences = [
            (finder.confidence_of(x[0], x[1], model), y) for x, y in zip(cx, cy, strict=True)
        ]
        print(json.dumps(model, indent=1))
        answerable = sum(1 for r in rows if r["answer_key"])
        best = None
        for step in range(5, 100):
            threshold = step / 100
            wrong = sum(1 for p, y in confidences if p >= threshold and not y) / len(rows)
            right = sum(1 for p, y in confidences if p >= threshold and y) / answerable
            print(f"threshold {threshold:.2f}: top-1 {right:.3f} wrong {wrong:.3f}")
            if best is None and wrong <= args.max_wrong:
                best = threshold
        print(f"lowest threshold with wrong <= {args.max_wrong}: {best}")
        model["threshold_on_train"] = best
        if not args.dry_run:
            finder.MODEL_PATH.write_text(json.dumps(model, indent=1) + "\n")
        return 0
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main())
