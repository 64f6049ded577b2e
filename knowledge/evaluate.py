"""``python -m knowledge.evaluate [--split train|test] [--data DIR]``: answer-finding scored on
a labelled set. The knowledge base (``kb.json``, the import format) is imported into a throwaway
database (SQLite in a temporary directory, or a test database next to ``DATABASE_URL``'s
PostgreSQL) and every message of the split is answered:

- top-1 accuracy on answerable messages (the right answer given),
- correct "no answer" on messages with none,
- the wrong-answer rate: an answer given but not the right one, over all messages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "eval" / "data" / "knowledge"
TARGET_TOP1 = 0.85
TARGET_WRONG = 0.05


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def throwaway_database():
    """Set Django up on a database of its own; returns the teardown."""
    tmp = tempfile.mkdtemp(prefix="knowledge-eval-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["HUB_VAR_DIR"] = tmp
    import django

    django.setup()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite":  # never the test suite's database: a name of its own
        connection.settings_dict.setdefault("TEST", {})["NAME"] = (
            f"{old_name}_knowledge_eval_{os.getpid()}"
        )
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    def teardown():
        connection.creation.destroy_test_db(old_name, verbosity=0)

    return teardown


def score(rows: list[dict], answer_of) -> dict:
    """``answer_of(row) -> key | None``; the figures per language and overall."""
    groups: dict[str, dict] = {}
    for row in rows:
        got = answer_of(row)
        for name in ("all", row["lang"]):
            g = groups.setdefault(
                name, {"n": 0, "answerable": 0, "right": 0, "none": 0, "none_right": 0, "wrong": 0}
            )
            g["n"] += 1
            if row["answer_key"]:
                g["answerable"] += 1
                g["right"] += got == row["answer_key"]
            else:
                g["none"] += 1
                g["none_right"] += got is None
            g["wrong"] += got is not None and got != row["answer_key"]
    out = {}
    for name, g in groups.items():
        out[name] = {
            "messages": g["n"],
            "top1": round(g["right"] / g["answerable"], 4) if g["answerable"] else None,
            "no_answer_correct": round(g["none_right"] / g["none"], 4) if g["none"] else None,
            "wrong_rate": round(g["wrong"] / g["n"], 4),
        }
    return out


def format_result(result: dict, split: str) -> str:
    lines = [f"Knowledge answer-finding on {split} ({result['all']['messages']} messages)"]
    lines.append(f"{'':6} {'n':>4} {'top-1':>7} {'no-answer ok':>13} {'wrong':>7}")
    for name in ("it", "en", "all"):
        r = result.get(name)
        if not r:
            continue
        top1 = "-" if r["top1"] is None else f"{r['top1']:.3f}"
        none = "-" if r["no_answer_correct"] is None else f"{r['no_answer_correct']:.3f}"
        lines.append(f"{name:6} {r['messages']:>4} {top1:>7} {none:>13} {r['wrong_rate']:>7.3f}")
    a = result["all"]
    lines.append(
        f"top-1 {a['top1']:.3f} (target >= {TARGET_TOP1}) "
        f"{'MET' if a['top1'] >= TARGET_TOP1 else 'MISSED'}; "
        f"wrong-answer rate {a['wrong_rate']:.3f} (target <= {TARGET_WRONG}) "
        f"{'MET' if a['wrong_rate'] <= TARGET_WRONG else 'MISSED'}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.evaluate", description=__doc__)
    parser.add_argument("--split", choices=["train", "test"], default="test")
    parser.add_argument("--data", type=Path, default=DATA, help="kb.json + <split>.jsonl")
    parser.add_argument("--errors", action="store_true", help="list the misses (train only)")
    args = parser.parse_args(argv)
    teardown = throwaway_database()
    try:
        from knowledge import importing
        from knowledge.finder import find_answers

        report = importing.import_path(args.data / "kb.json")
        if report.errors:
            print("\n".join(str(e) for e in report.errors), file=sys.stderr)
        rows = load(args.data / f"{args.split}.jsonl")
        misses = []

        def answer_of(row):
            found = find_answers(row["text"], channel=row["channel"])
            best = found.best
            got = best.answer.key if best else None
            if got != row["answer_key"]:
                top = found.candidates[0] if found.candidates else None
                misses.append((row, got, top))
            return got

        result = score(rows, answer_of)
        print(format_result(result, args.split))
        if args.errors and args.split == "train":
            for row, got, top in misses:
                t = f"{top.answer.key}@{top.confidence:.2f}" if top else "-"
                print(f"  want {row['answer_key']} got {got} top {t}: {row['text'][:90]!r}")
        return 0
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main())
