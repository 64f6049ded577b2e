"""Lead capture in the chat: the visitor's name and email (pre-chat form, the in-chat email form
an agent asks for), and the one-time code that proves the email is theirs.

The rule (``crm.verification``): an address the visitor types is a claim. It never merges the
visitor into another contact, never moves their conversation and never shows them anything of
anyone else; only a code sent to the address, or an agent's explicit action, does.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from channels_chat import ratelimit
from channels_chat.errors import ChatError
from channels_chat.payloads import form_of
from channels_chat.services import (
    Visitor,
    _hit,
    _limited,
    contact_id_of,
    visitor_conversation,
)
from crm import verification
from crm.identities import InvalidIdentity, normalise_email
from crm.models import Contact, Identity, IdentityClaim
from hub.adapters import OutboundRefused
from hub.models import Conversation, Message
from hub.services import verification as hub_verification
from hub.services.timeline import record_event
from hub.text import clean_text

logger = logging.getLogger(__name__)


def capture_details(visitor: Visitor, *, name: object = "", email: object = "") -> dict[str, Any]:
    """The pre-chat form or the in-chat email form: the name goes on the visitor (and the contact
    when it has none); the email is a *claim* (``crm.verification``): it never merges the
    visitor into another contact nor shows them anything of one. An address nobody has becomes
    an unverified identity of the visitor's contact; one another contact has stays a claim the
    agent sees. Either way a one-time code is emailed to it (the same answer whoever owns the
    address: the form tells nobody whether someone is a customer), and entering it
    (``verify_code``) proves the address.
    """
    try:
        ratelimit.hit("details", visitor.visitor_id, 10)
    except ratelimit.Limited as limited:
        raise _limited(limited) from limited
    name = clean_text(name if isinstance(name, str) else "")[:200]
    address = ""
    if email:
        try:
            address = normalise_email(email if isinstance(email, str) else "")
        except InvalidIdentity as exc:
            raise ChatError("invalid_email", "That is not an email address.") from exc
    if not (name or address):
        raise ChatError("empty", "Give a name or an email address.")
    claimed = None
    with transaction.atomic():
        identity = Identity.objects.select_related("contact").get(pk=visitor.identity.pk)
        contact = identity.contact
        if name:
            identity.display_name = name
            identity.save(update_fields=["display_name"])
            if not contact.name:
                Contact.objects.filter(pk=contact.pk, name="").update(name=name)
        if address:
            claimed = verification.claim_address(
                contact,
                Identity.Kind.EMAIL,
                address,
                source=IdentityClaim.Source.CHAT_FORM,
                display_name=name,
            )
        conversation = visitor_conversation(visitor)
        if conversation is not None:
            _note_details(conversation, name, address, claimed)
    result: dict[str, Any] = {"name": bool(name), "email": bool(address), "merged": False}
    if claimed is not None and claimed.claim is not None:
        sent = _send_code(claimed.claim, visitor, conversation)
        result["verify"] = {"email": address, "sent": sent}
    return result


def _send_code(claim: IdentityClaim, visitor: Visitor, conversation: Conversation | None) -> bool:
    try:
        hub_verification.send_code(claim, conversation=conversation, endpoint=visitor.endpoint)
    except (verification.VerificationError, OutboundRefused) as exc:
        logger.info("no code sent for claim %s: %s", claim.pk, exc)
        return False
    return True


def _visitor_claim(visitor: Visitor) -> IdentityClaim:
    """The visitor's own latest unproven claim (of their contact), or ``ChatError`` 404."""
    claims = verification.pending_claims(contact_id_of(visitor))
    if not claims:
        raise ChatError("no_claim", "No email address is waiting for a code.", status=404)
    return claims[0]


def _verification_error(error: verification.VerificationError) -> ChatError:
    status = {"too_soon": 429, "too_many": 429, "locked": 429, "verified": 409}.get(error.code, 400)
    return ChatError(error.code, error.message, status=status, retry_after=error.retry_after)


def send_code(visitor: Visitor) -> dict[str, Any]:
    """A new one-time code to the visitor's claimed address (limited in ``crm.verification``)."""
    _hit("verify", visitor, "MESSAGES_PER_MINUTE")
    claim = _visitor_claim(visitor)
    try:
        hub_verification.send_code(
            claim, conversation=visitor_conversation(visitor), endpoint=visitor.endpoint
        )
    except verification.VerificationError as error:
        raise _verification_error(error) from error
    except OutboundRefused as refused:
        raise ChatError("try_again", "The code could not be sent; try again.", status=503) from (
            refused
        )
    return {"email": claim.value, "sent": True}


def verify_code(visitor: Visitor, code: object) -> dict[str, Any]:
    """The visitor enters the code emailed to their claimed address: only their own claim."""
    _hit("verify", visitor, "MESSAGES_PER_MINUTE")
    claim = _visitor_claim(visitor)
    try:
        proven = hub_verification.verify_code(
            claim, code, conversation=visitor_conversation(visitor)
        )
    except verification.VerificationError as error:
        raise _verification_error(error) from error
    return {"email": proven.identity.value, "verified": True}


def _note_details(
    conversation: Conversation, name: str, address: str, claimed: verification.Claimed | None
) -> None:
    shared = " and ".join(
        part
        for part in (f"name {name}" if name else "", f"email {address}" if address else "")
        if part
    )
    owner = claimed.owner if claimed is not None else None
    text = f"The visitor shared their {shared} (not verified)."
    if owner is not None:
        text += (
            f" {address} belongs to contact #{owner.contact_id}: nothing is joined until the "
            "visitor proves it (code) or an agent verifies it."
        )
    record_event(
        conversation,
        "chat_contact_details",
        text=text,
        metadata={
            "name": name,
            "email": address,
            "claim_id": claimed.claim.pk if claimed and claimed.claim else None,
            "owner_contact_id": owner.contact_id if owner is not None else None,
        },
    )
    if address:
        asks = Message.objects.filter(
            conversation=conversation, direction=Message.Direction.OUTBOUND
        ).order_by("-id")[:50]
        for ask in asks:
            if form_of(ask) == "email":
                chat = dict(ask.metadata.get("chat") or {})
                if not chat.get("answered"):
                    ask.metadata = {
                        **ask.metadata,
                        "chat": {**chat, "form": "email", "answered": True},
                    }
                    ask.save(update_fields=["metadata", "updated_at"])
