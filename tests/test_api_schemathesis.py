"""The REST API against its own live schema (``/api/schema/``), with schemathesis: generated
requests, valid and not, for every operation; never a 5xx, and every response as the schema
says (status code, body). A bounded, derandomized number of examples per operation, so CI is
deterministic and quick; each example runs in a savepoint rolled back after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.factories import EndpointFactory, TeamFactory, UserFactory, inbound

pytestmark = pytest.mark.django_db

# The raw-email route takes the message's bytes as they are (``message/rfc822``).
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")

EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def user(db):
    team = TeamFactory()
    user = UserFactory(is_staff=True, is_superuser=True)
    team.members.add(user)
    return user


@pytest.fixture
def known_ids(user) -> dict[str, int]:
    """One object of each kind, so that generated requests reach real ones (not only 404s):
    ids by the path's first segment."""
    from hub.models import BusinessHours, TtlPolicy, WebhookSubscription
    from hub.services import add_note, ingest

    endpoint = EndpointFactory(team=user.hub_teams.get())
    message = ingest(inbound(endpoint, "customer-1", provider_message_id="m-1"))
    add_note(message.conversation, author=user, text="A note: no direction.")
    hours = BusinessHours.objects.create(
        team=endpoint.team, time_zone="Europe/Rome", weekly={"mon": [["09:00", "18:00"]]}
    )
    policy, _ = TtlPolicy.objects.get_or_create(
        channel="api", endpoint=None, defaults={"first_response": timedelta(hours=1)}
    )
    hook = WebhookSubscription.objects.create(url="https://hooks.example/in")
    return {
        "conversations": message.conversation_id,
        "contacts": message.conversation.contact_id,
        "endpoints": endpoint.pk,
        "webhooks": hook.pk,
        "ttl-policies": policy.pk,
        "business-hours": hours.pk,
    }


@pytest.fixture
def staff_token(user):
    return Token.objects.create(user=user).key


@pytest.fixture
def same_connection():
    """Requests through the WSGI app share the test's database connection and transaction, as
    Django's test client arranges: nothing may close it at the request's end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(same_connection, staff_token):
    headers = {"Authorization": f"Token {staff_token}"}
    return schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)


def test_api_conforms_to_its_schema(api_schema, staff_token, known_ids):
    """Each operation in turn (schemathesis' pytest plugin is not used: it sets a private
    attribute of pytest's test items that pytest 9.2 no longer has)."""
    headers = {"Authorization": f"Token {staff_token}"}
    failures: dict[str, str] = {}
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        known = known_ids.get(operation.path.split("/")[3])
        if "{id}" in operation.path and known:
            strategies.append(
                operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"id": known})
            )
        cases = st.one_of(strategies)

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the case
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def check(case):
            with transaction.atomic():
                case.call_and_validate(headers=headers, checks=CHECKS)
                transaction.set_rollback(True)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = str(exc)[:3000]
    assert operations > 30
    assert not failures, "\n\n".join(f"{label}: {text}" for label, text in failures.items())
