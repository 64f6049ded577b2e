"""Temperature: negation, sarcasm, urgency without anger, threats; calm is calm."""

import pytest

from understanding import analyse


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Buongiorno, vorrei sapere quando arriva il mio ordine. Grazie", "calm"),
        ("Hi, could you send me the invoice for order 1234? Thanks", "calm"),
        ("Mi serve entro stasera, è urgente", "urgent"),
        ("My flight leaves in 2 hours, I need the booking confirmation ASAP", "urgent"),
        ("Non sono arrabbiato, volevo solo sapere quando arriva", "calm"),
        ("Complimenti davvero... terza settimana che aspetto", "annoyed"),
        (
            "VERGOGNA! Siete dei LADRI, vi denuncio e scrivo una recensione ovunque!!!",
            "angry",
        ),
        ("This is a scam. I'm calling my lawyer and disputing the charge with my bank.", "angry"),
        ("Unfortunately the parcel still hasn't arrived.", "annoyed"),
    ],
)
def test_labels(text, label):
    assert analyse(text).temperature == label


def test_signals_explain_the_label():
    a = analyse("VERGOGNA! Siete dei LADRI, vi denuncio e scrivo una recensione ovunque!!!")
    assert {"threat_legal", "threat_review", "repeated_punctuation"} <= set(a.signals)
    assert "deadline" in analyse("Mi serve entro stasera").signals
