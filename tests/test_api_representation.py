"""The hand-written representations of the hot read serializers equal DRF's generic output.

``ConversationSerializer`` & co. override ``to_representation`` for speed (see the comment in
hub/api/serializers.py); these tests run DRF's own field-by-field ``Serializer.to_representation``
on the same objects and compare, so a field added to one and not the other fails here.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework import serializers

from crm.models import Contact
from hub.api import serializers as s
from hub.models import Attachment, Conversation, Message
from hub.services import add_note, assign, ingest, send_reply, snooze
from hub.services.ingestion import store_attachment
from tests.factories import inbound


def generic(serializer_class, instance, **kwargs):
    """DRF's own representation: every declared field's ``to_representation``."""
    serializer = serializer_class(instance, **kwargs)
    return serializers.Serializer.to_representation(serializer, instance)


@pytest.fixture
def busy_conversation(api_endpoint, agent, on_commit):
    message = ingest(inbound(api_endpoint, "cust-7", sender_name="Ada Lovelace", subject="Ciao"))
    conversation = message.conversation
    store_attachment(message, "note.txt", "text/plain", b"hello")
    assign(conversation, assignee=agent)
    send_reply(conversation, text="On it", author=agent)
    add_note(conversation, text="internal", author=agent)
    snooze(conversation, until=timezone.now() + timedelta(hours=3))
    Conversation.objects.filter(pk=conversation.pk).update(
        breached_at=timezone.now(), warn_at=timezone.now(), due_at=timezone.now(), priority=2
    )
    return Conversation.objects.select_related("contact").get(pk=conversation.pk)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Rome", "America/New_York"])
def test_conversation_representation_equals_drf(busy_conversation, zone):
    fresh = Conversation.objects.select_related("contact").get(pk=busy_conversation.pk)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        ours = s.ConversationSerializer(fresh).data
        theirs = generic(s.ConversationSerializer, fresh)
    assert ours == theirs
    assert set(ours) == set(s.ConversationSerializer().fields)
    assert ours["snoozed_until"] and ours["breached_at"] and ours["assignee"]
    if zone == "UTC":
        assert ours["created_at"].endswith("Z")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Rome"])
def test_message_representation_equals_drf_for_every_kind(busy_conversation, zone):
    request = RequestFactory().get("/api/v1/")
    messages = list(
        Message.objects.filter(conversation=busy_conversation)
        .select_related("sender_identity", "recipient_identity")
        .prefetch_related("attachments")
    )
    kinds = {(m.kind, m.direction) for m in messages}
    assert {("message", "in"), ("message", "out"), ("note", "")} <= kinds
    assert any(kind == "event" for kind, _ in kinds)
    assert any(m.attachments.all() for m in messages)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for message in messages:
            ours = s.MessageSerializer(message, context={"request": request}).data
            theirs = generic(s.MessageSerializer, message, context={"request": request})
            assert ours == theirs, message.kind
            assert set(ours) == set(s.MessageSerializer().fields)


def test_identity_and_attachment_representations_equal_drf(busy_conversation):
    request = RequestFactory().get("/api/v1/")
    inbound_message = busy_conversation.messages.filter(direction="in").first()
    identity = inbound_message.sender_identity
    assert s.IdentityReadSerializer(identity).data == generic(s.IdentityReadSerializer, identity)
    attachment = Attachment.objects.get(message=inbound_message)
    ours = s.AttachmentSerializer(attachment, context={"request": request}).data
    theirs = generic(s.AttachmentSerializer, attachment, context={"request": request})
    assert ours == theirs
    assert ours["url"].startswith("http://testserver/")
    assert s.AttachmentSerializer(attachment).data["url"].startswith("/")


def test_representation_of_unsaved_naive_times_follows_drf(api_endpoint):
    conversation = Conversation(
        pk=1, contact=Contact(pk=5, name="Ada"), endpoint=api_endpoint, channel="api", subject="x"
    )
    conversation.created_at = timezone.now().replace(tzinfo=None)
    with timezone.override(zoneinfo.ZoneInfo("Europe/Rome")):
        assert s.ConversationSerializer(conversation).data == generic(
            s.ConversationSerializer, conversation
        )
