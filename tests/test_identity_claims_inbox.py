"""The agent sees what a chat visitor claimed and not proven, with the contact that owns the
address, and proves it by sending a code or by their own explicit decision (issue #16)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from channels_chat import leads, services
from crm.models import Contact, ContactMerge, Identity, IdentityClaim
from hub.models import LocalDelivery
from inbox.models import AgentProfile
from tests.chat_helpers import chat_endpoint, chat_limits, visitor
from tests.factories import EndpointFactory, TeamFactory
from tests.inbox_helpers import htmx

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.inbox_fixtures"]
__all__ = ["chat_limits"]


@pytest.fixture(autouse=True)
def _limits(chat_limits):
    return chat_limits


@pytest.fixture
def claimed(team, anna):
    """A visitor of the agent's team's chat who typed anna@'s address: (visitor, conversation,
    claim)."""
    chat = chat_endpoint(team=team)
    EndpointFactory(team=team, channel="email", address="help@shop.example")
    _, who = visitor(chat)
    conversation = services.send_message(who, "Ciao, sono Anna", "m1").conversation
    leads.capture_details(who, email="anna@example.com")
    LocalDelivery.objects.all().delete()  # the code the form sent; the tests send their own
    IdentityClaim.objects.update(code_sent_at=None)
    return who, conversation, IdentityClaim.objects.get()


def test_the_panel_shows_the_unverified_claim_and_who_owns_the_address(agent_client, anna, claimed):
    _, conversation, claim = claimed
    page = agent_client.get(reverse("inbox:conversation", args=[conversation.pk]))
    html = page.content.decode()
    assert "Says they are anna@example.com — not verified" in html
    assert f"That address belongs to Anna Bianchi (#{anna.pk})" in html
    assert reverse("inbox:claim-send-code", args=[conversation.pk, claim.pk]) in html
    assert "Verify and merge" in html
    assert "The visitor says they are anna@example.com — not verified." in html  # the timeline


def test_the_panel_in_italian(agent, agent_client, anna, claimed):
    AgentProfile.objects.create(user=agent, language="it", time_zone="Europe/Rome")
    _, conversation, _ = claimed
    html = agent_client.get(reverse("inbox:conversation", args=[conversation.pk])).content
    html = html.decode()
    assert "Dice di essere anna@example.com — non verificato" in html
    assert f"Quell'indirizzo appartiene a Anna Bianchi (#{anna.pk})" in html
    assert "Invia codice di verifica" in html and "Verifica e unisci" in html
    assert "Il visitatore dice di essere anna@example.com — non verificato." in html


def test_the_agent_sends_a_code_and_the_visitor_proves_it(agent, agent_client, anna, claimed):
    who, conversation, claim = claimed
    url = reverse("inbox:claim-send-code", args=[conversation.pk, claim.pk])
    response = agent_client.post(url, **htmx())
    assert response.status_code == 204, response.content
    mail = LocalDelivery.objects.get(recipient="anna@example.com")
    sent = conversation.messages.filter(event_type="identity_code_sent").order_by("id")
    assert [e.author for e in sent] == [None, agent]  # the form's, then the agent's
    assert mail.message is None
    code = next(word for word in mail.body.split() if word.rstrip(".").isdigit()).rstrip(".")
    assert leads.verify_code(who, code) == {"email": "anna@example.com", "verified": True}
    assert Identity.objects.get(pk=who.identity.pk).contact_id == anna.pk


def test_verify_and_merge_is_the_agents_recorded_decision(agent, agent_client, anna, claimed):
    who, conversation, claim = claimed
    visitor_contact = who.identity.contact_id
    url = reverse("inbox:claim-verify", args=[conversation.pk, claim.pk])
    response = agent_client.post(url, **htmx())
    assert response.status_code == 204, response.content
    assert not Contact.objects.filter(pk=visitor_contact).exists()
    conversation.refresh_from_db()
    assert conversation.contact_id == anna.pk
    record = ContactMerge.objects.get()
    assert (record.kept_id, record.merged_contact_id, record.merged_by) == (
        anna.pk,
        visitor_contact,
        agent,
    )
    email = Identity.objects.get(value="anna@example.com")
    assert (email.verification_method, email.verified_by) == ("agent", agent)
    event = conversation.messages.get(event_type="identity_verified")
    assert event.author == agent and event.metadata["merge_id"] == record.pk
    page = agent_client.get(reverse("inbox:conversation", args=[conversation.pk])).content
    assert "anna@example.com verified (agent); this contact was merged into Anna Bianchi" in (
        page.decode()
    )


def test_agents_of_another_team_cannot_act_on_the_claim(client, claimed):
    from tests.factories import UserFactory

    _, conversation, claim = claimed
    stranger = UserFactory()
    TeamFactory().members.add(stranger)
    client.force_login(stranger)
    for name in ("inbox:claim-send-code", "inbox:claim-verify"):
        assert client.post(reverse(name, args=[conversation.pk, claim.pk])).status_code == 404
    assert ContactMerge.objects.count() == 0 and not LocalDelivery.objects.exists()


def test_a_claim_of_another_contact_is_a_404(agent_client, claimed, email_conversation):
    _, _, claim = claimed
    url = reverse("inbox:claim-verify", args=[email_conversation.pk, claim.pk])
    assert agent_client.post(url).status_code == 404
    assert ContactMerge.objects.count() == 0
