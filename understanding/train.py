"""``python -m understanding.train``: train the temperature fallback model on the TRAIN split.

Needs scikit-learn (dev dependency). Writes understanding/models/temperature.json (the non-zero
weights of a logistic regression over understanding.model.features) and prints a 5-fold
cross-validation on train of the combination used at run time (understanding.temperature): the
rules decide whenever they find evidence; when they find none, the model may lift "calm" to
"urgent" or "annoyed" (never to "angry") if its probability reaches FALLBACK_MIN.
"""

from __future__ import annotations

import argparse
import json

from understanding.evaluate import DATA, load
from understanding.model import MODELS, features

C = 4.0
SEED = 0


def fit(texts: list[str], labels: list[str]):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = DictVectorizer()
    x = vec.fit_transform([features(t) for t in texts])
    clf = LogisticRegression(C=C, max_iter=5000, random_state=SEED).fit(x, labels)
    return vec, clf


def export(vec, clf) -> dict:
    names = vec.get_feature_names_out()
    weights = {}
    for j, name in enumerate(names):
        w = [round(float(clf.coef_[k][j]), 4) for k in range(len(clf.classes_))]
        if any(abs(v) >= 1e-4 for v in w):
            weights[str(name)] = w
    return {
        "classes": [str(c) for c in clf.classes_],
        "intercept": [round(float(b), 4) for b in clf.intercept_],
        "weights": weights,
        "trained_on": "eval/data/temperature/train.jsonl",
        "features": "understanding.model.features",
        "C": C,
    }


def cross_validate(rows: list[dict]) -> None:
    from sklearn.model_selection import StratifiedKFold

    from understanding import temperature as t

    texts = [r["text"] for r in rows]
    labels = [r["label"] for r in rows]
    thresholds = (0.4, 0.5, 0.6, 0.7)
    right = dict.fromkeys(("rules", "model", *thresholds), 0)
    calm_lifted = dict.fromkeys(thresholds, 0)
    calm_n = sum(1 for lab in labels if lab == "calm")
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED).split(texts, labels)
    for train_idx, test_idx in folds:
        vec, clf = fit([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        for i in test_idx:
            row = clf.predict_proba(vec.transform([features(texts[i])]))[0]
            proba = dict(zip(clf.classes_, row, strict=True))
            rules, _, _ = t.rules_temperature(texts[i])
            right["rules"] += rules == labels[i]
            right["model"] += max(proba, key=proba.get) == labels[i]
            for tau in thresholds:
                final = t.combine(rules, proba, tau)
                right[tau] += final == labels[i]
                calm_lifted[tau] += labels[i] == "calm" and final != "calm"
    n = len(rows)
    print(f"temperature TRAIN split, {n} texts, 5-fold cross-validation")
    print("(the rules were written looking at all of train: their figure here is optimistic)")
    print(f"  rules alone                      {100 * right['rules'] / n:5.1f}%")
    print(f"  model alone                      {100 * right['model'] / n:5.1f}%")
    for tau in thresholds:
        print(
            f"  rules, model fallback >= {tau:<4}   {100 * right[tau] / n:5.1f}%   calm texts "
            f"lifted: {calm_lifted[tau]} of {calm_n}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m understanding.train")
    parser.add_argument("--no-cv", action="store_true")
    args = parser.parse_args(argv)
    rows = load(DATA / "temperature" / "train.jsonl")
    if not args.no_cv:
        cross_validate(rows)
    vec, clf = fit([r["text"] for r in rows], [r["label"] for r in rows])
    MODELS.mkdir(exist_ok=True)
    path = MODELS / "temperature.json"
    data = export(vec, clf)
    path.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {path.relative_to(MODELS.parent.parent)}: {len(data['weights'])} features")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
