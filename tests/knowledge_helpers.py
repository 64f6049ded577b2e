"""A small knowledge base for the knowledge tests (a few answers of the labelled set's shop)."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge import importing

KB = Path(__file__).resolve().parent.parent / "eval" / "data" / "knowledge" / "kb.json"
KEYS = (
    "shipping-time-italy",
    "shipping-cost-italy",
    "refund-timing",
    "returns-policy",
    "jug-size-choice",
    "showroom-address",
    "password-reset",
)


def kb_items(keys=KEYS) -> list[dict]:
    items = json.loads(KB.read_text(encoding="utf-8"))
    return [i for i in items if i["key"] in keys] if keys else items


def load_kb(keys=KEYS) -> importing.ImportReport:
    return importing.import_records([(f"item {i}", x) for i, x in enumerate(kb_items(keys), 1)])
