"""Consent to be messaged on an address (an SMS number, a WhatsApp number): opting out and back
in, the confirmation sent in the person's language, and the suggestions an agent decides on.

A channel app calls ``opt_out``/``opt_in`` when the person's message is a clear request, and
``suggest`` when it only looks like one ("how do I stop your texts?"): the person's address is
then held out of every automatic message (``Identity.opt_out_pending_at``; see ``send_reply``'s
``automatic``) until an agent confirms or dismisses the suggestion (``decide``).
"""

from __future__ import annotations

from django.db import transaction
from django.template import Context, Template
from django.utils import timezone
from django.utils.translation import gettext

from crm.models import Identity
from hub.adapters import OutboundRefused
from hub.channels import IDENTITY_KINDS_FOR_CHANNEL
from hub.models import Channel, Conversation, Message, MessageTemplate
from hub.payloads import message_payload
from hub.services import realtime
from hub.services.errors import ServiceError
from hub.services.outbound import send_reply
from hub.services.timeline import record_event

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
SUGGESTED = "opt_out_suggested"  # the event an agent decides on (for an opt-in too)
CONFIRM, DISMISS = "confirm", "dismiss"

# Built-in confirmations; a MessageTemplate with key ``opt_out_confirmation`` or
# ``opt_in_confirmation`` in the language replaces them ({{ channel }} is SMS or WhatsApp).
CONFIRMATIONS = {
    (OPT_OUT, "en"): "You will receive no more {{ channel }} messages from us on this number. "
    "Reply START to receive them again.",
    (OPT_OUT, "it"): "Non riceverai più messaggi {{ channel }} da noi su questo numero. "
    "Rispondi START per riceverli di nuovo.",
    (OPT_IN, "en"): "You will receive our {{ channel }} messages on this number again. "
    "Reply STOP to stop them.",
    (OPT_IN, "it"): "Riceverai di nuovo i nostri messaggi {{ channel }} su questo numero. "
    "Rispondi STOP per non riceverli più.",
}
LANGUAGES = {"en", "it"}


def person_language(conversation: Conversation) -> str:
    """The contact's language, else the endpoint's (``settings.language``), else English."""
    for candidate in (
        conversation.contact.language,
        (conversation.endpoint.settings or {}).get("language", ""),
    ):
        language = (candidate or "").split("-")[0].split("_")[0].lower()
        if language in LANGUAGES:
            return language
    return "en"


def confirmation_text(intent: str, language: str, channel_label: str) -> str:
    template = MessageTemplate.objects.filter(key=f"{intent}_confirmation", language=language)
    source = template.values_list("text", flat=True).first() or CONFIRMATIONS[(intent, language)]
    return Template(source).render(Context({"channel": channel_label}, autoescape=False)).strip()


def _send_confirmation(conversation: Conversation, identity: Identity, intent: str) -> dict:
    """Send the confirmation on the conversation's endpoint when it reaches ``identity``;
    returns what to record (the message id, or why none was sent). Never raises a refusal."""
    endpoint = conversation.endpoint
    if identity.kind not in IDENTITY_KINDS_FOR_CHANNEL.get(endpoint.channel, ()):
        return {"confirmation": "not_sent", "reason": "the conversation is on another channel"}
    if (endpoint.settings or {}).get("opt_out_confirmation", True) is False:
        return {"confirmation": "off"}
    language = person_language(conversation)
    text = confirmation_text(intent, language, endpoint.get_channel_display())
    try:
        sent = send_reply(
            conversation,
            text=text,
            counts_as_response=False,
            metadata={"consent": f"{intent}_confirmation", "language": language},
        )
    except (OutboundRefused, ServiceError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "message", str(exc))
        return {"confirmation": "not_sent", "reason": str(reason)[:300]}
    return {"confirmation": sent.pk, "language": language}


def _channel_label(channel: str) -> str:
    return Channel(channel).label if channel in Channel.values else channel


@transaction.atomic
def opt_out(
    conversation: Conversation,
    identity: Identity,
    *,
    trigger: str,
    message: Message | None = None,
    by=None,
    confirm: bool = True,
    metadata: dict | None = None,
) -> bool:
    """Opt ``identity`` out of messages on its channel; returns whether it changed. The
    confirmation (``confirm``) is the last message it is sent: it goes out before the opt-out
    takes effect. ``trigger`` is what the timeline quotes (the keyword, or the message)."""
    identity = Identity.objects.select_for_update().get(pk=identity.pk)
    if identity.opted_out_at is not None:
        if identity.opt_out_pending_at is not None:
            identity.opt_out_pending_at = None
            identity.save(update_fields=["opt_out_pending_at"])
        return False
    sent = _send_confirmation(conversation, identity, OPT_OUT) if confirm else {}
    identity.opted_out_at = timezone.now()
    identity.opt_out_pending_at = None
    identity.save(update_fields=["opted_out_at", "opt_out_pending_at"])
    _close_suggestions(conversation, identity)
    channel = _channel_label(message.channel if message else conversation.channel)
    record_event(
        conversation,
        "opted_out",
        text=f"{identity.value} opted out of {channel} messages (“{trigger}”): replies on "
        f"{channel} are refused until they send START.",
        author=by,
        metadata={
            "identity_id": identity.pk,
            "channel": message.channel if message else conversation.channel,
            "message_id": message.pk if message else None,
            **(metadata or {}),
            **sent,
        },
    )
    return True


@transaction.atomic
def opt_in(
    conversation: Conversation,
    identity: Identity,
    *,
    trigger: str,
    message: Message | None = None,
    by=None,
    confirm: bool = True,
    metadata: dict | None = None,
) -> bool:
    """Opt ``identity`` back in; returns whether it changed (it was opted out)."""
    identity = Identity.objects.select_for_update().get(pk=identity.pk)
    if identity.opted_out_at is None:
        return False
    identity.opted_out_at = None
    identity.opt_out_pending_at = None
    identity.save(update_fields=["opted_out_at", "opt_out_pending_at"])
    _close_suggestions(conversation, identity)
    sent = _send_confirmation(conversation, identity, OPT_IN) if confirm else {}
    channel = _channel_label(message.channel if message else conversation.channel)
    record_event(
        conversation,
        "opted_in",
        text=f"{identity.value} opted back in to {channel} messages (“{trigger}”).",
        author=by,
        metadata={
            "identity_id": identity.pk,
            "channel": message.channel if message else conversation.channel,
            "message_id": message.pk if message else None,
            **(metadata or {}),
            **sent,
        },
    )
    return True


@transaction.atomic
def suggest(
    message: Message, identity: Identity, *, intent: str, rule: str, confidence: float
) -> Message | None:
    """The message looks like an opt-out (or, from an opted-out person, an opt-in): an event
    an agent confirms or dismisses in one click. An opt-out suggestion holds the address out of
    automatic messages until then. None when there is nothing to decide (already so)."""
    identity = Identity.objects.select_for_update().get(pk=identity.pk)
    if (intent == OPT_OUT) == (identity.opted_out_at is not None):
        return None
    if intent == OPT_OUT and identity.opt_out_pending_at is None:
        identity.opt_out_pending_at = timezone.now()
        identity.save(update_fields=["opt_out_pending_at"])
    label = "an opt-out" if intent == OPT_OUT else "an opt-in"
    return record_event(
        message.conversation,
        SUGGESTED,
        text=f"Looks like {label}: confirm? ({identity.value}, message #{message.pk})",
        metadata={
            "identity_id": identity.pk,
            "message_id": message.pk,
            "intent": intent,
            "rule": rule,
            "confidence": confidence,
            "state": "pending",
        },
    )


def open_suggestions(conversation: Conversation, identity_id: int | None = None):
    events = Message.objects.filter(
        conversation=conversation,
        kind=Message.Kind.EVENT,
        event_type=SUGGESTED,
        metadata__state="pending",
    ).order_by("-occurred_at", "-id")
    if identity_id is not None:
        events = events.filter(metadata__identity_id=identity_id)
    return events


def _close_suggestions(conversation: Conversation, identity: Identity) -> None:
    """The person settled it themselves (STOP, START, a clear request): open suggestions about
    them are superseded (an agent's ``decide`` then records its own state over this)."""
    for event in open_suggestions(conversation, identity.pk):
        event.metadata = {**event.metadata, "state": "superseded"}
        event.save(update_fields=["metadata", "updated_at"])
        realtime.publish(conversation, "message.updated", message_payload(event))


@transaction.atomic
def decide(conversation: Conversation, identity_id: int, decision: str, *, by=None) -> Message:
    """An agent's answer to the open suggestion for ``identity_id`` in ``conversation``:
    ``confirm`` opts the address out (or in) with the confirmation message, ``dismiss`` lifts
    the hold on automatic messages. Returns the decision's timeline event."""
    if decision not in {CONFIRM, DISMISS}:
        raise ServiceError(gettext("Choose to confirm or dismiss."), field="decision")
    identity = conversation.contact.identities.filter(pk=identity_id).first()
    if identity is None:
        raise ServiceError(gettext("No such address for this contact."), field="identity")
    pending = list(open_suggestions(conversation, identity.pk).select_for_update())
    if not pending:
        raise ServiceError(
            gettext("There is no opt-out suggestion to decide on."),
            field="identity",
            code="no_suggestion",
        )
    latest = pending[0]
    intent = latest.metadata.get("intent", OPT_OUT)
    source = Message.objects.filter(pk=latest.metadata.get("message_id")).first()
    trigger = (source.text if source else "")[:80]
    extra = {"by_agent": True, "suggestion_id": latest.pk}
    if decision == CONFIRM and intent == OPT_OUT:
        opt_out(conversation, identity, trigger=trigger, message=source, by=by, metadata=extra)
    elif decision == CONFIRM:
        opt_in(conversation, identity, trigger=trigger, message=source, by=by, metadata=extra)
    else:
        Identity.objects.filter(pk=identity.pk).update(opt_out_pending_at=None)
    for event in pending:
        event.metadata = {**event.metadata, "state": f"{decision}ed", "decided_by": by and by.pk}
        event.save(update_fields=["metadata", "updated_at"])
        realtime.publish(conversation, "message.updated", message_payload(event))
    word = "confirmed" if decision == CONFIRM else "dismissed"
    label = "opt-out" if intent == OPT_OUT else "opt-in"
    return record_event(
        conversation,
        f"opt_out_{word}",
        text=f"The suggested {label} of {identity.value} was {word}.",
        author=by,
        metadata={"identity_id": identity.pk, "suggestion_id": latest.pk, "intent": intent},
    )
