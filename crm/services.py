"""State changes of the CRM. Every entry point (ingest, API, admin) goes through these."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from crm.identities import normalise
from crm.models import Contact, Identity


def resolve_identity(kind: str, value: str, *, display_name: str = "") -> Identity:
    """Return the identity for ``(kind, value)``, creating it and its contact if new."""
    return get_or_create_identity(kind, value, display_name=display_name)[0]


def get_or_create_identity(
    kind: str, value: str, *, display_name: str = ""
) -> tuple[Identity, bool]:
    """The identity for ``(kind, value)`` and whether it (and its contact) was created now.

    Safe under concurrency: the unique constraint on (kind, value) decides who creates it; the
    loser's savepoint is rolled back (no orphan contact) and it reads the winner's row.
    """
    value = normalise(kind, value)
    identity = Identity.objects.select_related("contact").filter(kind=kind, value=value).first()
    if identity is not None:
        if display_name and not identity.contact.name:
            identity.contact.name = display_name[:200]
            identity.contact.save(update_fields=["name", "updated_at"])
        return identity, False
    try:
        with transaction.atomic():
            contact = Contact.objects.create(name=display_name[:200])
            identity = Identity.objects.create(
                contact=contact, kind=kind, value=value, display_name=display_name[:200]
            )
            return identity, True
    except IntegrityError:
        return Identity.objects.select_related("contact").get(kind=kind, value=value), False


@transaction.atomic
def add_identity(contact: Contact, kind: str, value: str, *, display_name: str = "") -> Identity:
    """Attach an address to a contact. Raises ``IdentityTaken`` if another contact has it."""
    value = normalise(kind, value)
    existing = Identity.objects.filter(kind=kind, value=value).first()
    if existing is not None:
        if existing.contact_id != contact.pk:
            raise IdentityTaken(existing)
        return existing
    try:
        with transaction.atomic():
            return Identity.objects.create(
                contact=contact, kind=kind, value=value, display_name=display_name[:200]
            )
    except IntegrityError as exc:
        raise IdentityTaken(Identity.objects.get(kind=kind, value=value)) from exc


class IdentityTaken(Exception):
    def __init__(self, identity: Identity):
        super().__init__(
            f"{identity.kind} {identity.value} belongs to contact {identity.contact_id}"
        )
        self.identity = identity


@transaction.atomic
def create_contact(
    *,
    name: str = "",
    company=None,
    language: str = "",
    attributes: dict | None = None,
    identities: list[dict] | None = None,
) -> Contact:
    """Create a contact with its identities; all or nothing (``IdentityTaken`` rolls back)."""
    contact = Contact.objects.create(
        name=name, company=company, language=language, attributes=attributes or {}
    )
    for item in identities or []:
        add_identity(
            contact, item["kind"], item["value"], display_name=item.get("display_name", "")
        )
    return contact
