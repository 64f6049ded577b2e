"""Answer validation and the short variant's sentence count."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from knowledge import services
from knowledge.models import Answer, count_sentences
from knowledge.services import AnswerData

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("", 0),
        ("Shipping costs €6.90 and is free from €49.", 1),
        ("One. Two! Three?", 3),
        ("Ciao, e.g. questo. Secondo.", 2),
        ("Express costs 12.90 and arrives the next day (capitals).", 1),
    ],
)
def test_count_sentences(text, n):
    assert count_sentences(text) == n


def _data(**kw):
    base = {"key": "a-key", "texts": {"en": {"title": "T", "body": "B", "short": "S."}}}
    base.update(kw)
    return AnswerData(**base)


def test_short_variant_at_most_two_sentences():
    with pytest.raises(ValidationError) as exc:
        services.save_answer(
            _data(texts={"en": {"title": "T", "body": "B", "short": "One. Two. Three."}})
        )
    assert "texts.en.short" in exc.value.message_dict
    assert not Answer.objects.exists()


def test_at_least_one_language_and_a_slug_key():
    with pytest.raises(ValidationError) as exc:
        services.save_answer(_data(texts={}))
    assert "texts" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.save_answer(_data(key="not a slug"))
    assert "key" in exc.value.message_dict


def test_kinds_must_be_known():
    with pytest.raises(ValidationError) as exc:
        services.save_answer(_data(kinds=["when", "soon"]))
    assert "kinds" in exc.value.message_dict


def test_history_records_who_changed_what(django_user_model):
    user = django_user_model.objects.create_user("editor")
    answer, outcome = services.save_answer(_data(), by=user)
    assert outcome == "created"
    _, outcome = services.save_answer(_data(status="archived"), by=user)
    assert outcome == "updated"
    records = list(answer.history.all())
    assert [r.status for r in records] == ["archived", "published"]
    assert records[0].history_user == user
    _, outcome = services.save_answer(_data(status="archived"), by=user)
    assert outcome == "unchanged"
    assert answer.history.count() == 2
