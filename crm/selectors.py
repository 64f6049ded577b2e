"""Reads of the CRM, for the agent UI, the bot and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from crm.models import Contact, Identity, IdentityClaim, PageView


def recent_page_views(contact: Contact, limit: int = 10) -> list[PageView]:
    """The pages ``contact`` viewed most recently, newest first (one indexed query)."""
    return list(PageView.objects.filter(contact=contact).order_by("-viewed_at", "-id")[:limit])


@dataclass(frozen=True)
class ClaimView:
    """A claim as the agent sees it: the address, whether a code is out, and the contact that
    has the address (agents share the CRM), if another one does."""

    claim: IdentityClaim
    owner: Contact | None
    code_out: bool


def unproven_claims(contact: Contact) -> list[ClaimView]:
    """The addresses ``contact``'s person said are theirs and has not proven, newest first."""
    claims = list(
        IdentityClaim.objects.filter(contact=contact, verified_at__isnull=True).order_by(
            "-updated_at", "-id"
        )[:20]
    )
    if not claims:
        return []
    owners = {
        (identity.kind, identity.value): identity.contact
        for identity in Identity.objects.select_related("contact").filter(
            value__in=[c.value for c in claims]
        )
    }
    now = timezone.now()
    views = []
    for claim in claims:
        owner = owners.get((claim.kind, claim.value))
        views.append(
            ClaimView(
                claim=claim,
                owner=owner if owner is not None and owner.pk != contact.pk else None,
                code_out=bool(
                    claim.code_hash and claim.code_expires_at and claim.code_expires_at > now
                ),
            )
        )
    return views
