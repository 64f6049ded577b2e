"""The bench case's generated knowledge base is importable (every variant valid)."""

from __future__ import annotations

import json
import random

import pytest

from bench.knowledge_case import DATA, _variant
from knowledge import importing


@pytest.mark.django_db
def test_generated_variants_import_without_errors():
    items = json.loads((DATA / "kb.json").read_text(encoding="utf-8"))
    rng = random.Random(19)
    records = [(f"item {i}", _variant(item, i, rng)) for i, item in enumerate(items, 1)]
    report = importing.import_records(records)
    assert report.errors == []
    assert report.created == len(items)
