"""The knowledge API: answers CRUD and filters, POST answer/, import/export, team scoping."""

from __future__ import annotations

import pytest

from knowledge.models import Answer
from tests.api_helpers import client_for
from tests.factories import ContactFactory, EndpointFactory, TeamFactory, UserFactory
from tests.knowledge_helpers import kb_items, load_kb

pytestmark = pytest.mark.django_db
ANSWERS = "/api/v1/knowledge/answers/"
FIND = "/api/v1/knowledge/answer/"


@pytest.fixture
def staff():
    return UserFactory(username="kstaff", is_staff=True)


def test_agents_read_published_only_and_cannot_edit(agent):
    load_kb()
    Answer.objects.filter(key="password-reset").update(status="draft")
    client = client_for(agent)
    keys = [a["key"] for a in client.get(ANSWERS).json()["results"]]
    assert "password-reset" not in keys and "refund-timing" in keys
    response = client.post(ANSWERS, {"key": "x", "texts": []}, format="json")
    assert response.status_code == 403


def test_filters(agent):
    load_kb()
    client = client_for(agent)

    def keys(params):
        return {a["key"] for a in client.get(ANSWERS, params).json()["results"]}

    assert keys({"kind": "when"}) == {i["key"] for i in kb_items() if "when" in i["kinds"]}
    assert keys({"topic": "spedizione"}) == {
        i["key"] for i in kb_items() if "spedizione" in i["topics"]
    }
    assert "jug-size-choice" in keys({"q": "caraffa"})
    assert keys({"language": "fr"}) == set()
    assert client.get(ANSWERS, {"kind": "soon"}).status_code == 400


def test_staff_create_update_with_history(staff):
    client = client_for(staff)
    body = {
        "key": "opening",
        "status": "published",
        "kinds": ["when"],
        "texts": [{"language": "en", "title": "Hours", "body": "We open at 9.", "short": "9-18."}],
    }
    response = client.post(ANSWERS, body, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = client.patch(f"{ANSWERS}{pk}/", {"kinds": ["when", "what"]}, format="json")
    assert response.status_code == 200, response.content
    answer = Answer.objects.get(pk=pk)
    assert answer.kinds == ["when", "what"]
    assert answer.history.first().history_user == staff
    bad = dict(body, key="other")
    bad["texts"] = [{"language": "en", "title": "T", "body": "B", "short": "One. Two. Three."}]
    response = client.post(ANSWERS, bad, format="json")
    assert response.status_code == 400
    assert "texts" in response.json()


def test_find_answer(agent):
    load_kb()
    response = client_for(agent).post(
        FIND, {"text": "Quanto costa la spedizione?", "channel": "sms"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["answer"]["key"] == "shipping-cost-italy"
    assert data["language"] == "it"
    assert data["text"].startswith("La spedizione costa 6,90")
    assert data["questions"][0]["kind"]
    assert all(a["key"] != "shipping-cost-italy" for a in data["alternatives"])
    assert 0 < data["confidence"] <= 1


def test_find_no_answer_for_something_unrelated(agent):
    load_kb()
    response = client_for(agent).post(
        FIND, {"text": "Do you sell gift cards for weddings?", "channel": "chat"}, format="json"
    )
    assert response.json()["answer"] is None
    assert response.json()["text"] == ""


def test_find_renders_for_the_person_of_a_visible_conversation(agent, team):
    from hub.models import Channel, Conversation

    load_kb()
    contact = ContactFactory(name="Anna Bianchi")
    endpoint = EndpointFactory(team=team, channel=Channel.CHAT)
    mine = Conversation.objects.create(
        contact=contact, endpoint=endpoint, team=team, channel=Channel.CHAT
    )
    other_team = TeamFactory()
    theirs = Conversation.objects.create(
        contact=contact,
        endpoint=EndpointFactory(team=other_team, channel=Channel.CHAT),
        team=other_team,
        channel=Channel.CHAT,
    )
    client = client_for(agent)
    text = "how much is shipping?"
    ok = client.post(
        FIND, {"text": text, "channel": "chat", "conversation": mine.pk}, format="json"
    )
    assert ok.status_code == 200
    hidden = client.post(
        FIND, {"text": text, "channel": "chat", "conversation": theirs.pk}, format="json"
    )
    assert hidden.status_code == 404


def test_find_bad_input_is_400(agent):
    client = client_for(agent)
    assert client.post(FIND, {"channel": "chat"}, format="json").status_code == 400
    assert client.post(FIND, {"text": "x", "channel": "fax"}, format="json").status_code == 400
    response = client.post(FIND, {"text": "x", "channel": "chat", "contact": 0}, format="json")
    assert response.status_code == 400


def test_import_and_export_through_the_api(staff, agent):
    client = client_for(staff)
    response = client.post("/api/v1/knowledge/import/", kb_items(), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 7
    csv_response = client.get("/api/v1/knowledge/export/", {"format": "csv"})
    assert csv_response.status_code == 200
    content = csv_response.content
    assert content.startswith(b"key,language,title")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("kb.csv", content, content_type="text/csv")
    response = client.post("/api/v1/knowledge/import/", {"file": upload, "format": "csv"})
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 7, "errors": []}
    exported = client.get("/api/v1/knowledge/export/", {"format": "json"})
    assert [i["key"] for i in exported.json()] == sorted(i["key"] for i in kb_items())
    assert client_for(agent).post("/api/v1/knowledge/import/", [], format="json").status_code == 403
    assert client_for(agent).get("/api/v1/knowledge/export/").status_code == 403


def test_schema_lists_the_knowledge_api(staff):
    response = client_for(staff).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (ANSWERS, FIND, "/api/v1/knowledge/import/", "/api/v1/knowledge/export/"):
        assert path in paths


def test_a_nul_in_actions_or_channel_overrides_is_400_not_500(staff):
    """Found by schemathesis: PostgreSQL's jsonb refuses NUL, even in a key."""
    client = client_for(staff)
    text = {"language": "en", "title": "Hours", "body": "We open at 9."}
    for extra, text_extra in (
        ({"actions": {"ta\u0000g": "x"}}, {}),
        ({}, {"channel_overrides": {"sms\u0000": "9-18"}}),
    ):
        body = {"key": "nul-test", "texts": [{**text, **text_extra}], **extra}
        response = client.post(ANSWERS, body, format="json")
        assert response.status_code == 400, response.content
    assert not Answer.objects.filter(key="nul-test").exists()
    created = client.post(ANSWERS, {"key": "no-owner-null", "texts": [text]}, format="json")
    assert created.status_code == 201 and "owner" in created.json()
