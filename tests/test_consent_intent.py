"""The natural-language opt-out/opt-in classifier (``consent.intent``): the examples of issue 17,
messages that merely contain such a word, and the unsure cases that go to an agent."""

from __future__ import annotations

import pytest

from consent.intent import NONE, OPT_IN, OPT_OUT, classify


@pytest.mark.parametrize(
    "text",
    [
        "please quit texting me",
        "niente più sms per favore",
        "toglietemi dai vostri contatti",
        "remove my number from your list",
        "STOP",
        "sotp",
        "unsubscirbe",
        "nn voglio + ricevere msg pls",
        "Pleeease stop sending me messages!!!",
        "basta con questi messaggi grazie",
        "please dont msg me again",
        "Per cortesia non scrivetemi più su WhatsApp",
    ],
)
def test_sure_opt_out(text):
    decision = classify(text)
    assert (decision.intent, decision.sure) == (OPT_OUT, True), decision


@pytest.mark.parametrize(
    "text",
    ["potete rimettermi gli avvisi?", "ok send me updates again", "START", "riattivate gli sms"],
)
def test_sure_opt_in(text):
    decision = classify(text)
    assert (decision.intent, decision.sure) == (OPT_IN, True), decision


@pytest.mark.parametrize(
    "text",
    [
        "the mixer won't stop making noise",
        "fermate la consegna, cambio indirizzo",
        "can I stop by the showroom tomorrow?",
        "please cancel my order",
        "non mi mandate più il frullatore, lo ritiro io",
        "remove the kettle from my basket",
        "riattivate il mio account",
        "",
    ],
)
def test_merely_containing_a_word_is_not_an_opt_out(text):
    decision = classify(text)
    assert decision.intent == NONE or not decision.sure, decision
    assert not (decision.intent == OPT_OUT and decision.sure)


@pytest.mark.parametrize(
    "text",
    [
        "how do I stop the promo texts?",
        "unsubscribe me from the newsletter... no wait, just change my email",
        "take me off the email mailing list",
        "no more promos but keep the delivery updates",
        "come faccio a non ricevere più i vostri sms?",
        # Another channel named, even next to "texts": never a sure opt-out of this one.
        "can I unsubscribe from the email newsletter? texts are fine",
    ],
)
def test_partial_matches_are_unsure(text):
    decision = classify(text)
    assert not decision.sure and decision.intent == OPT_OUT, decision
    assert 0 < decision.confidence < 0.9


def test_a_decision_carries_confidence_and_the_rule():
    decision = classify("please quit texting me")
    assert decision.confidence >= 0.9 and decision.rule
    assert classify("hello, is my parcel coming?").confidence == 0


def test_the_evaluator_on_a_tiny_labelled_set(tmp_path, capsys):
    from consent.evaluate import evaluate, load, main

    rows = [
        {"text": "STOP", "label": "opt_out", "unsure_ok": False},
        {"text": "please quit texting me", "label": "opt_out", "unsure_ok": False},
        {"text": "how do I stop the promo texts?", "label": "opt_out", "unsure_ok": True},
        {"text": "not interested in your offers", "label": "opt_out", "unsure_ok": False},
        {"text": "the mixer won't stop making noise", "label": "none", "unsure_ok": False},
        {"text": "stop texting me", "label": "none", "unsure_ok": False},  # a wrong label
        {"text": "ok send me updates again", "label": "opt_in", "unsure_ok": False},
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(__import__("json").dumps(row) for row in rows) + "\n")
    report = evaluate(load(path))
    out = report.scores["opt_out"]
    # 3 acted on (one of them on a "none" item), 1 unsure on an unsure_ok item counts as found,
    # the unsure "not interested" on a clear item is a miss.
    assert (out.true_positive, out.actual, len(out.false_positives)) == (3, 4, 1)
    assert out.recall == 0.75 and out.precision == 3 / 4
    assert report.scores["opt_in"].recall == 1.0
    assert main([str(path)]) == 0
    printed = capsys.readouterr().out
    assert "false opt-outs:\n  'stop texting me'" in printed
    assert "recall >= 0.9 MISSED" in printed


def test_a_long_message_is_at_most_a_suggestion_and_quick():
    import time

    long = "Hello, about my order 4411: " + "the parcel is late again. " * 60 + "stop texting me"
    assert not classify("please stop texting me. " + long).sure
    started = time.perf_counter()
    for text in ("stop " * 1000, "non " * 1500, "basta di " * 600):
        classify(text)
    assert time.perf_counter() - started < 1.0
