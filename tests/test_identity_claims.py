"""An address a chat visitor types is a claim (issue #16, "chat thread takeover"): it never merges
the visitor into the contact that owns the address, never moves their conversation and never
shows them anything of that contact; a one-time code sent to the address (or an agent) proves it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from channels_chat import continuity, leads, presence, services
from crm import verification
from crm.models import Contact, ContactMerge, Identity, IdentityClaim
from hub.models import Conversation, LocalDelivery, Message
from hub.services import ingest, send_reply
from tests.chat_helpers import chat_endpoint, chat_limits, visitor
from tests.factories import ContactFactory, EndpointFactory, IdentityFactory, UserFactory, inbound

pytestmark = pytest.mark.django_db
__all__ = ["chat_limits"]


@pytest.fixture(autouse=True)
def _limits(chat_limits):
    return chat_limits


@pytest.fixture
def chat():
    endpoint = chat_endpoint(continuity_delay_seconds=60)
    endpoint.name = "Negozio"
    endpoint.save()
    return endpoint


@pytest.fixture
def mailbox(chat):
    return EndpointFactory(team=chat.team, channel="email", address="help@shop.example")


@pytest.fixture
def agent(chat):
    user = UserFactory(first_name="Sara")
    chat.team.members.add(user)
    return user


@pytest.fixture
def anna():
    contact = ContactFactory(name="Anna Bianchi", language="it", attributes={"plan": "gold"})
    IdentityFactory(contact=contact, kind="email", value="anna@example.com")
    return contact


def call(path, body):
    return Client().post(
        f"/chat/api/{path}/", json.dumps(body), content_type="text/plain;charset=UTF-8"
    )


def texts(token, chat) -> list[str]:
    state = call("sync", {"endpoint": chat.public_key, "token": token}).json()
    return [m["text"] for m in state["messages"]]


def sent_code(address: str) -> str:
    """The code in the latest email to ``address`` in the local outbox."""
    mail = LocalDelivery.objects.filter(recipient=address).order_by("-id").first()
    assert mail is not None, f"no email to {address}"
    return re.search(r"\b(\d{6})\b", mail.body).group(1)


# --- The takeover, reproduced ----------------------------------------------------------------


def test_claiming_a_customers_email_merges_nothing_and_shows_nothing(
    chat, mailbox, agent, anna, on_commit
):
    by_mail = ingest(inbound(mailbox, "anna@example.com", subject="Ordine 42", text="Dov'è?"))
    token, who = visitor(chat)
    visitor_contact = who.identity.contact_id
    key = chat.public_key

    answer = call("details", {"endpoint": key, "token": token, "email": "Anna@Example.com"})
    assert answer.status_code == 200
    assert answer.json()["merged"] is False
    assert call("send", {"endpoint": key, "token": token, "text": "Ciao"}).status_code == 200
    with on_commit():
        send_reply(by_mail.conversation, text="Il tuo ordine 42 arriva domani.", author=agent)
    ingest(inbound(mailbox, "anna@example.com", text="Grazie, e l'indirizzo?"))

    assert ContactMerge.objects.count() == 0
    assert Contact.objects.filter(pk=visitor_contact).exists()
    assert Identity.objects.get(pk=who.identity.pk).contact_id == visitor_contact
    assert Identity.objects.get(value="anna@example.com").contact_id == anna.pk
    chat_conversation = services.visitor_conversation(who)
    assert chat_conversation.contact_id == visitor_contact
    assert set(anna.conversations.values_list("channel", flat=True)) == {"email"}
    assert texts(token, chat) == ["Ciao"]
    claim = IdentityClaim.objects.get()
    assert (claim.contact_id, claim.value, claim.verified_at) == (
        visitor_contact,
        "anna@example.com",
        None,
    )


def test_the_customers_chat_replies_never_reach_the_claimant(chat, agent, anna, on_commit):
    """The claimant's first message must not thread into the customer's own chat thread (it
    would, once merged: chat threads by contact), so the agent's replies there stay hers."""
    IdentityFactory(contact=anna, kind="chat_visitor", value="v-anna-device-1")
    hers = ingest(inbound(chat, "v-anna-device-1", text="Avete la taglia M?")).conversation
    token, who = visitor(chat)
    call("details", {"endpoint": chat.public_key, "token": token, "email": "anna@example.com"})
    mine = services.send_message(who, "Ciao, sono Anna", "m1").conversation
    with on_commit():
        reply = send_reply(hers, text="Sì, la M arriva domani.", author=agent)

    assert mine.pk != hers.pk
    assert reply.recipient_identity.value == "v-anna-device-1"
    assert texts(token, chat) == ["Ciao, sono Anna"]


def test_the_claimants_unseen_replies_are_not_emailed_to_the_claimed_address(
    chat, mailbox, agent, anna, on_commit
):
    _token, who = visitor(chat)
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        conversation = services.send_message(who, "Ciao", "m1").conversation
        presence.polled(who.identity.pk)
        leads.capture_details(who, email="anna@example.com")
    with time_machine.travel(t0 + timedelta(seconds=5), tick=False), on_commit():
        send_reply(conversation, text="Dimmi pure", author=agent)
    with time_machine.travel(t0 + timedelta(seconds=90), tick=False), on_commit():
        assert continuity.email_unseen_replies(conversation.pk) == "no_address"
    assert not LocalDelivery.objects.filter(message__isnull=False).exists()
    conversation.refresh_from_db()
    assert conversation.channel == "chat"


# --- Proof by the person: a one-time code ------------------------------------------------------


def test_the_code_proves_the_address_and_merges_the_visitor_into_the_customer(
    chat, mailbox, anna, on_commit
):
    by_mail = ingest(inbound(mailbox, "anna@example.com", subject="Ordine 42", text="Dov'è?"))
    token, who = visitor(chat)
    key = chat.public_key
    call("send", {"endpoint": key, "token": token, "text": "Ciao"})
    answer = call("details", {"endpoint": key, "token": token, "email": "anna@example.com"})
    assert answer.json()["verify"] == {"email": "anna@example.com", "sent": True}
    code = sent_code("anna@example.com")
    claim = IdentityClaim.objects.get()
    assert claim.code_hash and code not in claim.code_hash  # only a keyed hash is kept
    mail = LocalDelivery.objects.get(recipient="anna@example.com")
    assert mail.message is None and "Negozio" in mail.body
    assert mail.payload["from"] == f"{mailbox.name} <help@shop.example>"
    assert mail.payload["reply_to"] == []  # an answer threads into no conversation
    state = call("session", {"endpoint": key, "token": token}).json()
    assert state["verify"] == {"email": "anna@example.com", "code_sent": True}

    with on_commit():
        done = call("verify", {"endpoint": key, "token": token, "code": f" {code} "})
    assert done.status_code == 200, done.content
    assert done.json() == {"email": "anna@example.com", "verified": True}
    visitor_contact = who.identity.contact_id
    assert not Contact.objects.filter(pk=visitor_contact).exists()
    assert Identity.objects.get(pk=who.identity.pk).contact_id == anna.pk
    email = Identity.objects.get(value="anna@example.com")
    assert email.is_verified and email.verification_method == "code"
    record = ContactMerge.objects.get()
    assert (record.kept_id, record.merged_contact_id) == (anna.pk, visitor_contact)
    conversation = services.visitor_conversation(who)
    event = conversation.messages.get(event_type="identity_verified")
    assert event.metadata["method"] == "code" and event.metadata["kept_contact_id"] == anna.pk
    # Verified, the visitor's widget still shows their chat only, not the customer's email.
    assert texts(token, chat) == ["Ciao"]
    assert by_mail.conversation.pk != conversation.pk
    again = call("verify", {"endpoint": key, "token": token, "code": code})
    assert again.status_code == 404  # nothing left to prove


def test_wrong_expired_and_too_many_codes_are_refused(chat, mailbox, anna):
    token, _who = visitor(chat)
    key = chat.public_key
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        call("details", {"endpoint": key, "token": token, "email": "anna@example.com"})
        code = sent_code("anna@example.com")
        wrong = "000000" if code != "000000" else "111111"
        refused = call("verify", {"endpoint": key, "token": token, "code": wrong})
        assert refused.status_code == 400 and refused.json()["error"] == "wrong_code"
        assert IdentityClaim.objects.get().code_attempts == 1
        garbage = call("verify", {"endpoint": key, "token": token, "code": {"x": 1}})
        assert garbage.status_code == 400 and garbage.json()["error"] == "wrong_code"
        soon = call("verify/send", {"endpoint": key, "token": token})
        assert soon.status_code == 429 and soon.json()["error"] == "too_soon"
    with time_machine.travel(t0 + timedelta(minutes=16), tick=False):
        late = call("verify", {"endpoint": key, "token": token, "code": code})
        assert late.status_code == 400 and late.json()["error"] == "expired"
        assert call("verify/send", {"endpoint": key, "token": token}).status_code == 200
        code = sent_code("anna@example.com")
        wrong = "000000" if code != "000000" else "111111"
        statuses = [
            call("verify", {"endpoint": key, "token": token, "code": wrong}).json()["error"]
            for _ in range(verification.MAX_ATTEMPTS)
        ]
        assert statuses == ["wrong_code"] * (verification.MAX_ATTEMPTS - 1) + ["locked"]
        right = call("verify", {"endpoint": key, "token": token, "code": code})
        assert right.status_code == 429 and right.json()["error"] == "locked"
    assert ContactMerge.objects.count() == 0
    assert Identity.objects.get(value="anna@example.com").contact_id == anna.pk
    assert not Identity.objects.get(value="anna@example.com").is_verified


def test_codes_to_one_address_are_limited_whoever_asks(chat, mailbox, anna):
    for _ in range(verification.MAX_CODES_PER_ADDRESS_HOUR + 1):
        token, _who = visitor(chat)
        call("details", {"endpoint": chat.public_key, "token": token, "email": "anna@example.com"})
    assert LocalDelivery.objects.filter(recipient="anna@example.com").count() == (
        verification.MAX_CODES_PER_ADDRESS_HOUR
    )


def test_a_visitor_can_only_prove_their_own_claim(chat, mailbox, anna):
    token, _ = visitor(chat)
    call("details", {"endpoint": chat.public_key, "token": token, "email": "anna@example.com"})
    code = sent_code("anna@example.com")
    other, _ = visitor(chat)
    stolen = call("verify", {"endpoint": chat.public_key, "token": other, "code": code})
    assert stolen.status_code == 404 and stolen.json()["error"] == "no_claim"
    assert ContactMerge.objects.count() == 0


def test_a_code_asked_before_the_first_message_names_the_site(chat, mailbox, anna):
    token, _ = visitor(chat)
    call("details", {"endpoint": chat.public_key, "token": token, "email": "anna@example.com"})
    mail = LocalDelivery.objects.get(recipient="anna@example.com")
    assert "in the chat of Negozio" in mail.body
    assert mail.payload["from"] == f"{mailbox.name} <help@shop.example>"


def test_the_code_email_is_in_the_visitors_language(chat, mailbox, anna):
    token, _ = visitor(chat, language="it")
    call("details", {"endpoint": chat.public_key, "token": token, "email": "anna@example.com"})
    mail = LocalDelivery.objects.get(recipient="anna@example.com")
    assert mail.subject.startswith("Il tuo codice di verifica")
    assert "Inserisci il codice nella chat entro 15 minuti" in mail.body
    token, _ = visitor(chat, language="en")
    call("details", {"endpoint": chat.public_key, "token": token, "email": "bob@example.com"})
    mail = LocalDelivery.objects.get(recipient="bob@example.com")
    assert mail.subject.startswith("Your verification code")


# --- An address nobody has ---------------------------------------------------------------------


def test_an_unowned_address_is_an_unverified_identity_and_its_later_email_stays_out(
    chat, mailbox, agent, on_commit
):
    token, who = visitor(chat)
    key = chat.public_key
    call("send", {"endpoint": key, "token": token, "text": "Ciao"})
    call("details", {"endpoint": key, "token": token, "email": "bob@example.com"})
    email = Identity.objects.get(value="bob@example.com")
    assert email.contact_id == who.identity.contact_id and not email.is_verified
    assert IdentityClaim.objects.get().value == "bob@example.com"

    # Whoever really reads bob@ writes to support: a thread of its own, not the visitor's chat.
    theirs = ingest(inbound(mailbox, "bob@example.com", subject="Fattura", text="La fattura?"))
    chat_conversation = services.visitor_conversation(who)
    assert theirs.conversation_id != chat_conversation.pk
    with on_commit():
        send_reply(theirs.conversation, text="Eccola in allegato.", author=agent)
    assert texts(token, chat) == ["Ciao"]
    assert services.visitor_conversation(who).pk == chat_conversation.pk


def test_an_unowned_address_proven_by_code_becomes_verified(chat, mailbox):
    token, who = visitor(chat)
    key = chat.public_key
    call("details", {"endpoint": key, "token": token, "email": "bob@example.com"})
    done = call("verify", {"endpoint": key, "token": token, "code": sent_code("bob@example.com")})
    assert done.status_code == 200
    email = Identity.objects.get(value="bob@example.com")
    assert email.contact_id == who.identity.contact_id
    assert email.verification_method == "code" and email.verified_at is not None
    assert ContactMerge.objects.count() == 0


def test_proof_beats_another_visitors_unproven_claim(chat, mailbox):
    first, who_first = visitor(chat)
    call("details", {"endpoint": chat.public_key, "token": first, "email": "bob@example.com"})
    second, who_second = visitor(chat)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        call("details", {"endpoint": chat.public_key, "token": second, "email": "bob@example.com"})
        code = sent_code("bob@example.com")
        done = call("verify", {"endpoint": chat.public_key, "token": second, "code": code})
    assert done.status_code == 200
    email = Identity.objects.get(value="bob@example.com")
    assert email.contact_id == who_second.identity.contact_id and email.is_verified
    assert ContactMerge.objects.count() == 0
    assert IdentityClaim.objects.get(contact_id=who_first.identity.contact_id).verified_at is None


def test_merging_contacts_with_the_same_claim_keeps_one():
    from crm.services import merge_contacts

    a, b = ContactFactory(), ContactFactory()
    for contact in (a, b):
        verification.claim_address(contact, "email", "x@example.com", source="chat_form")
    merge_contacts(a, b)
    assert list(IdentityClaim.objects.values_list("contact_id", flat=True)) == [a.pk]


def test_messages_in_the_visitors_thread_from_another_contact_stay_hidden(chat, mailbox, anna):
    """The reply token threads anyone's email into a conversation: what another contact writes
    there is not the visitor's to read."""
    token, who = visitor(chat)
    conversation = services.send_message(who, "Ciao", "m1").conversation
    ingest(
        inbound(
            mailbox,
            "anna@example.com",
            text="Sono Anna",
            conversation_token=conversation.reply_token,
        )
    )
    assert Message.objects.filter(conversation=conversation, text="Sono Anna").exists()
    assert texts(token, chat) == ["Ciao"]
    assert Conversation.objects.get(pk=conversation.pk).contact_id == who.identity.contact_id


def test_one_visitor_cannot_send_codes_to_many_addresses(chat, mailbox):
    token, _ = visitor(chat)
    for n in range(verification.MAX_CODES_PER_CONTACT_HOUR + 2):
        call("details", {"endpoint": chat.public_key, "token": token, "email": f"p{n}@example.com"})
    assert LocalDelivery.objects.count() == verification.MAX_CODES_PER_CONTACT_HOUR
