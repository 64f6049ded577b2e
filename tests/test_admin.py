"""The Django admin: every registered model loads, conversations show their timeline and are
searchable by identity, actions go through the services, and agents see only their teams."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from hub.admin import TimelineInline
from hub.inbound import InboundAttachment
from hub.models import (
    BusinessHours,
    Conversation,
    Holiday,
    LocalDelivery,
    Message,
    TemperaturePolicy,
    WebhookDelivery,
    WebhookSubscription,
)
from hub.services import ingest, resolve, send_reply
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    EndpointFactory,
    IdentityFactory,
    TeamFactory,
    UserFactory,
    inbound,
)

pytestmark = pytest.mark.django_db

REGISTERED = sorted(model._meta.label for model in admin.site._registry)


def admin_url(model_or_label, view: str, *args) -> str:
    if isinstance(model_or_label, str):
        app_label, model_name = model_or_label.lower().split(".")
    else:
        app_label, model_name = model_or_label._meta.app_label, model_or_label._meta.model_name
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def events(conversation, event_type: str):
    return Message.objects.filter(
        conversation=conversation, kind=Message.Kind.EVENT, event_type=event_type
    )


def result_ids(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def root_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Other team")


@pytest.fixture
def world(team, agent, api_endpoint, endpoint_for, other_team, on_commit):
    """At least one row of every model the admin registers, reached the way production does."""
    company = CompanyFactory(name="ACME")
    anna = ContactFactory(name="Anna Rossi", company=company)
    IdentityFactory(contact=anna, kind="email", value="anna.rossi@example.com")
    IdentityFactory(contact=anna, kind="api", value="anna-api")
    IdentityFactory(contact=anna, kind="phone", value="+393471234567")
    first = ingest(
        inbound(
            api_endpoint,
            "anna-api",
            text="Where is my parcel?",
            attachments=[
                InboundAttachment("label.pdf", "application/pdf", b"%PDF-1.4"),
            ],
        )
    )
    conversation = first.conversation
    with on_commit():
        reply = send_reply(conversation, text="It ships tomorrow.", author=agent)
    resolve(conversation, by=agent)
    bob_message = ingest(inbound(endpoint_for("sms"), "+39 333 000 1111", text="Bob here"))
    hidden = ingest(inbound(EndpointFactory(team=other_team), "carla", text="Other team's"))
    # Email: a reply that went out by email (SentEmail) and an email nobody can be credited with
    # (QuarantinedEmail), both through the email channel's services.
    from channels_email.services import ingest_raw_email

    EndpointFactory(team=other_team, channel="email", address="support@shop.example")
    dora = ingest_raw_email(
        b"From: dora@example.com\r\nTo: support@shop.example\r\nSubject: Ciao\r\n"
        b"Message-ID: <world@example.com>\r\n\r\nCiao!\r\n",
        source="test",
    )
    with on_commit():
        send_reply(dora.message.conversation, text="Ciao Dora", author=agent)
    ingest_raw_email(b"Subject: nobody\r\n\r\nno sender\r\n", source="test")
    # Live chat: a greeting rule shown to a visitor, a page view, a contact merge.
    from channels_chat import greetings as chat_greetings
    from channels_chat import services as chat_services
    from channels_chat.models import GreetingRule
    from crm.services import merge_contacts

    website = endpoint_for("chat")
    rule = GreetingRule.objects.create(endpoint=website, name="Home", message_en="Hi!")
    _, visitor = chat_services.start_session(website)
    chat_greetings.mark_shown(visitor, rule.pk, "https://shop.example/", "en")
    chat_services.record_page_view(visitor, "https://shop.example/", "Home")
    from channels_chat import leads as chat_leads

    chat_leads.capture_details(visitor, email="claims-to-be@example.com")  # an IdentityClaim
    merge_contacts(ContactFactory(name="Kept"), ContactFactory(name="Duplicate"))
    subscription = WebhookSubscription.objects.create(url="https://hooks.example/in")
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_type="message.created", payload={"id": "x"}
    )
    Group.objects.create(name="Agents")
    Token.objects.create(user=agent)
    hours = BusinessHours.objects.create(
        team=team, time_zone="Europe/Rome", weekly={"mon": [["09:00", "18:00"]]}
    )
    Holiday.objects.create(business_hours=hours, date=datetime.date(2026, 12, 25), name="Natale")
    # A wrong password (login throttling, django-axes): an access attempt and its failure log.
    Client().post(reverse("admin:login"), {"username": "someone", "password": "wrong"})
    TemperaturePolicy.objects.create(level="hot", minimum_priority=2, team=team)
    from knowledge.services import AnswerData, save_answer

    save_answer(AnswerData(key="opening-hours", texts={"en": {"title": "Hours", "body": "9-18."}}))
    assert LocalDelivery.objects.filter(message=reply).exists()
    return {
        "conversation": conversation,
        "first": first,
        "reply": reply,
        "bob": bob_message.conversation,
        "hidden": hidden.conversation,
        "delivery": delivery,
    }


# --- every model --------------------------------------------------------------------------------


def test_the_admin_registers_the_domain_models():
    assert {
        "crm.Contact",
        "crm.Company",
        "crm.Identity",
        "hub.Team",
        "hub.Endpoint",
        "hub.Conversation",
        "hub.Message",
        "hub.LocalDelivery",
        "hub.WebhookSubscription",
        "hub.WebhookDelivery",
    } <= set(REGISTERED)


@pytest.mark.parametrize("label", REGISTERED)
def test_superuser_loads_changelist_and_change_page(root_client, world, label):
    model = next(m for m in admin.site._registry if m._meta.label == label)
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"no {label} row to open"
    response = root_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert obj.pk in result_ids(response)
    response = root_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert response.context["original"] == obj


def test_conversation_change_page_shows_the_timeline_inline(root_client, world):
    conversation = world["conversation"]
    response = root_client.get(admin_url(Conversation, "change", conversation.pk))
    assert response.status_code == 200
    [timeline] = [
        formset
        for formset in response.context["inline_admin_formsets"]
        if isinstance(formset.opts, TimelineInline)
    ]
    shown = [form.instance for form in timeline.formset.forms]
    expected = list(conversation.messages.order_by("occurred_at", "id"))
    assert shown == expected
    assert [(m.kind, m.event_type) for m in shown] == [
        ("message", ""),
        ("message", ""),
        ("event", "resolved"),
    ]
    content = response.content.decode()
    assert "Where is my parcel?" in content
    assert "It ships tomorrow." in content


@pytest.mark.parametrize(
    "query", ["anna.rossi@example.com", "ANNA.ROSSI@", "+393471234567", "anna-api"]
)
def test_search_conversations_by_identity_value(root_client, world, query):
    response = root_client.get(admin_url(Conversation, "changelist"), {"q": query})
    assert response.status_code == 200
    assert result_ids(response) == {world["conversation"].pk}


def test_conversation_list_filters(root_client, world):
    url = admin_url(Conversation, "changelist")
    resolved = root_client.get(url, {"status__exact": "resolved"})
    assert result_ids(resolved) == {world["conversation"].pk}
    sms = root_client.get(url, {"channel__exact": "sms"})
    assert result_ids(sms) == {world["bob"].pk}


# --- actions ------------------------------------------------------------------------------------


def _act(client, action: str, conversations):
    return client.post(
        admin_url(Conversation, "changelist"),
        {
            "action": action,
            "_selected_action": [c.pk for c in conversations],
        },
    )


def test_assign_to_me_action(root_client, superuser, world):
    targets = [world["bob"], world["hidden"]]
    response = _act(root_client, "assign_to_me", targets)
    assert response.status_code == 302
    for conversation in targets:
        conversation.refresh_from_db()
        assert conversation.assignee == superuser
        event = events(conversation, "assigned").get()
        assert event.author == superuser
    world["conversation"].refresh_from_db()
    assert world["conversation"].assignee is None


def test_resolve_and_reopen_actions(root_client, superuser, world):
    bob, hidden = world["bob"], world["hidden"]
    assert _act(root_client, "resolve_selected", [bob, hidden]).status_code == 302
    for conversation in (bob, hidden):
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.RESOLVED
        assert conversation.resolved_at is not None
        assert events(conversation, "resolved").get().author == superuser

    assert _act(root_client, "reopen_selected", [bob]).status_code == 302
    bob.refresh_from_db()
    hidden.refresh_from_db()
    assert bob.status == Conversation.Status.OPEN and bob.resolved_at is None
    assert events(bob, "reopened").get().author == superuser
    assert hidden.status == Conversation.Status.RESOLVED
    assert not events(hidden, "reopened").exists()


def test_actions_report_what_they_did(root_client, world):
    response = _act(root_client, "resolve_selected", [world["bob"]])
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["1 conversation resolved."]


def test_redeliver_webhook_action(root_client, world, http_mock):
    import responses

    http_mock.add(responses.POST, "https://hooks.example/in", status=204)
    delivery = world["delivery"]
    response = root_client.post(
        admin_url(WebhookDelivery, "changelist"),
        {
            "action": "redeliver",
            "_selected_action": [delivery.pk],
        },
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    [call] = http_mock.calls
    assert call.request.headers["X-Hub-Signature-256"].startswith("sha256=")


# --- a staff agent sees only their teams --------------------------------------------------------


@pytest.fixture
def staff_agent(agent):
    agent.is_staff = True
    agent.save()
    agent.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="hub",
            codename__in=["view_conversation", "change_conversation", "view_message"],
        )
    )
    return agent


@pytest.fixture
def agent_client(client, staff_agent):
    client.force_login(staff_agent)
    return client


def test_staff_agent_sees_only_their_teams_conversations(agent_client, world):
    response = agent_client.get(admin_url(Conversation, "changelist"))
    assert response.status_code == 200
    assert result_ids(response) == {world["conversation"].pk, world["bob"].pk}
    response = agent_client.get(admin_url(Conversation, "changelist"), {"q": "carla"})
    assert result_ids(response) == set()


def test_staff_agent_cannot_open_another_teams_conversation(agent_client, world):
    response = agent_client.get(admin_url(Conversation, "change", world["hidden"].pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    response = agent_client.get(admin_url(Conversation, "change", world["bob"].pk))
    assert response.status_code == 200


def test_staff_agent_actions_reach_only_their_teams(agent_client, staff_agent, world):
    bob, hidden = world["bob"], world["hidden"]
    assert _act(agent_client, "assign_to_me", [bob, hidden]).status_code == 302
    bob.refresh_from_db()
    hidden.refresh_from_db()
    assert bob.assignee == staff_agent
    assert events(bob, "assigned").get().author == staff_agent
    assert hidden.assignee is None
    assert not events(hidden, "assigned").exists()


def test_staff_agent_message_list_is_limited_to_their_teams(agent_client, world):
    response = agent_client.get(admin_url(Message, "changelist"))
    assert response.status_code == 200
    shown = {m.conversation_id for m in response.context["cl"].result_list}
    assert shown
    assert world["hidden"].pk not in shown
