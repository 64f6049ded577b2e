"""``python -m understanding.kind_model_cv``: does a learned model beat the kind rules? (No.)

The measurement behind shipping rules only (understanding/README.md). Needs scikit-learn, which is
not a dependency of the hub (``pip install scikit-learn`` to rerun). On the questions set's TRAIN
split, 5-fold stratified cross-validation of a logistic regression over word 1-2-grams and
character 2-5-grams of the question head (the same normalisation as the rules), alone and combined
with the rules (rules when their confidence reaches a threshold, the model otherwise). With
``--trec``, the same model trained on all of train is also scored on the TREC questions of
../shared/corpora (classes mapped to ours, ENTY left out), a set neither was written for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from understanding.evaluate import DATA, load
from understanding.questions import classify, strip_lead
from understanding.text import normalise

TREC = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "questions"
THRESHOLDS = (0.6, 0.7, 0.8, 0.86)


def head(text: str) -> str:
    return strip_lead(normalise(text))[0]


def model():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    return make_pipeline(features, LogisticRegression(C=10, max_iter=2000))


def trec_kind(row: dict) -> str | None:
    coarse, fine = row["coarse"], row["fine"]
    if coarse == "HUM":
        return "who"
    if coarse == "LOC":
        return "where"
    if coarse == "NUM":
        return "when" if fine in ("date", "period") else "what"
    if coarse == "DESC":
        return {"reason": "why", "manner": "how"}.get(fine, "what")
    return "what" if coarse == "ABBR" else None


def score(texts: list[str], gold: list[str], predicted: list[str]) -> dict[str, float]:
    rules = [classify(t) for t in texts]
    out = {"rules": _acc([r[0] for r in rules], gold), "model": _acc(predicted, gold)}
    for tau in THRESHOLDS:
        combined = [r[0] if r[1] >= tau else p for r, p in zip(rules, predicted, strict=True)]
        out[f"rules>={tau}, else model"] = _acc(combined, gold)
    return out


def _acc(pred: list[str], gold: list[str]) -> float:
    return sum(p == g for p, g in zip(pred, gold, strict=True)) / len(gold)


def main(argv: list[str] | None = None) -> int:
    try:
        from sklearn.model_selection import StratifiedKFold
    except ImportError:
        print("needs scikit-learn (pip install scikit-learn); it is not a dependency of the hub")
        return 0
    parser = argparse.ArgumentParser(prog="python -m understanding.kind_model_cv")
    parser.add_argument("--trec", action="store_true")
    args = parser.parse_args(argv)
    rows = load(DATA / "questions" / "train.jsonl")
    texts = [q["text"] for r in rows for q in r["questions"]]
    gold = [q["kind"] for r in rows for q in r["questions"]]
    totals: dict[str, list[float]] = {}
    for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, gold):
        m = model().fit([head(texts[i]) for i in train_idx], [gold[i] for i in train_idx])
        fold_texts = [texts[i] for i in test_idx]
        predicted = list(m.predict([head(t) for t in fold_texts]))
        for name, value in score(fold_texts, [gold[i] for i in test_idx], predicted).items():
            totals.setdefault(name, []).append(value)
    print(f"questions TRAIN split, {len(texts)} questions, 5-fold cross-validation (mean accuracy)")
    print("(the rules were written looking at all of train: their figure here is optimistic)")
    for name, values in totals.items():
        print(f"  {name:<28} {100 * sum(values) / len(values):5.1f}%")
    if args.trec:
        trec = [json.loads(line) for line in (TREC / "trec_questions.jsonl").open()]
        pairs = [(trec_kind(r), r["question"]) for r in trec if trec_kind(r)]
        m = model().fit([head(t) for t in texts], gold)
        t_texts = [q for _, q in pairs]
        t_gold = [str(k) for k, _ in pairs]
        predicted = list(m.predict([head(t) for t in t_texts]))
        print(f"TREC questions (mapped, ENTY left out): {len(pairs)}")
        for name, value in score(t_texts, t_gold, predicted).items():
            print(f"  {name:<28} {100 * value:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
