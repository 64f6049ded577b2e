"""Precision and recall of the consent classifier on a labelled set.

    python -m consent.evaluate [eval/data/optout/test.jsonl] [--errors]

Each line: {"text", "lang", "channel", "label": "opt_out"|"opt_in"|"none", "unsure_ok": bool}.
Only a *sure* decision acts, so "unsure" counts as not opted out (nor in): an unsure answer on a
true opt-out is a miss, except on an item marked ``unsure_ok`` when the suggestion shown to the
agent is the right one (it is then one click away). A false opt-out is a sure opt-out on an item
that is not one: the costliest error, listed in full.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from consent.intent import NONE, OPT_IN, OPT_OUT, classify

DEFAULT = Path(__file__).resolve().parents[1] / "eval" / "data" / "optout" / "test.jsonl"
TARGETS = {"opt_out_precision": 0.98, "opt_out_recall": 0.9}


@dataclass
class Score:
    label: str
    true_positive: int = 0
    predicted: int = 0
    actual: int = 0
    false_positives: list[dict] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.actual if self.actual else 1.0


@dataclass
class Report:
    items: int
    scores: dict[str, Score]
    unsure: int  # items sent to an agent
    unsure_needless: list[dict]  # of them, clear items (not unsure_ok)


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(items: list[dict]) -> Report:
    scores = {label: Score(label) for label in (OPT_OUT, OPT_IN)}
    unsure, needless = 0, []
    for item in items:
        decision = classify(item["text"])
        row = {**item, "intent": decision.intent, "sure": decision.sure, "rule": decision.rule}
        if decision.intent != NONE and not decision.sure:
            unsure += 1
            if not item.get("unsure_ok"):
                needless.append(row)
        for label, score in scores.items():
            acted = decision.sure and decision.intent == label
            suggested = item.get("unsure_ok") and not decision.sure and decision.intent == label
            if item["label"] == label:
                score.actual += 1
                if acted or suggested:
                    score.true_positive += 1
                    score.predicted += 1 if suggested else 0
                else:
                    score.misses.append(row)
            if acted:
                score.predicted += 1
                if item["label"] != label:
                    score.false_positives.append(row)
    return Report(len(items), scores, unsure, needless)


def render(report: Report, *, errors: bool = False) -> str:
    out = [f"{report.items} labelled messages"]
    for label, score in report.scores.items():
        out.append(
            f"{label:8} precision {score.precision:.3f}  recall {score.recall:.3f}  "
            f"({score.true_positive} of {score.actual}; {len(score.false_positives)} false)"
        )
    out.append(
        f"unsure (to an agent): {report.unsure}, of them {len(report.unsure_needless)} "
        "on items that are not borderline"
    )
    opt_out = report.scores[OPT_OUT]
    out.append(
        f"targets: opt-out precision >= {TARGETS['opt_out_precision']} "
        f"{'met' if opt_out.precision >= TARGETS['opt_out_precision'] else 'MISSED'}, "
        f"recall >= {TARGETS['opt_out_recall']} "
        f"{'met' if opt_out.recall >= TARGETS['opt_out_recall'] else 'MISSED'}"
    )
    out.append("false opt-outs:")
    out.extend(
        f"  {row['text']!r} ({row['label']}, rule {row['rule']})" for row in opt_out.false_positives
    )
    if not opt_out.false_positives:
        out.append("  none")
    if errors:
        for label, score in report.scores.items():
            out.append(f"missed {label}:")
            out.extend(
                f"  {row['text']!r} -> {row['intent']}"
                f"{'' if row['sure'] else ' (unsure)'} {row['rule']}"
                for row in score.misses
            )
            if label == OPT_IN:
                out.append("false opt-ins:")
                out.extend(f"  {row['text']!r} ({row['label']})" for row in score.false_positives)
        out.append("unsure on clear items:")
        out.extend(
            f"  {row['text']!r} ({row['label']}) -> {row['intent']} {row['rule']}"
            for row in report.unsure_needless
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--errors", action="store_true", help="list every miss too")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if not path.exists():
        print(f"no labelled set at {path}", file=sys.stderr)
        return 2
    print(f"{path}")
    print(render(evaluate(load(path)), errors=args.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
