"""The understanding layer's interface (issue #18): types, round trip, robustness, determinism."""

import json

import pytest

from understanding import KINDS, TEMPERATURES, VERSION, Analysis, Question, analyse


def test_result_shape_and_round_trip():
    a = analyse("Buongiorno, vorrei sapere quando arriva il mio ordine. Grazie")
    assert a.language == "it"
    assert 0 < a.language_confidence <= 1
    assert [q.kind for q in a.questions] == ["when"]
    assert a.temperature in TEMPERATURES
    assert a.version == VERSION
    d = a.as_dict()
    assert set(d) == {
        "language",
        "language_confidence",
        "questions",
        "temperature",
        "temperature_confidence",
        "signals",
        "version",
    }
    assert json.loads(json.dumps(d)) == d
    assert Analysis.from_dict(json.loads(json.dumps(d))) == a
    assert all(q.kind in KINDS for q in a.questions)
    assert Question.from_dict(d["questions"][0]) == a.questions[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\x02",
        "\ud800",
        "ciao \udfff come va?",
        "😀😀😀",
        "?!?!?!",
        "a" * 1_000_000,
        "Quando? " * 200_000,
        "\u202e\u200b\ufeff",
        "12345 67890",
    ],
)
def test_never_raises_and_is_json_serialisable(text):
    a = analyse(text)
    assert "error" not in a.signals
    json.dumps(a.as_dict())
    assert a.temperature in TEMPERATURES


def test_deterministic():
    text = "Ciao!! Perché il pacco NON è ancora arrivato? Mi serve entro stasera."
    assert analyse(text) == analyse(text)


def test_huge_text_is_truncated_and_fast_enough():
    import time

    analyse("warm up")
    started = time.perf_counter()
    analyse("Where is my order? " * 100_000)
    assert time.perf_counter() - started < 1.0


def test_signals_come_from_the_documented_vocabulary():
    from understanding import SIGNALS, warm_up

    warm_up()
    texts = [
        "VERGOGNA!!! Siete dei ladri, vi denuncio, chargeback e recensione su Trustpilot. Addio.",
        "Purtroppo è la terza volta che scrivo, davvero deluso 🙄",
        'Complimenti, il "servizio clienti" non risponde mai. Fuck.',
        "Non sono arrabbiato ma mi serve entro stasera",
        "I'm REALLY FED UP WITH THIS SERVICE",
    ]
    seen = {s for t in texts for s in analyse(t).signals}
    assert seen <= set(SIGNALS)
    assert {"threat_legal", "threat_review", "threat_dispute", "sarcasm", "deadline"} <= seen
