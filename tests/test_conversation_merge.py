"""Two conversations that are one thread become one: by the ingest when a late email links
them, or by an agent (API, admin). hub.services.merge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from channels_email import services as email_services
from hub import services
from hub.adapters import OutboundRefused
from hub.models import Conversation, Message, SlaRecord, WebhookDelivery, WebhookSubscription
from hub.services.errors import ServiceError
from tests.db_errors import raises_deadlock
from tests.factories import ContactFactory, ConversationFactory, EndpointFactory, TeamFactory
from tests.markers import postgresql_only
from tests.test_email_flow import mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def ingest(raw: bytes) -> Message:
    outcome = email_services.ingest_raw_email(raw, source="test")
    assert outcome.status == "ingested", outcome
    return outcome.message


def at(hour: int, minute: int = 0) -> str:
    return f"Mon, 03 Mar 2025 {hour:02d}:{minute:02d}:00 +0000"


def split_thread() -> tuple[Conversation, Conversation]:
    """A (09:00) and C (11:00, answering B by In-Reply-To only) in two conversations."""
    first = ingest(mail(message_id="<a@example.it>", Date=at(9)))
    answer = ingest(mail(message_id="<c@example.it>", In_Reply_To="<b@example.it>", Date=at(11)))
    assert first.conversation_id != answer.conversation_id
    return first.conversation, answer.conversation


def test_a_late_link_merges_the_later_thread_with_its_clock_and_history(support, agent):
    WebhookSubscription.objects.create(url="https://hooks.example/x", secret="s")
    kept, merged = split_thread()
    services.send_reply(kept, text="Ciao Lucia, controllo.", author=agent)  # A answered
    services.resolve(kept, by=agent)
    merged.refresh_from_db()
    assert merged.waiting_since is not None and merged.sla_record_id is not None
    waiting_since, record_id = merged.waiting_since, merged.sla_record_id

    bridge = ingest(mail(message_id="<b@example.it>", In_Reply_To="<a@example.it>", Date=at(10)))

    kept.refresh_from_db()
    merged.refresh_from_db()
    assert bridge.conversation_id == kept.pk
    assert set(Message.objects.values_list("conversation_id", flat=True)) == {kept.pk, merged.pk}
    assert list(
        kept.messages.filter(kind=Message.Kind.MESSAGE)
        .order_by("occurred_at", "id")
        .values_list("provider_message_id", flat=True)
    )[:1] == ["a@example.it"]
    assert {"a@example.it", "b@example.it", "c@example.it"} <= set(
        kept.messages.values_list("provider_message_id", flat=True)
    )
    # The only thing left in the merged conversation is the pointer event.
    assert list(merged.messages.values_list("event_type", flat=True)) == ["merged_into"]
    assert merged.status == Conversation.Status.RESOLVED and merged.merged_into_id == kept.pk
    assert merged.waiting_since is None and merged.sla_record_id is None
    assert merged.next_check_at is None  # the sweep never looks at it again
    # C was waiting for an answer: the kept thread reopens and waits from C's wait, with C's
    # TTL record (still running), now on the kept conversation.
    assert kept.status == Conversation.Status.OPEN
    assert kept.waiting_since == waiting_since and kept.sla_record_id == record_id
    assert SlaRecord.objects.get(pk=record_id).conversation_id == kept.pk
    assert SlaRecord.objects.get(pk=record_id).stopped_at is None
    assert kept.messages.filter(event_type="conversation_merged").count() == 1
    updates = [
        d.payload["data"]
        for d in WebhookDelivery.objects.filter(event_type="conversation.updated").order_by("id")
    ]
    assert any(u["id"] == merged.pk and u["merged_into_id"] == kept.pk for u in updates)
    assert any(u["id"] == kept.pk and u["changes"].get("merged") == [merged.pk] for u in updates)


def test_the_earlier_wait_wins_and_the_other_clock_closes_as_merged(support):
    kept, merged = split_thread()
    kept.refresh_from_db()
    merged.refresh_from_db()
    assert kept.waiting_since < merged.waiting_since  # A at 09:00, C at 11:00: both waiting
    kept_record, merged_record = kept.sla_record_id, merged.sla_record_id

    ingest(mail(message_id="<b@example.it>", In_Reply_To="<a@example.it>", Date=at(10)))

    kept.refresh_from_db()
    assert kept.sla_record_id == kept_record
    closed = SlaRecord.objects.get(pk=merged_record)
    assert closed.stopped_at is not None and closed.conversation_id == kept.pk
    stop = kept.messages.get(event_type="sla_stopped")
    assert stop.metadata["reason"] == "merged"


def test_the_merged_conversations_reply_token_and_subject_lead_to_the_kept_one(support):
    kept, merged = split_thread()
    ingest(mail(message_id="<b@example.it>", In_Reply_To="<a@example.it>"))
    by_token = ingest(
        mail(to=f"support+{merged.reply_token}@shop.example", message_id="<t@example.it>")
    )
    by_subject = ingest(mail(subject=f"Re: ordine [#{merged.pk}]", message_id="<s@example.it>"))
    assert by_token.conversation_id == kept.pk
    assert by_subject.conversation_id == kept.pk


def test_nothing_more_goes_into_a_merged_conversation(support, agent):
    kept, merged = split_thread()
    ingest(mail(message_id="<b@example.it>", In_Reply_To="<a@example.it>"))
    merged.refresh_from_db()
    with pytest.raises(OutboundRefused) as refused:
        services.send_reply(merged, text="ciao", author=agent)
    assert refused.value.code == "merged" and f"#{kept.pk}" in refused.value.reason
    assert services.check_reply(merged, "ciao").code == "merged"
    with pytest.raises(ServiceError):
        services.add_note(merged, author=agent, text="nota")
    with pytest.raises(ServiceError):
        services.reopen(merged, by=agent)
    assert list(merged.messages.values_list("event_type", flat=True)) == ["merged_into"]


def test_someone_elses_answer_does_not_merge_two_peoples_threads(support):
    """Bob's mail answers an id that Lucia's late message carries: not Lucia's thread."""
    lucia_first = ingest(mail(message_id="<a@example.it>"))
    bob = ingest(
        mail(sender="bob@b.example", message_id="<x@b.example>", In_Reply_To="<b@example.it>")
    )
    ingest(mail(message_id="<b@example.it>", In_Reply_To="<a@example.it>"))
    bob.refresh_from_db()
    assert bob.conversation_id != lucia_first.conversation_id
    assert not Conversation.objects.filter(merged_into__isnull=False).exists()


# --- by hand -------------------------------------------------------------------------------


@pytest.fixture
def api(agent) -> APIClient:
    client = APIClient()
    client.force_authenticate(agent)
    return client


def merge_url(conversation) -> str:
    return reverse("conversation-merge", kwargs={"pk": conversation.pk})


def two_of_one_contact(endpoint):
    contact = ContactFactory()
    now = timezone.now()
    older = ConversationFactory(
        contact=contact, endpoint=endpoint, team=endpoint.team, created_at=now - timedelta(days=1)
    )
    newer = ConversationFactory(contact=contact, endpoint=endpoint, team=endpoint.team)
    for conversation, text in ((older, "prima"), (newer, "dopo")):
        Message.objects.create(
            conversation=conversation,
            channel=endpoint.channel,
            endpoint=endpoint,
            direction=Message.Direction.INBOUND,
            text=text,
            occurred_at=conversation.created_at,
        )
    return older, newer


def test_api_merge(api, api_endpoint, agent):
    older, newer = two_of_one_contact(api_endpoint)
    response = api.post(merge_url(newer), {"into": older.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == older.pk
    assert sorted(older.messages.filter(kind="message").values_list("text", flat=True)) == [
        "dopo",
        "prima",
    ]
    detail = api.get(reverse("conversation-detail", kwargs={"pk": newer.pk})).json()
    assert detail["merged_into"] == older.pk and detail["status"] == "resolved"
    event = older.messages.get(event_type="conversation_merged")
    assert event.author == agent
    # Again: the conversation was merged already.
    again = api.post(merge_url(newer), {"into": older.pk}, format="json")
    assert again.status_code == 409, again.content


def test_api_merge_refusals(api, api_endpoint):
    older, newer = two_of_one_contact(api_endpoint)
    stranger = ConversationFactory(endpoint=api_endpoint, team=api_endpoint.team)
    other_team = EndpointFactory(team=TeamFactory())
    hidden = ConversationFactory(contact=older.contact, endpoint=other_team, team=other_team.team)
    cases = [
        (newer, {"into": newer.pk}, 400, "into"),
        (newer, {"into": stranger.pk}, 400, "into"),
        (newer, {"into": hidden.pk}, 400, "into"),  # not the agent's team: as if absent
        (newer, {"into": "x"}, 400, "into"),
        (newer, {"into": 10**20}, 400, "into"),  # beyond a bigint: no such conversation
        (newer, {}, 400, "into"),
    ]
    for source, body, code, field in cases:
        response = api.post(merge_url(source), body, format="json")
        assert response.status_code == code, (body, response.content)
        assert field in response.json(), (body, response.json())
    hidden_source = api.post(merge_url(hidden), {"into": older.pk}, format="json")
    assert hidden_source.status_code == 404
    assert not Conversation.objects.filter(merged_into__isnull=False).exists()


def test_admin_action_merges_into_the_oldest(admin_client, api_endpoint):
    older, newer = two_of_one_contact(api_endpoint)
    response = admin_client.post(
        reverse("admin:hub_conversation_changelist"),
        {"action": "merge_selected", "_selected_action": [older.pk, newer.pk]},
        follow=True,
    )
    assert response.status_code == 200
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk
    assert older.messages.filter(kind="message").count() == 2
    # Conversations of two contacts are refused with a message, nothing merged.
    a, b = ConversationFactory(endpoint=api_endpoint), ConversationFactory(endpoint=api_endpoint)
    response = admin_client.post(
        reverse("admin:hub_conversation_changelist"),
        {"action": "merge_selected", "_selected_action": [a.pk, b.pk]},
        follow=True,
    )
    assert "same contact" in response.content.decode()
    assert not Conversation.objects.filter(pk__in=[a.pk, b.pk], merged_into__isnull=False).exists()


# --- in the agent UI ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "banner", "kept_event", "merged_event"),
    [
        ("en", "Merged into", "merged into this one", "Merged into conversation #"),
        ("it", "Unita alla", "unita a questa", "Unita alla conversazione #"),
    ],
)
def test_the_agent_sees_where_a_merged_conversation_went(
    client, agent, support, language, banner, kept_event, merged_event
):
    from inbox.models import AgentProfile

    AgentProfile.objects.create(user=agent, language=language, time_zone="Europe/Rome")
    client.force_login(agent)
    kept, merged = split_thread()
    ingest(mail(message_id="<b@example.it>", In_Reply_To="<a@example.it>"))
    html = client.get(reverse("inbox:conversation", args=[merged.pk])).content.decode()
    kept_url = reverse("inbox:conversation", args=[kept.pk])
    assert banner in html and f'href="{kept_url}"' in html
    assert merged_event + str(kept.pk) in html
    assert reverse("inbox:reopen", args=[merged.pk]) not in html  # nothing to reopen there
    kept_html = client.get(kept_url).content.decode()
    assert f"#{merged.pk} {kept_event}" in kept_html


def test_the_agent_merges_an_earlier_conversation_from_the_contact_panel(client, agent, support):
    client.force_login(agent)
    kept, merged = split_thread()
    page = client.get(reverse("inbox:conversation", args=[kept.pk])).content.decode()
    merge = reverse("inbox:merge", args=[kept.pk])
    assert f'action="{merge}"' in page and f'name="source" value="{merged.pk}"' in page
    # htmx: no content, the pane loads the kept conversation.
    response = client.post(merge, {"source": merged.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert reverse("inbox:conversation", args=[kept.pk]) in response["HX-Location"]
    merged.refresh_from_db()
    assert merged.merged_into_id == kept.pk
    assert kept.messages.filter(provider_message_id="c@example.it").exists()
    # The merged one is no longer offered, and cannot be merged again.
    page = client.get(reverse("inbox:conversation", args=[kept.pk])).content.decode()
    assert f'name="source" value="{merged.pk}"' not in page
    again = client.post(merge, {"source": merged.pk}, HTTP_HX_REQUEST="true")
    assert again.status_code == 422 and "merged already" in again.content.decode()


def test_the_agent_cannot_merge_what_they_cannot_see(client, agent, support):
    client.force_login(agent)
    kept = ingest(mail(message_id="<a@example.it>")).conversation
    other_team = EndpointFactory(channel="email", address="x@other.example", team=TeamFactory())
    hidden = ConversationFactory(contact=kept.contact, endpoint=other_team, team=other_team.team)
    merge = reverse("inbox:merge", args=[kept.pk])
    for source in (hidden.pk, "", "x", kept.pk, 10**20):
        response = client.post(merge, {"source": source}, HTTP_HX_REQUEST="true")
        assert response.status_code == 422, source
    # Into a conversation of another team: a 404, as for every action there.
    hidden_url = reverse("inbox:merge", args=[hidden.pk])
    assert client.post(hidden_url, {"source": kept.pk}).status_code == 404
    assert not Conversation.objects.filter(merged_into__isnull=False).exists()


def test_a_deadlock_with_an_arriving_message_is_a_conflict_not_a_500(
    api, api_endpoint, monkeypatch
):
    """PostgreSQL aborts one of two transactions that lock the pair in opposite orders (an
    agent's merge, the ingest's late-link merge): the agent is told to try again."""
    from django.db import OperationalError

    from hub.services import merge

    older, newer = two_of_one_contact(api_endpoint)

    monkeypatch.setattr(merge, "_merge_conversations", raises_deadlock)
    response = api.post(merge_url(newer), {"into": older.pk}, format="json")
    assert response.status_code == 409 and "try again" in response.json()["detail"]

    def other_failure(*args, **kwargs):
        raise OperationalError("connection lost")

    monkeypatch.setattr(merge, "_merge_conversations", other_failure)
    with pytest.raises(OperationalError):
        merge.merge_conversations(older, newer)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_reported_as_a_conflict(api_endpoint):
    """Another transaction holds the kept conversation and then asks for the merged one, which
    the agent's merge (locking in id order) already holds: PostgreSQL aborts the merge, and the
    agent gets "try again" instead of a server error."""
    import threading
    import time

    from django.db import connection, transaction

    older, newer = two_of_one_contact(api_endpoint)  # the merge locks older first, then newer
    holding, done = threading.Event(), threading.Event()

    def other_writer():
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update().get(pk=newer.pk)
                holding.set()
                time.sleep(0.4)  # the merge is now waiting for newer
                Conversation.objects.select_for_update().get(pk=older.pk)
        except Exception:  # the merge is the one aborted; should this be, the test says so
            pass
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    assert holding.wait(10)
    with pytest.raises(ServiceError) as refused:
        services.merge_conversations(newer, older)
    assert refused.value.code == "conflict"
    thread.join(10)
    assert done.is_set()
    older.refresh_from_db()
    assert older.merged_into_id is None  # nothing half-done


def test_an_inbound_post_that_meets_a_deadlock_is_a_503_to_retry(api, api_endpoint, monkeypatch):
    """The other side of that deadlock: the ingest is aborted, nothing is stored, and the
    integrator is told to retry (503 with Retry-After), as a provider's webhook retries."""

    from hub.api import views

    monkeypatch.setattr(views.services, "ingest_with_outcome", raises_deadlock)
    response = api.post(
        reverse("inbound"),
        {"endpoint": api_endpoint.pk, "sender": {"address": "crm:1"}, "text": "ciao"},
        format="json",
    )
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json()["code"] == "try_again"
    assert not Message.objects.filter(text="ciao").exists()
