"""Fixtures of the agent UI tests; a test module loads them with
``pytest_plugins = ["tests.inbox_fixtures"]``."""

from __future__ import annotations

import pytest
from django.test import Client

from crm import services as crm_services
from hub.services import ingest
from tests.factories import TeamFactory, UserFactory, inbound


@pytest.fixture
def fast_passwords(settings):
    """Users are made with a password; a fast hasher keeps these tests quick. Not autouse: the
    plugin is registered for the whole session, and a server subprocess (browser tests) must be
    able to check the passwords it is given."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def colleague(team):
    user = UserFactory(username="colleague", first_name="Carla", last_name="Conti")
    team.members.add(user)
    return user


@pytest.fixture
def other_team_conversation(db):
    """A conversation of a team the agent is not in."""
    from tests.factories import EndpointFactory

    other = TeamFactory()
    endpoint = EndpointFactory(team=other, channel="sms", address="+390299999999")
    return ingest(inbound(endpoint, "+393339999999", text="Not for your team")).conversation


@pytest.fixture
def anna(db):
    """A contact with an email address and a phone number."""
    return crm_services.create_contact(
        name="Anna Bianchi",
        identities=[
            {"kind": "email", "value": "anna@example.com"},
            {"kind": "phone", "value": "+393331234567"},
        ],
    )


@pytest.fixture
def endpoints(endpoint_for) -> dict:
    """One endpoint per channel in the agent's team."""
    return {channel: endpoint_for(channel) for channel in ("email", "sms", "whatsapp", "chat")}


@pytest.fixture
def email_conversation(endpoints, anna):
    message = ingest(
        inbound(
            endpoints["email"],
            "anna@example.com",
            text="The lamp arrived broken.",
            subject="Order #1042",
            provider_message_id="m1@example.com",
        )
    )
    return message.conversation


@pytest.fixture
def sms_conversation(endpoints):
    message = ingest(inbound(endpoints["sms"], "+393471112233", text="Ciao, a che ora chiudete?"))
    return message.conversation
