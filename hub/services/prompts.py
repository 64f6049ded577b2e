"""Short questions to a person and their answers (see ``hub.prompt_models.Prompt``).

``ask`` records the question; ``match`` (called by the ingest, before threading) recognises a
reply that answers an open prompt of the sender on that endpoint; ``answered`` records it in the
ingest's transaction and sends ``hub.signals.prompt_answered`` after the commit.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import replace
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm.identities import InvalidIdentity, normalise
from crm.models import Identity
from hub.inbound import InboundMessage
from hub.models import Conversation, Message
from hub.prompt_models import Prompt
from hub.signals import prompt_answered

logger = logging.getLogger(__name__)

# An answer is a short reply: longer text is a message to the team, whatever it starts with.
MAX_ANSWER_LENGTH = 24
_KEYCAP = "\ufe0f\u20e3"  # "1️⃣" is "1" + VS16 + COMBINING ENCLOSING KEYCAP
_EDGES = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


def normalise_answer(text: str) -> str:
    """``" 4! "`` → ``"4"``, ``"1️⃣"`` → ``"1"``, ``"Sì."`` → ``"sì"``; '' when too long."""
    text = unicodedata.normalize("NFC", (text or "").replace(_KEYCAP, "").replace("\u20e3", ""))
    text = _EDGES.sub("", text.strip()).casefold()
    return text if len(text) <= MAX_ANSWER_LENGTH else ""


def ask(
    conversation: Conversation,
    *,
    identity: Identity,
    kind: str,
    choices: list[str],
    ttl: timedelta,
    data: dict | None = None,
) -> Prompt:
    """Record that ``identity`` was asked ``kind`` on the conversation's endpoint.

    An earlier open prompt of the same kind to the same identity on that endpoint is closed
    (the newest question is the one a bare "3" answers)."""
    now = timezone.now()
    Prompt.objects.filter(
        endpoint_id=conversation.endpoint_id,
        identity=identity,
        kind=kind,
        answered_at__isnull=True,
        expires_at__gt=now,
    ).update(expires_at=now)
    return Prompt.objects.create(
        conversation=conversation,
        endpoint_id=conversation.endpoint_id,
        identity=identity,
        kind=kind,
        choices=[normalise_answer(choice) for choice in choices],
        data=data or {},
        expires_at=now + ttl,
    )


def match(inbound: InboundMessage) -> tuple[InboundMessage, Prompt | None]:
    """The open prompt ``inbound`` answers, and the inbound routed to its conversation.

    Cheap for every other message: no query unless the text is a short reply."""
    if inbound.is_auto_reply or inbound.is_bounce or inbound.is_historical or inbound.from_team:
        return inbound, None
    answer = normalise_answer(inbound.text)
    if not answer or inbound.attachments:
        return inbound, None
    try:
        address = normalise(inbound.sender_kind, inbound.sender_address)
    except InvalidIdentity:
        return inbound, None
    prompt = (
        Prompt.objects.filter(
            endpoint=inbound.endpoint,
            identity__kind=inbound.sender_kind,
            identity__value=address,
            answered_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("conversation")
        .order_by("-created_at")
        .first()
    )
    if prompt is None or answer not in prompt.choices:
        return inbound, None
    routed = replace(
        inbound,
        conversation_token=prompt.conversation.reply_token,
        awaits_reply=False,  # an answer asks nothing of an agent: no reopen, no clock
        metadata={
            **inbound.metadata,
            "prompt": {"id": prompt.pk, "kind": prompt.kind, "answer": answer},
        },
    )
    return routed, prompt


def answered(prompt: Prompt, message: Message) -> bool:
    """Record ``message`` as the answer (in the ingest's transaction); False if already taken."""
    answer = message.metadata.get("prompt", {}).get("answer", "")
    taken = Prompt.objects.filter(pk=prompt.pk, answered_at__isnull=True).update(
        answered_at=timezone.now(), answer=answer, answer_message=message
    )
    if not taken:
        return False
    prompt_id, kind, message_id = prompt.pk, prompt.kind, message.pk
    conversation_id = message.conversation_id

    def tell() -> None:
        for receiver, response in prompt_answered.send_robust(
            sender=Prompt,
            prompt_id=prompt_id,
            kind=kind,
            answer=answer,
            message_id=message_id,
            conversation_id=conversation_id,
        ):
            if isinstance(response, Exception):
                logger.error("prompt_answered receiver %r failed", receiver, exc_info=response)

    transaction.on_commit(tell, robust=True)
    return True
