"""``crm.services.merge_contacts``: one timeline per person, recorded, race-safe."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.utils import timezone

from crm.models import Contact, ContactMerge, Identity, PageView
from crm.services import MergeError, merge_contacts
from hub.models import Conversation
from hub.services import ingest
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    EndpointFactory,
    IdentityFactory,
    TeamFactory,
    inbound,
)
from tests.markers import postgresql_only


@pytest.mark.django_db
def test_merge_moves_everything_and_records_provenance():
    team = TeamFactory()
    chat = EndpointFactory(team=team, channel="chat", address="website")
    mail = EndpointFactory(team=team, channel="email", address="help@shop.example")
    known = ContactFactory(
        name="Anna Bianchi", language="", attributes={"plan": "gold", "city": "Roma"}
    )
    visitor = ContactFactory(
        name="", language="it", company=CompanyFactory(), attributes={"city": "Milano", "cart": 3}
    )
    IdentityFactory(contact=known, kind="email", value="anna@example.com")
    chat_identity = IdentityFactory(contact=visitor, kind="chat_visitor", value="v-123456789")
    by_mail = ingest(inbound(mail, "anna@example.com", subject="Order")).conversation
    by_chat = ingest(inbound(chat, "v-123456789", text="Ciao")).conversation
    PageView.objects.create(contact=visitor, url="https://shop.example/", viewed_at=timezone.now())
    merged_id = visitor.pk

    record = merge_contacts(known, visitor, reason="test")

    assert not Contact.objects.filter(pk=merged_id).exists()
    chat_identity.refresh_from_db()
    assert chat_identity.contact_id == known.pk
    assert set(Conversation.objects.values_list("contact_id", flat=True)) == {known.pk}
    assert {by_mail.pk, by_chat.pk} == set(known.conversations.values_list("pk", flat=True))
    assert PageView.objects.get().contact_id == known.pk
    known.refresh_from_db()
    assert known.attributes == {"plan": "gold", "city": "Roma", "cart": 3}
    assert known.name == "Anna Bianchi" and known.language == "it"
    assert known.company_id == visitor.company_id
    assert record.attributes_taken == {"cart": 3}
    assert record.attributes_conflicting == {"city": "Milano"}
    assert record.moved["crm.identity"]["ids"] == [chat_identity.pk]
    assert record.moved["hub.conversation"]["ids"] == [by_chat.pk]
    assert record.moved["crm.pageview"]["count"] == 1
    assert record.moved["fields"]["language"] == "it"
    assert record.merged_contact_id == merged_id and record.reason == "test"
    # A later message from the chat visitor continues on the kept contact.
    again = ingest(inbound(chat, "v-123456789", text="Ancora io")).conversation
    assert again.pk == by_chat.pk and again.contact_id == known.pk


@pytest.mark.django_db
def test_merging_again_keeps_the_earlier_records():
    a, b, c = ContactFactory(), ContactFactory(), ContactFactory()
    merge_contacts(b, c)
    merge_contacts(a, b)
    assert set(ContactMerge.objects.values_list("kept_id", flat=True)) == {a.pk}
    assert Contact.objects.filter(pk__in=[b.pk, c.pk]).count() == 0


@pytest.mark.django_db
def test_merge_refuses_itself_and_a_contact_already_gone():
    a, b = ContactFactory(), ContactFactory()
    with pytest.raises(MergeError) as same:
        merge_contacts(a, a)
    assert same.value.code == "same_contact"
    stale_b = Contact.objects.get(pk=b.pk)
    merge_contacts(a, b)
    with pytest.raises(MergeError) as gone:
        merge_contacts(a, stale_b)
    assert gone.value.code == "gone"
    assert ContactMerge.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_concurrent_opposite_merges_do_not_deadlock_or_half_merge():
    a, b = ContactFactory(), ContactFactory()
    IdentityFactory(contact=a, kind="email", value="a@example.com")
    IdentityFactory(contact=b, kind="email", value="b@example.com")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(keep, merge):
        try:
            barrier.wait(timeout=10)
            merge_contacts(Contact(pk=keep.pk), Contact(pk=merge.pk))
            outcomes.append("merged")
        except MergeError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(a, b)),
        threading.Thread(target=run, args=(b, a)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["gone", "merged"]
    assert Contact.objects.count() == 1
    survivor = Contact.objects.get()
    assert set(Identity.objects.values_list("contact_id", flat=True)) == {survivor.pk}
    assert ContactMerge.objects.count() == 1
