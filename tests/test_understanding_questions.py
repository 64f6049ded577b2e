"""Question sentences and their kind, by the type of answer needed (issue #18's examples)."""

import pytest

from understanding import analyse


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Which office deals with damaged deliveries?", "who"),
        ("Meglio il modello da 1,5 o da 2 litri per noi?", "which"),
        ("A che ora chiude il punto ritiro?", "when"),
        ("Where in my account page do I change the password?", "where"),
        ("Could you tell me the reason for the delay?", "why"),
        ("How long does delivery take", "when"),
        ("How much is shipping", "what"),
        ("Can I pay by bank transfer?", "how"),
        ("Who should I contact for an invoice?", "who"),
        ("Quale corriere usate?", "who"),
        ("xké nn è ancora arrivato?", "why"),
        ("qnd arriva il pacco?", "when"),
        ("Come faccio a cambiare l'indirizzo?", "how"),
        ("Posso pagare alla consegna?", "how"),
        ("Dove trovo la fattura nel sito?", "where"),
        ("Quanto costa la spedizione in Svizzera?", "what"),
        ("Come mai il rimborso non è arrivato?", "why"),
        ("Which size should I take, M or L?", "which"),
        ("Che taglia mi consigliate?", "which"),
        ("Il pacco quando arriva?", "when"),
        ("Quanto tempo ci vuole per il reso?", "when"),
        ("what time do u close pls", "when"),
    ],
)
def test_kind_by_the_answer_needed(text, kind):
    found = analyse(text).questions
    assert [q.kind for q in found] == [kind], found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Grazie mille, a presto!", []),
        ("Buongiorno, ho ordinato ieri. Quando arriva il pacco?", ["Quando arriva il pacco?"]),
        ("Hi team, I was wondering if you ship to Switzerland", ["I was wondering"]),
        ("vorrei sapere come fare il reso", ["vorrei sapere come fare il reso"]),
        ("Where is my order? And why was I charged twice?", ["Where is my", "And why"]),
        ("ciao quando arriva il pacco", ["ciao quando arriva il pacco"]),
        ("Ok thanks 👍 when do you open tomorrow", ["when do you open tomorrow"]),
    ],
)
def test_question_sentences_are_found(text, expected):
    found = [q.text for q in analyse(text).questions]
    assert len(found) == len(expected), found
    for got, want in zip(found, expected, strict=True):
        assert want in got


def test_two_questions_two_kinds():
    a = analyse("Buongiorno. Dove si trova il vostro negozio? E fino a che ora siete aperti?")
    assert [q.kind for q in a.questions] == ["where", "when"]
