"""Import/export of answers (issue #19): JSON, CSV, Markdown; idempotent by key; bad records
reported with where and which field; round trips."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from knowledge import importing
from knowledge.models import Answer, AnswerText
from tests.knowledge_helpers import KB, kb_items, load_kb

pytestmark = pytest.mark.django_db


def _snapshot() -> list:
    return [
        (
            a.key,
            a.status,
            a.kinds,
            a.topics,
            a.url,
            sorted((t.language, t.title, t.body, t.short) for t in a.texts.all()),
        )
        for a in Answer.objects.prefetch_related("texts").order_by("key")
    ]


def test_import_command_creates_then_is_unchanged(tmp_path):
    out = StringIO()
    call_command("import_knowledge", str(KB), stdout=out)
    assert "created 40, updated 0, unchanged 0, errors 0" in out.getvalue()
    assert AnswerText.objects.count() == 80
    out = StringIO()
    call_command("import_knowledge", str(KB), stdout=out)
    assert "created 0, updated 0, unchanged 40, errors 0" in out.getvalue()


def test_update_in_place_records_history(tmp_path):
    load_kb()
    answer = Answer.objects.get(key="refund-timing")
    items = kb_items(["refund-timing"])
    items[0]["body"]["en"] = "Refunds take 3 days."
    path = tmp_path / "kb.json"
    path.write_text(json.dumps(items))
    report = importing.import_path(path)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    text = AnswerText.objects.get(answer=answer, language="en")
    assert text.body == "Refunds take 3 days."
    assert text.history.count() == 2
    assert text.history.first().body == "Refunds take 3 days."
    assert Answer.objects.get(pk=answer.pk).pk == answer.pk  # same row, not a new one


def test_bad_record_reported_with_where_and_field_rest_imported(tmp_path):
    items = kb_items(["refund-timing", "returns-policy"])
    items.insert(1, {"key": "bad key!", "title": {"it": "x"}, "body": {"it": "y"}})
    items.append(
        {
            "key": "too-long",
            "title": {"en": "T"},
            "body": {"en": "B"},
            "short": {"en": "One. Two. Three."},
        }
    )
    items.append(
        {"key": "no-kind", "title": {"en": "T"}, "body": {"en": "B"}, "kinds": ["whenever"]}
    )
    path = tmp_path / "kb.json"
    path.write_text(json.dumps(items))
    out, err = StringIO(), StringIO()
    call_command("import_knowledge", str(path), stdout=out, stderr=err)
    assert "created 2, updated 0, unchanged 0, errors 3" in out.getvalue()
    errors = err.getvalue()
    assert "item 2: key:" in errors
    assert "item 4: texts.en.short:" in errors
    assert "item 5: kinds:" in errors
    assert set(Answer.objects.values_list("key", flat=True)) == {"refund-timing", "returns-policy"}


def test_csv_bad_line_has_its_line_number(tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text(
        "key,language,title,body,short,kinds,url,topics\n"
        "a-one,en,Title,Body,Short.,when,,x|y\n"
        ",en,Title,Body,,,,\n"
        "a-two,it,Titolo,Corpo,Breve.,what|how,https://example.com/a,z\n"
    )
    report = importing.import_path(path)
    assert report.created == 2
    assert [(e.where, e.field) for e in report.errors] == [("line 3", "key")]
    assert Answer.objects.get(key="a-two").kinds == ["what", "how"]
    assert Answer.objects.get(key="a-one").topics == ["x", "y"]


def test_markdown_front_matter_is_parsed_safely(tmp_path):
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "gift.it.md").write_text(
        "---\ntitle: Confezione regalo\nshort: Si, costa 3 euro.\nkinds: [what]\n"
        "topics: [regalo]\n---\nLa confezione regalo costa 3 euro.\n"
    )
    (folder / "evil.en.md").write_text(
        "---\ntitle: !!python/object/apply:os.system [echo]\n---\nx\n"
    )
    report = importing.import_path(folder)
    assert report.created == 1
    assert report.errors[0].where == "evil.en.md"
    assert report.errors[0].field == "front matter"
    text = AnswerText.objects.get(answer__key="gift")
    assert (text.title, text.short, text.body) == (
        "Confezione regalo",
        "Si, costa 3 euro.",
        "La confezione regalo costa 3 euro.",
    )


@pytest.mark.parametrize("fmt", ["json", "csv", "md"])
def test_round_trip_is_unchanged(tmp_path, fmt):
    load_kb(None)
    before = _snapshot()
    target = tmp_path / ("out" if fmt == "md" else f"out.{fmt}")
    call_command("export_knowledge", str(target), "--format", fmt, stdout=StringIO())
    Answer.objects.all().delete()
    report = importing.import_path(target, fmt)
    assert (report.created, report.errors) == (40, [])
    assert _snapshot() == before
    again = importing.import_path(target, fmt)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 40)
