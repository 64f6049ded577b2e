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


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # listed alternatives are a choice whatever the options are
        ("Chi consegna a Bari, BRT o GLS?", "which"),
        ("Will it come in the morning or the afternoon?", "which"),
        ("Chi effettua le consegne?", "who"),
        # which/quale + noun: the noun's type decides
        ("Which countries do you deliver to?", "where"),
        ("Which days is the showroom open all day?", "when"),
        ("Which payment methods do you accept?", "which"),
        ("Quale corriere usate per le isole?", "who"),
        ("What's the address of the Milan showroom?", "where"),
        # "how" words that are not procedures
        ("Ogni quanto va cambiato il filtro?", "when"),
        ("How often should I replace the filter?", "when"),
        ("Come mai il pacco è fermo?", "why"),
        ("how come tracking hasn't updated in 4 days??", "why"),
        # yes/no questions take the kind of what settles them
        ("Do you ship to the US?", "where"),
        ("Consegnate anche a Livigno?", "where"),
        ("Siete aperti il sabato?", "when"),
        ("Will it arrive before Christmas?", "when"),
        ("C'è qualcuno in chat adesso?", "who"),
        ("Is there a fee for resending it?", "what"),
        ("È possibile pagare a rate?", "how"),
        ("Si può cumulare il buono con lo sconto?", "how"),
        ("What happened?", "why"),
        # status, meaning, contacts
        ("A che punto è la spedizione?", "what"),
        ("What's the email address for customer service?", "what"),
        # indirect, typos, SMS spelling
        ("I'd like to know why.", "why"),
        ("mi sa dire ki gestisce i resi?", "who"),
        ("xk il pacco è fermo a bologna da lunedì", "why"),
        ("filtro caraffa ogni qnt lo cambio?", "when"),
        ("wheres the reset button on the air fryer?", "where"),
        ("y does the air fryer smoke?", "why"),
        ("can u tell me how to reset it pls", "how"),
        ("Could you tell me when the new kettles launch?", "when"),
        ("Can you tell me where my parcel is right now?", "where"),
    ],
)
def test_guideline_cases(text, kind):
    found = analyse(text).questions
    assert [q.kind for q in found] == [kind], found


@pytest.mark.parametrize(
    "text",
    [
        "hi is the blender dishwasher safe thx",
        "spedite anche in svizzera",
        "si puo pagare cn bonifico",
        "still dont get why u sent me the wrong colour",
        "a ki lascio il pacco se nn c'è nessuno",
        "I was wondering whether the jug fits in the fridge door",
    ],
)
def test_questions_without_a_question_mark(text):
    assert len(analyse(text).questions) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Grazie, procedo con il reso come mi avete indicato.",
        "Come da accordi vi invio la ricevuta.",
        "Quando ho aperto il pacco era tutto in ordine.",
        "Per quanto riguarda il reso, tutto ok.",
        "Do not text me again.",
        "Kind regards,\nMark",
    ],
)
def test_statements_are_not_questions(text):
    assert analyse(text).questions == ()


def test_email_with_greeting_signature_and_two_questions():
    text = (
        "Good morning,\n\nI ordered a kettle last week. Could you tell me the reason for the "
        "delay? Also, which office deals with damaged deliveries\n\nKind regards,\nJohn Smith"
    )
    kinds = [q.kind for q in analyse(text).questions]
    assert kinds == ["why", "who"]
