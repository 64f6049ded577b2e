"""``python -m understanding.evaluate``: the understanding layer against the labelled sets.

Reads eval/data/{questions,temperature,language}/<split>.jsonl (format in
understanding/README.md) and prints, per language and overall: question-kind accuracy with
per-kind precision/recall and the confusion matrix, question detection (precision/recall of the
question sentences found), temperature accuracy with its confusion matrix and the calm<->angry
count, language accuracy on texts of 20+ characters and on short ones, the abstention rate and
the wrong answers. Each target of issue #18 is printed MET or MISSED; the exit code is 0 either
way (it reports, it does not gate).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from understanding import KINDS, TEMPERATURES, analyse
from understanding.questions import classify
from understanding.text import normalise

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "eval" / "data"
TARGETS = {
    "kind_overall": 0.90,
    "kind_per_language": 0.85,
    "temperature": 0.85,
    "language_long": 0.97,
}
LONG = 20  # characters: "texts of 20+ characters"


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


# --- matching found questions with labelled ones -------------------------------------------------


def same_question(found: str, labelled: str) -> bool:
    """Loose match: one contains the other, or most words are shared (greetings aside)."""
    a, b = normalise(found).strip(), normalise(labelled).strip()
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    ta, tb = set(a.split()), set(b.split())
    return len(ta & tb) / max(1, min(len(ta), len(tb))) >= 0.7


# --- metrics --------------------------------------------------------------------------------------


def confusion(pairs: list[tuple[str, str]], labels: list[str]) -> dict:
    matrix = {t: dict.fromkeys(labels, 0) for t in labels}
    for true, pred in pairs:
        matrix.setdefault(true, dict.fromkeys(labels, 0))
        matrix[true][pred] = matrix[true].get(pred, 0) + 1
    return matrix


def per_label(pairs: list[tuple[str, str]], labels: list[str]) -> dict:
    out = {}
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label and p == label)
        predicted = sum(1 for _, p in pairs if p == label)
        actual = sum(1 for t, _ in pairs if t == label)
        out[label] = {
            "precision": tp / predicted if predicted else None,
            "recall": tp / actual if actual else None,
            "n": actual,
        }
    return out


def accuracy(pairs: list[tuple[str, str]]) -> float | None:
    return sum(1 for t, p in pairs if t == p) / len(pairs) if pairs else None


def eval_questions(rows: list[dict]) -> dict:
    kinds: dict[str, list[tuple[str, str]]] = {}
    detect: dict[str, Counter] = {}
    errors: list[tuple[str, str, str]] = []
    for row in rows:
        lang = row.get("lang", "?")
        found = [q.text for q in analyse(row["text"], channel=row.get("channel", "")).questions]
        labelled = row.get("questions", [])
        c = detect.setdefault(lang, Counter())
        c["found"] += len(found)
        c["labelled"] += len(labelled)
        c["found_matched"] += sum(
            1 for f in found if any(same_question(f, q["text"]) for q in labelled)
        )
        c["labelled_matched"] += sum(
            1 for q in labelled if any(same_question(f, q["text"]) for f in found)
        )
        for q in labelled:
            pred, _ = classify(q["text"])
            kinds.setdefault(lang, []).append((q["kind"], pred))
            if pred != q["kind"]:
                errors.append((q["kind"], pred, q["text"]))
    out = {"languages": {}, "errors": errors}
    every: list[tuple[str, str]] = []
    total = Counter()
    for lang in sorted(set(kinds) | set(detect)):
        pairs = kinds.get(lang, [])
        every += pairs
        total.update(detect.get(lang, Counter()))
        out["languages"][lang] = _question_block(pairs, detect.get(lang, Counter()))
    out["overall"] = _question_block(every, total)
    return out


def _question_block(pairs: list[tuple[str, str]], c: Counter) -> dict:
    return {
        "n": len(pairs),
        "accuracy": accuracy(pairs),
        "per_kind": per_label(pairs, list(KINDS)),
        "confusion": confusion(pairs, list(KINDS)),
        "detection_precision": c["found_matched"] / c["found"] if c["found"] else None,
        "detection_recall": c["labelled_matched"] / c["labelled"] if c["labelled"] else None,
        "found": c["found"],
        "labelled": c["labelled"],
    }


def eval_temperature(rows: list[dict]) -> dict:
    by_lang: dict[str, list[tuple[str, str]]] = {}
    errors = []
    for row in rows:
        pred = analyse(row["text"], channel=row.get("channel", "")).temperature
        by_lang.setdefault(row.get("lang", "?"), []).append((row["label"], pred))
        if pred != row["label"]:
            errors.append((row["label"], pred, row["text"]))
    out = {"languages": {}, "errors": errors}
    every: list[tuple[str, str]] = []
    for lang, pairs in sorted(by_lang.items()):
        every += pairs
        out["languages"][lang] = _temperature_block(pairs)
    out["overall"] = _temperature_block(every)
    return out


def _temperature_block(pairs: list[tuple[str, str]]) -> dict:
    return {
        "n": len(pairs),
        "accuracy": accuracy(pairs),
        "per_label": per_label(pairs, list(TEMPERATURES)),
        "confusion": confusion(pairs, list(TEMPERATURES)),
        "calm_angry": sum(1 for t, p in pairs if {t, p} == {"calm", "angry"}),
    }


def eval_language(rows: list[dict]) -> dict:
    long_ok: list[bool] = []
    short_ok: list[bool] = []
    pairs: list[tuple[str, str]] = []
    errors = []
    abstained = wrong = 0
    for row in rows:
        pred = analyse(row["text"], channel=row.get("channel", "")).language
        true = row["lang"]
        ok = pred == true or (pred == "" and bool(row.get("ambiguous", False)))
        (long_ok if len(row["text"].strip()) >= LONG else short_ok).append(ok)
        pairs.append((true, pred or "unknown"))
        if pred == "":
            abstained += 1
        elif pred != true:
            wrong += 1
        if not ok:
            errors.append((true, pred or "unknown", row["text"]))
    labels = sorted({t for t, _ in pairs} | {p for _, p in pairs})
    n = len(rows)
    return {
        "n": n,
        "long_n": len(long_ok),
        "long_accuracy": sum(long_ok) / len(long_ok) if long_ok else None,
        "short_n": len(short_ok),
        "short_accuracy": sum(short_ok) / len(short_ok) if short_ok else None,
        "abstention_rate": abstained / n if n else None,
        "wrong": wrong,
        "confusion": confusion(pairs, labels),
        "errors": errors,
    }


# --- printing ------------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "  n/a" if x is None else f"{100 * x:5.1f}%"


def print_matrix(matrix: dict, labels: list[str], out) -> None:
    width = max(7, *(len(x) + 1 for x in labels))
    out.write("  true \\ pred " + "".join(f"{x:>{width}}" for x in labels) + "\n")
    for true in labels:
        if true in matrix:
            row = matrix[true]
            out.write(f"  {true:<12}" + "".join(f"{row.get(p, 0):>{width}}" for p in labels) + "\n")


def verdict(value: float | None, target: float) -> str:
    return "MET" if value is not None and value >= target else "MISSED"


def report(q: dict, t: dict, lang: dict, out=None, show_errors: int = 0) -> list[str]:
    out = out or sys.stdout
    verdicts: list[str] = []
    w = out.write
    if q["overall"]["n"]:
        w("\n== Question kind (classifying each labelled question sentence) ==\n")
        for name, block in [*q["languages"].items(), ("overall", q["overall"])]:
            w(f"\n[{name}] n={block['n']} accuracy {pct(block['accuracy'])}\n")
            w("  kind      precision  recall    n\n")
            for kind, s in block["per_kind"].items():
                w(f"  {kind:<9} {pct(s['precision'])}   {pct(s['recall'])}  {s['n']:>3}\n")
            print_matrix(block["confusion"], list(KINDS), out)
            w(
                f"  detection: {block['found']} found / {block['labelled']} labelled question "
                f"sentences, precision {pct(block['detection_precision'])}, "
                f"recall {pct(block['detection_recall'])}\n"
            )
        for name, block in q["languages"].items():
            v = verdict(block["accuracy"], TARGETS["kind_per_language"])
            verdicts.append(f"question kind [{name}] >= 0.85: {pct(block['accuracy'])} {v}")
        v = verdict(q["overall"]["accuracy"], TARGETS["kind_overall"])
        verdicts.append(f"question kind overall >= 0.90: {pct(q['overall']['accuracy'])} {v}")
        _errors(q["errors"], show_errors, out)
    if t["overall"]["n"]:
        w("\n== Temperature ==\n")
        for name, block in [*t["languages"].items(), ("overall", t["overall"])]:
            w(
                f"\n[{name}] n={block['n']} accuracy {pct(block['accuracy'])}, calm<->angry "
                f"confusions: {block['calm_angry']}\n"
            )
            w("  label     precision  recall    n\n")
            for label, s in block["per_label"].items():
                w(f"  {label:<9} {pct(s['precision'])}   {pct(s['recall'])}  {s['n']:>3}\n")
            print_matrix(block["confusion"], list(TEMPERATURES), out)
        o = t["overall"]
        ok = o["accuracy"] is not None and o["accuracy"] >= TARGETS["temperature"]
        ok = ok and o["calm_angry"] == 0
        verdicts.append(
            f"temperature >= 0.85 and no calm<->angry: {pct(o['accuracy'])}, "
            f"{o['calm_angry']} calm<->angry {'MET' if ok else 'MISSED'}"
        )
        _errors(t["errors"], show_errors, out)
    if lang["n"]:
        w("\n== Language (no prior) ==\n")
        w(
            f"  texts of {LONG}+ characters: n={lang['long_n']} "
            f"accuracy {pct(lang['long_accuracy'])}\n"
        )
        w(
            f"  shorter texts: n={lang['short_n']} accuracy {pct(lang['short_accuracy'])} "
            "(unknown counts as right only for a text labelled ambiguous)\n"
        )
        w(
            f"  abstention (unknown) rate {pct(lang['abstention_rate'])}, wrong language "
            f"{lang['wrong']} of {lang['n']}\n"
        )
        labels = sorted(lang["confusion"])
        print_matrix(lang["confusion"], labels, out)
        v = verdict(lang["long_accuracy"], TARGETS["language_long"])
        verdicts.append(f"language on 20+ characters >= 0.97: {pct(lang['long_accuracy'])} {v}")
        _errors(lang["errors"], show_errors, out)
    w("\n== Targets (issue #18) ==\n")
    for line in verdicts:
        w(f"  {line}\n")
    return verdicts


def _errors(errors: list, limit: int, out) -> None:
    if not limit or not errors:
        return
    out.write(f"  first {min(limit, len(errors))} of {len(errors)} errors (true -> predicted):\n")
    for true, pred, text in errors[:limit]:
        out.write(f"    {true} -> {pred}: {text[:110]!r}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m understanding.evaluate", description=__doc__)
    parser.add_argument("--split", default="test", choices=["train", "test"])
    parser.add_argument("--data", type=Path, default=DATA, help="directory of the labelled sets")
    parser.add_argument("--errors", type=int, default=0, help="print the first N errors per set")
    args = parser.parse_args(argv)
    q_rows = load(args.data / "questions" / f"{args.split}.jsonl")
    t_rows = load(args.data / "temperature" / f"{args.split}.jsonl")
    l_rows = load(args.data / "language" / f"{args.split}.jsonl")
    print(
        f"understanding evaluation on the {args.split} split of {args.data}: "
        f"{len(q_rows)} question messages, {len(t_rows)} temperature texts, "
        f"{len(l_rows)} language texts"
    )
    if args.split == "train":
        print("(train split: for development only; the held-out figures are --split test)")
    report(
        eval_questions(q_rows),
        eval_temperature(t_rows),
        eval_language(l_rows),
        show_errors=args.errors,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
