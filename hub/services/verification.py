"""Proving a claimed address from the hub (the rules are in ``crm.verification``).

The one-time code goes out on the email channel through its adapter's ``send_notice`` (the
configured ESP, or the local outbox without one), not as a reply in a conversation: the address
may belong to another person, who must see nothing of the claimant's conversation, and whose
answer must thread into none. Each step is told on the claimant's conversation's timeline, with
the agent who acted.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from crm import verification
from crm.models import IdentityClaim, Verification
from hub import adapters
from hub.models import Channel, Conversation, Endpoint
from hub.services.conversations import conversation_changed
from hub.services.timeline import record_event

LANGUAGES = ("en", "it")


def _language(value: str) -> str:
    value = (value or "").lower().replace("_", "-").split("-")[0]
    return value if value in LANGUAGES else "en"


def code_email(code: str, site: str, language: str) -> tuple[str, str]:
    """The subject and text of the code email, in ``language``."""
    minutes = int(verification.CODE_LIFETIME.total_seconds() // 60)
    with translation.override(_language(language)):
        subject = gettext("Your verification code: %(code)s") % {"code": code}
        text = gettext(
            "Your verification code is %(code)s.\n\n"
            "Someone, hopefully you, gave this email address in the chat of %(site)s and asked "
            "to confirm it. Enter the code in the chat within %(minutes)d minutes.\n\n"
            "If it was not you, ignore this email: nothing is shared and your conversations "
            "stay private."
        ) % {"code": code, "site": site, "minutes": minutes}
    return subject, text


def send_code(
    claim: IdentityClaim,
    *,
    conversation: Conversation | None = None,
    by=None,
    endpoint: Endpoint | None = None,
) -> None:
    """Send a new one-time code to the claimed address. ``endpoint``: where the claim was made
    (its name is the site the email names, its team's mailbox sends it), else the
    conversation's. Raises ``VerificationError`` (too soon, too many, verified already) or
    ``OutboundRefused`` (no email channel, the send failed; the code is then void)."""
    if claim.kind != "email":
        raise adapters.OutboundRefused("Only email addresses get codes.", code="unsupported")
    try:
        adapter = adapters.get_adapter(Channel.EMAIL)
    except LookupError as exc:
        raise adapters.OutboundRefused(
            "No email channel to send the code.", code="no_email"
        ) from exc
    endpoint = endpoint or (conversation.endpoint if conversation else None)
    mailbox = _mailbox(endpoint.team_id if endpoint else None)
    site = (endpoint.name if endpoint else "") or (mailbox.name if mailbox else "")
    code = verification.issue_code(claim)
    subject, text = code_email(code, site or "us", claim.contact.language)
    try:
        adapter.send_notice(to=claim.value, subject=subject, text=text, endpoint=mailbox)
    except (adapters.DeliveryError, adapters.OutboundRefused) as exc:
        verification.void_code(claim)
        raise adapters.OutboundRefused(
            f"The code could not be sent: {getattr(exc, 'reason', exc)}", code="send_failed"
        ) from exc
    if conversation is not None:
        record_event(
            conversation,
            "identity_code_sent",
            text=f"A verification code was sent to {claim.value}.",
            author=by,
            metadata={"claim_id": claim.pk, "address": claim.value},
        )


def _mailbox(team_id: int | None) -> Endpoint | None:
    """The active email endpoint codes go out from: the team's first, else any."""
    mailboxes = Endpoint.objects.filter(channel=Channel.EMAIL, is_active=True).order_by("pk")
    return (mailboxes.filter(team_id=team_id).first() if team_id else None) or mailboxes.first()


def verify_code(
    claim: IdentityClaim, code: object, *, conversation: Conversation | None = None
) -> verification.Proven:
    """The person entered ``code``: proven (and merged where the address had an owner), or
    ``VerificationError`` (a lockout is told on the timeline)."""
    try:
        proven = verification.check_code(claim, code)
    except verification.VerificationError as error:
        if error.code == "locked" and conversation is not None:
            record_event(
                conversation,
                "identity_verification_locked",
                text=f"Too many wrong codes for {claim.value}: the code is void.",
                metadata={"claim_id": claim.pk, "address": claim.value},
            )
        raise
    _tell(proven, conversation, by=None)
    return proven


@transaction.atomic
def verify_by_agent(
    claim: IdentityClaim, *, by, conversation: Conversation | None = None
) -> verification.Proven:
    """The agent ``by`` decides the claim is true: verified, and merged where the address had an
    owner (the merge recorded with the agent)."""
    proven = verification.prove(claim, method=Verification.AGENT, by=by)
    _tell(proven, conversation, by=by)
    return proven


def _tell(proven: verification.Proven, conversation: Conversation | None, *, by) -> None:
    merge = proven.merge
    if conversation is not None:
        conversation.refresh_from_db(fields=["contact"])
        how = Verification(proven.identity.verification_method).label
        text = f"{proven.identity.value} verified ({how})."
        if merge is not None:
            text += f" This contact was merged into #{merge.kept_id} {merge.kept.name}".rstrip()
            text += "."
        record_event(
            conversation,
            "identity_verified",
            text=text,
            author=by,
            metadata={
                "claim_id": proven.claim.pk,
                "address": proven.identity.value,
                "method": proven.identity.verification_method,
                "merge_id": merge.pk if merge else None,
                "kept_contact_id": merge.kept_id if merge else None,
                "kept_name": merge.kept.name if merge else "",
                "taken_from_contact_id": proven.taken_from,
            },
        )
    if merge is not None:
        moved = merge.moved.get("hub.conversation", {}).get("ids", [])
        for moved_conversation in Conversation.objects.filter(pk__in=moved):
            conversation_changed(
                moved_conversation, {"contact_id": [merge.merged_contact_id, merge.kept_id]}
            )
