"""Cues that generalise beyond the labelled phrasing (written for this change, not taken from the
labelled sets): question kinds by the type of answer, temperature beyond the word lists, and the
it/en function-word vote of the language detector."""

import pytest

from understanding import analyse
from understanding.language import detect
from understanding.questions import classify
from understanding.temperature import temperature


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Qual è la causa del ritardo sul mio reso?", "why"),
        ("What's the reason behind the extra fee?", "why"),
        ("Da cosa può dipendere il rumore del motore?", "why"),
        ("How heavy is the large blender?", "what"),
        ("Quanto pesa il bollitore?", "what"),
        ("Quanto devo aspettare per il rimborso?", "when"),
        ("Could somebody ring me this afternoon?", "how"),
        ("Qualcuno mi può richiamare?", "how"),
        ("Mi aiutate a cambiare la password?", "how"),
        ("I'd also like to know where the invoice is in my account.", "where"),
        ("Do you have a store near Bologna?", "where"),
        ("Does the mixer come in other colours besides red?", "which"),
        ("Quale spedizione è più economica tra SDA e GLS?", "which"),
        ("Tra le caraffe quale si lava in lavastoviglie?", "which"),
        ("Mi indicate la persona che gestisce i resi aziendali?", "who"),
        ("Il buono regalo è ancora valido?", "what"),
        ("quanti gg ci vogliono x la consegna?", "when"),
        ("whr do i find the invoice?", "where"),
    ],
)
def test_kind_by_the_answer_needed(text, kind):
    assert classify(text)[0] == kind


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Serve per domani, c'è la consegna rapida?", "urgent"),
        ("I need it tomorrow morning for a meeting at 10, can you ship express?", "urgent"),
        ("The courier is at the door now and I'm out, can he leave it with a neighbour?", "urgent"),
        ("Annullate tutto e non contattatemi più.", "angry"),
        ("Cancel everything. Rude people, zero respect for customers.", "angry"),
        ("Are you serious??? The box was empty!!!", "angry"),
        ("Ad oggi nessun rimborso, vi ho scritto la settimana scorsa.", "annoyed"),
        ("Been on hold for 30 minutes, still nobody.", "annoyed"),
        ("Non è un problema, aspetto la prossima consegna.", "calm"),
    ],
)
def test_temperature_beyond_the_lists(text, label):
    assert temperature(text)[0] == label


def test_calm_message_is_never_angry_even_with_exclamations():
    assert analyse("Arrivato tutto, grazie mille!!!").temperature != "angry"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my login isn't working", "en"),
        ("Il voucher del cyber monday vale anche online?", "it"),
        ("il tracking SDA è fermo, help", "it"),
        ("Der Wasserkocher ist leider kaputt angekommen", "de"),
        ("¿Cuánto cuesta el envío a Madrid?", "es"),
    ],
)
def test_language_function_word_vote(text, lang):
    assert detect(text)[0] == lang
