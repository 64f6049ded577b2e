"""Finding answers: stemming, synonyms across languages, typos and SMS spelling, the question
kind, the language, the index kept in sync, and no answer below the threshold."""

from __future__ import annotations

import pytest

from knowledge import services
from knowledge.finder import find_answers
from knowledge.models import Answer
from knowledge.textnorm import terms
from tests.knowledge_helpers import load_kb

pytestmark = pytest.mark.django_db


def test_terms_stem_and_add_concepts():
    assert "~refund" in terms("rivoglio i soldi indietro", "it")
    assert "~refund" in terms("I want my money back", "en")
    assert "~jug" in terms("la brocca da 2 litri", "it")
    assert "quando" not in terms("qnd arriva?", "it")  # SMS spelling expanded, question word


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Quanto costa la spedizione?", "shipping-cost-italy"),
        ("when will I get my money back?", "refund-timing"),
        ("qnd mi arriva il rimborso?", "refund-timing"),
        ("quanto costa la spedizzione x milano", "shipping-cost-italy"),  # typo + SMS
        ("which jug should i buy for a family of four", "jug-size-choice"),
        ("dove si trova il vostro showroom?", "showroom-address"),
    ],
)
def test_finds_the_right_answer(text, key):
    load_kb()
    found = find_answers(text, channel="sms")
    assert found.candidates[0].answer.key == key, [
        (c.answer.key, c.confidence) for c in found.candidates
    ]


def test_kind_is_a_signal():
    load_kb(["shipping-time-italy", "shipping-cost-italy"])
    when = find_answers("spedizione in Italia: quando?", channel="chat", kinds=["when"])
    what = find_answers("spedizione in Italia: quando?", channel="chat", kinds=["what"])
    assert when.candidates[0].answer.key == "shipping-time-italy"
    assert when.candidates[0].reasons["kind_match"] is True
    by_key = {c.answer.key: c.score for c in what.candidates}
    assert (
        by_key["shipping-cost-italy"]
        > {c.answer.key: c.score for c in when.candidates}["shipping-cost-italy"]
    )


def test_unrelated_message_gets_no_answer():
    load_kb()
    found = find_answers("Cercate personale per il magazzino di Torino?", channel="email")
    assert found.best is None


def test_drafts_are_never_found_and_edits_are_indexed():
    load_kb(["refund-timing", "returns-policy"])
    Answer.objects.filter(key="refund-timing").update(status="draft")
    found = find_answers("quando arriva il rimborso?", channel="chat")
    assert all(c.answer.key != "refund-timing" for c in found.candidates)
    data = services.answer_data(Answer.objects.get(key="returns-policy"))
    data.texts["en"]["title"] = "Returning a zeppelin"
    services.save_answer(data)
    found = find_answers("can I return my zeppelin?", channel="chat", language="en")
    assert found.candidates[0].answer.key == "returns-policy"
    assert "zeppelin" in found.candidates[0].reasons["matched_words"]
    services.delete_answer(Answer.objects.get(key="returns-policy"))
    assert find_answers("can I return my zeppelin?", channel="chat").candidates == []
