"""Language identification, short texts and the prior."""

import pytest

from understanding import analyse


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Buongiorno, vorrei sapere quando arriva il mio ordine", "it"),
        ("Hello, I would like to know when my order will arrive", "en"),
        ("Bonjour, je voudrais savoir quand ma commande arrivera", "fr"),
        ("Hallo, ich möchte wissen, wann meine Bestellung ankommt", "de"),
        ("Hola, quisiera saber cuándo llega mi pedido por favor", "es"),
    ],
)
def test_long_texts(text, lang):
    assert analyse(text).language == lang


@pytest.mark.parametrize(
    ("text", "prior", "lang"),
    [
        ("ok grazie", "", "it"),
        ("ok grazie", "en", "it"),
        ("Hi", "", ""),  # greetings used in every language: ambiguous alone
        ("Hi", "it", "it"),
        ("Hi there, thanks", "", "en"),
        ("grazie", "", "it"),
        ("sì", "", "it"),
        ("obrigado", "", "pt"),
        ("спасибо большое", "", "ru"),
        ("дякую", "", "uk"),
        ("谢谢", "", "zh"),
        ("ありがとう", "", "ja"),
        ("شكرا جزيلا", "", "ar"),
        ("thanks!", "", "en"),
        ("STOP", "", ""),
        ("STOP", "it", "it"),
        ("ok", "", ""),
        ("ok", "en", "en"),
        ("ok", "it", "it"),
        ("👍", "it", ""),
        ("", "it", ""),
    ],
)
def test_short_texts_use_the_lexicon_then_the_prior_else_unknown(text, prior, lang):
    a = analyse(text, language_prior=prior)
    assert a.language == lang
    if not lang:
        assert a.language_confidence == 0.0
