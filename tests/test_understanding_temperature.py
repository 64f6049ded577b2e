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


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # negation
        ("I'm not angry, I just want to understand what happened.", "calm"),
        ("Non sono arrabbiata, ma sono stanca di aspettare.", "annoyed"),
        ("Non sono arrabbiato, ma ho fretta: serve entro domani.", "urgent"),
        ("No hurry at all, does the mixer come with a dough hook?", "calm"),
        ("Non c'è nessuna urgenza, è per un regalo di febbraio.", "calm"),
        # sarcasm
        ("Fantastico, terza settimana che aspetto. Complimenti davvero.", "annoyed"),
        ("Great, third week of waiting. Well done, really.", "annoyed"),
        ("Thanks a lot for keeping me waiting an hour in chat.", "annoyed"),
        ('Bellissimo, il "servizio clienti" non risponde mai.', "annoyed"),
        # urgency without anger
        ("URGENTE: il pacco serve per domani mattina", "urgent"),
        ("The kettle is sparking, do I unplug it?", "urgent"),
        ("need a quick answer pls, have to confirm by 5pm", "urgent"),
        # anger: threats, insults, shouting, profanity
        ("Ora scrivo una recensione su Trustpilot.", "angry"),
        ("I'm disputing the charge with my bank.", "angry"),
        ("Siete dei ladri!", "angry"),
        ("È UNA VERGOGNA!!!", "angry"),
        ("RIDATEMI I SOLDI SUBITO", "angry"),
        ("Avete 24 ore per rimborsarmi, poi mi rivolgo a un legale.", "angry"),
        ("this is a joke!!! what the fuck", "angry"),
        # a problem reported matter-of-factly stays calm
        ("Can I leave a note for the driver? The buzzer's broken.", "calm"),
        ("Il pacco è arrivato un po' ammaccato ma dentro è tutto integro.", "calm"),
        ("Where can I read reviews of the jug?", "calm"),
    ],
)
def test_guideline_cases(text, label):
    assert analyse(text).temperature == label, analyse(text).signals


def test_calm_is_never_angry_when_anger_is_denied():
    a = analyse("Non sono arrabbiato, ma vi denuncio se non arriva.")
    assert a.temperature != "calm"
    a = analyse("I'm not angry at all, thanks for the help.")
    assert a.temperature == "calm"


@pytest.mark.parametrize(
    "text",
    [
        "Ciao, ho scritto ieri per il mio ordine e nessuno mi ha risposto",
        "Non mi avete ancora risposto",
        "I wrote on Monday and nobody has replied",
        "I haven't heard back about my refund",
    ],
)
def test_unanswered_follow_ups_are_annoyed(text):
    assert analyse(text).temperature == "annoyed"


def test_the_fallback_model_lifts_calm_only_to_urgent_or_annoyed():
    from understanding import temperature as t
    from understanding.model import load, predict_proba

    model = load("temperature")
    assert model is not None and set(model["classes"]) == {"calm", "urgent", "annoyed", "angry"}
    proba = predict_proba("temperature", "Che schifo di servizio, vergognatevi")
    assert abs(sum(proba.values()) - 1.0) < 1e-9
    assert t.combine("calm", {"angry": 0.9, "calm": 0.1}) == "annoyed"  # never angry
    assert t.combine("calm", {"urgent": 0.7, "calm": 0.3}) == "urgent"
    assert t.combine("calm", {"urgent": 0.3, "annoyed": 0.2, "calm": 0.5}) == "calm"
    assert t.combine("angry", {"calm": 1.0}) == "angry"  # the rules' evidence wins
    assert predict_proba("no-such-model", "text") == {}
