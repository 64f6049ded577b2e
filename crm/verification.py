"""Claimed and proven addresses: what may tie a person to an address, and so to a contact.

**Proof** that a contact uses an address is one of (``Verification``):

- *provider*: the channel itself delivered from the address: an email's From on an
  authenticated inbound path (a signed ESP webhook, the raw endpoint behind its secret), the From
  of a Twilio (SMS/WhatsApp) webhook with a valid signature, the visitor token of a chat, the
  ``sender`` of a message an authenticated API client posts for its channel. The ingest files
  such a message under the contact that owns the address (or a new one); it never merges.
- *code* / *link*: a one-time secret sent to the address came back (``check_code``).
- *agent*: an agent's explicit action in the agent UI (``prove``), recorded with who did it;
  likewise an API client or the admin creating a contact with its identities.

**Claims** are everything else: an address a person types (the chat's pre-chat and email forms,
the agent's "ask for the email" form). A claim is stored as an ``IdentityClaim`` on the
claimant's own contact and never merges contacts, moves a conversation or shows the claimant
anything of another contact. An address nobody has becomes an *unverified* identity of the
claimant (their replies can be emailed there, as they asked), and a later email from it opens a
conversation of its own: email threads only by its reply token and references, never by
contact. Once proven (code or agent), the address is attached as verified, or the claimant's
contact is merged into the contact that owns it (``merge_contacts``, recorded).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from crm.identities import normalise
from crm.models import Contact, ContactMerge, Identity, IdentityClaim, Verification
from crm.services import IdentityTaken, add_identity, merge_contacts

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=15)
MAX_ATTEMPTS = 5  # wrong codes before the code is void (a new one can be sent)
RESEND_AFTER = timedelta(seconds=60)
MAX_CODES_PER_CLAIM = 5
# Codes to one address per hour, whoever asks: a claim cannot be used to flood someone's inbox.
MAX_CODES_PER_ADDRESS_HOUR = 3
# Codes one contact has sent to its claimed addresses per hour: the chat form is no mail cannon.
MAX_CODES_PER_CONTACT_HOUR = 5


class VerificationError(Exception):
    """The code cannot be sent or accepted; ``code`` says why (for the API), ``retry_after``
    (seconds) when waiting helps."""

    def __init__(self, message: str, *, code: str, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Claimed:
    """What ``claim_address`` did: ``claim`` (None when the address is already the contact's),
    the contact's ``identity`` for it if it has one now, and the ``owner`` identity when another
    contact has the address (nothing of it is joined)."""

    claim: IdentityClaim | None
    identity: Identity | None
    owner: Identity | None


@dataclass(frozen=True)
class Proven:
    """What ``prove`` did: the now verified ``identity``, and the ``merge`` record when the
    claimant's contact was merged into the one that owned the address."""

    claim: IdentityClaim
    identity: Identity
    merge: ContactMerge | None
    taken_from: int | None = None  # contact whose unproven claim held the address until now


@transaction.atomic
def claim_address(
    contact: Contact, kind: str, value: str, *, source: str, display_name: str = ""
) -> Claimed:
    """Record that ``contact``'s person says ``value`` is theirs (see the module docstring)."""
    value = normalise(kind, value)
    existing = Identity.objects.select_related("contact").filter(kind=kind, value=value).first()
    if existing is not None and existing.contact_id == contact.pk:
        return Claimed(None, existing, None)
    claim, _ = IdentityClaim.objects.get_or_create(
        contact=contact, kind=kind, value=value, defaults={"source": source}
    )
    if existing is None:
        try:
            identity = add_identity(contact, kind, value, display_name=display_name)
            return Claimed(claim, identity, None)
        except IdentityTaken as taken:  # someone else's since we looked
            existing = taken.identity
    return Claimed(claim, None, existing)


def pending_claims(contact_id: int) -> list[IdentityClaim]:
    """The contact's claims not yet proven, newest first."""
    return list(
        IdentityClaim.objects.filter(contact_id=contact_id, verified_at__isnull=True).order_by(
            "-updated_at", "-id"
        )
    )


def _digest(claim: IdentityClaim, code: str) -> str:
    # Keyed with SECRET_KEY and bound to the claim: the stored value is useless without both.
    return salted_hmac("crm.verification.code", f"{claim.pk}:{claim.value}:{code}").hexdigest()


def _locked(claim: IdentityClaim) -> IdentityClaim:
    locked = IdentityClaim.objects.select_for_update().filter(pk=claim.pk).first()
    if locked is None:
        raise VerificationError("This claim no longer exists.", code="no_claim")
    return locked


def issue_code(claim: IdentityClaim) -> str:
    """A new one-time code for ``claim`` (any earlier one stops working), returned in clear for
    the caller to send; only its keyed hash is stored. Limited per claim and per address."""
    with transaction.atomic():
        claim = _locked(claim)
        now = timezone.now()
        if claim.verified_at is not None:
            raise VerificationError("This address is verified already.", code="verified")
        if claim.code_sent_at and now - claim.code_sent_at < RESEND_AFTER:
            wait = RESEND_AFTER - (now - claim.code_sent_at)
            raise VerificationError(
                "A code was sent a moment ago.", code="too_soon", retry_after=int(wait.seconds) + 1
            )
        hour = IdentityClaim.objects.filter(code_sent_at__gte=now - timedelta(hours=1))
        to_address = hour.filter(kind=claim.kind, value=claim.value).count()
        by_contact = hour.filter(contact_id=claim.contact_id).count()
        if (
            claim.codes_sent >= MAX_CODES_PER_CLAIM
            or to_address >= MAX_CODES_PER_ADDRESS_HOUR
            or by_contact >= MAX_CODES_PER_CONTACT_HOUR
        ):
            raise VerificationError(
                "Too many codes were sent to this address.", code="too_many", retry_after=3600
            )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        claim.code_hash = _digest(claim, code)
        claim.code_expires_at = now + CODE_LIFETIME
        claim.code_attempts = 0
        claim.codes_sent += 1
        claim.code_sent_at = now
        claim.save()
    return code


def void_code(claim: IdentityClaim) -> None:
    """The code could not be sent: it must not count as outstanding."""
    IdentityClaim.objects.filter(pk=claim.pk).update(code_hash="", code_expires_at=None)


def check_code(claim: IdentityClaim, code: object) -> Proven:
    """Prove ``claim`` with the code sent to its address. A wrong code counts (and is committed
    even though this raises); after ``MAX_ATTEMPTS`` the code is void. Compared in constant
    time."""
    with transaction.atomic():
        claim = _locked(claim)
        failure = _code_failure(claim, code)
        if failure is None:
            claim.code_hash = ""
            claim.code_expires_at = None
            claim.save()
            return prove(claim, method=Verification.CODE)
        if failure.code == "wrong_code":
            claim.code_attempts += 1
            if claim.code_attempts >= MAX_ATTEMPTS:
                claim.code_hash = ""
                failure = VerificationError(
                    "Too many wrong codes: ask for a new one.", code="locked"
                )
            claim.save(update_fields=["code_attempts", "code_hash", "updated_at"])
    raise failure


def _code_failure(claim: IdentityClaim, code: object) -> VerificationError | None:
    if claim.verified_at is not None:
        return VerificationError("This address is verified already.", code="verified")
    if claim.code_attempts >= MAX_ATTEMPTS and not claim.code_hash:
        return VerificationError("Too many wrong codes: ask for a new one.", code="locked")
    if not claim.code_hash or claim.code_expires_at is None:
        return VerificationError("No code is waiting: ask for one.", code="no_code")
    if claim.code_expires_at <= timezone.now():
        return VerificationError("The code expired: ask for a new one.", code="expired")
    given = "".join(str(code).split()) if isinstance(code, str | int) else ""
    if not (given.isdigit() and len(given) == CODE_DIGITS):
        return VerificationError("Enter the 6-digit code.", code="wrong_code")
    if not constant_time_compare(_digest(claim, given), claim.code_hash):
        return VerificationError("That code is not right.", code="wrong_code")
    return None


@transaction.atomic
def prove(claim: IdentityClaim, *, method: str, by=None) -> Proven:
    """``claim`` is proven (``method``; ``by``: the agent who decided): the address becomes a
    verified identity of the claimant, or the claimant's contact is merged into the contact
    that owns it (that contact kept). An address held only by another contact's *unproven*
    claim moves to the claimant instead: proof beats a claim."""
    claim = _locked(claim)
    if claim.verified_at is not None:
        raise VerificationError("This address is verified already.", code="verified")
    claimant = claim.contact
    now = timezone.now()
    owner = (
        Identity.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(kind=claim.kind, value=claim.value)
        .first()
    )
    merge = None
    taken_from = None
    if owner is None:
        identity = add_identity(claimant, claim.kind, claim.value)
    elif owner.contact_id == claimant.pk:
        identity = owner
    elif not owner.is_verified and _only_claimed(owner):
        taken_from = owner.contact_id
        identity = owner
        identity.contact = claimant
        identity.save(update_fields=["contact"])
    else:
        identity = owner
        reason = f"{claim.value} proven by {Verification(method).label}"
        merge = merge_contacts(owner.contact, claimant, reason=reason, by=by)
    Identity.objects.filter(pk=identity.pk).update(
        verified_at=now, verification_method=method, verified_by=by
    )
    IdentityClaim.objects.filter(pk=claim.pk).update(
        verified_at=now, verification_method=method, verified_by=by, code_hash=""
    )
    identity.refresh_from_db()
    claim.refresh_from_db()
    return Proven(claim, identity, merge, taken_from)


def _only_claimed(identity: Identity) -> bool:
    """Whether ``identity`` exists only because its contact's person typed it (an unproven
    claim of the same contact)."""
    return IdentityClaim.objects.filter(
        contact_id=identity.contact_id,
        kind=identity.kind,
        value=identity.value,
        verified_at__isnull=True,
    ).exists()
