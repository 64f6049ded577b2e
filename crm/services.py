"""State changes of the CRM. Every entry point (ingest, API, admin) goes through these."""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from config.prepared import PreparedQuery
from crm.identities import normalise
from crm.models import Contact, ContactMerge, Identity, IdentityClaim, LanguageSource

# Ingest reads an identity and its contact for every inbound message: compiled once.
_identity = PreparedQuery(
    lambda kind, value: Identity.objects.select_related("contact").filter(kind=kind, value=value),
    kind=str,
    value=str,
)
_identity_contact_locked = PreparedQuery(
    lambda kind, value: (
        Identity.objects.select_related("contact")
        .filter(kind=kind, value=value)
        .select_for_update(of=("contact",))
    ),
    kind=str,
    value=str,
)


def find_identity(kind: str, value: str, *, lock_contact: bool = False) -> Identity | None:
    """The identity of ``(kind, value)`` (``value`` normalised), with its contact, if stored.
    ``lock_contact`` as for ``get_or_create_identity``."""
    identity = (_identity_contact_locked if lock_contact else _identity).first(
        kind=kind, value=value
    )
    if identity is not None:
        identity.contact_locked = lock_contact
    return identity


def name_unnamed_contact(identity: Identity, display_name: str) -> None:
    """A contact without a name takes the one its person gives (e.g. a WhatsApp profile)."""
    if display_name and not identity.contact.name:
        identity.contact.name = display_name[:200]
        identity.contact.save(update_fields=["name", "updated_at"])


def resolve_identity(kind: str, value: str, *, display_name: str = "") -> Identity:
    """Return the identity for ``(kind, value)``, creating it and its contact if new."""
    return get_or_create_identity(kind, value, display_name=display_name)[0]


def get_or_create_identity(
    kind: str, value: str, *, display_name: str = "", lock_contact: bool = False
) -> tuple[Identity, bool]:
    """The identity for ``(kind, value)`` and whether it (and its contact) was created now.

    Safe under concurrency: the unique constraint on (kind, value) decides who creates it; the
    loser's savepoint is rolled back (no orphan contact) and it reads the winner's row.

    ``lock_contact`` (inside a transaction): an existing identity's contact row is read with
    ``FOR UPDATE`` in the same query, and ``identity.contact_locked`` says whether it was.
    """
    value = normalise(kind, value)
    identity = (_identity_contact_locked if lock_contact else _identity).first(
        kind=kind, value=value
    )
    if identity is not None:
        identity.contact_locked = lock_contact
        name_unnamed_contact(identity, display_name)
        return identity, False
    try:
        with transaction.atomic():
            contact = Contact.objects.create(name=display_name[:200])
            identity = Identity.objects.create(
                contact=contact, kind=kind, value=value, display_name=display_name[:200]
            )
            return identity, True
    except IntegrityError:
        # Created meanwhile (or, with the lock, its contact was merged away while we waited).
        identity = Identity.objects.select_related("contact").get(kind=kind, value=value)
        identity.contact_locked = False
        return identity, False


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
        name=name,
        company=company,
        language=language,
        language_source=LanguageSource.EXPLICIT if language else "",
        attributes=attributes or {},
    )
    for item in identities or []:
        add_identity(
            contact, item["kind"], item["value"], display_name=item.get("display_name", "")
        )
    return contact


class MergeError(Exception):
    """The merge cannot be done (same contact, or one of them no longer exists)."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


@transaction.atomic
def merge_contacts(keep: Contact, merge: Contact, *, reason: str = "", by=None) -> ContactMerge:
    """Fold ``merge`` into ``keep`` so the person has one timeline, and delete ``merge``.

    Everything that points at ``merge`` moves to ``keep``: identities, conversations, page
    views, earlier merge records, and any other app's foreign keys to ``Contact`` (found through
    the model's relations, so the CRM does not import the apps that refer to it). Attributes
    ``keep`` lacks are copied; where both have a value ``keep`` wins and ``merge``'s value is
    kept on the record. Blank name, language and company are filled from ``merge``; its
    language also replaces one ``keep`` only learned when it was chosen.

    Race-safe: both rows are locked in id order (the order ``ingest`` and other merges lock
    contacts in), so a concurrent ingest for either contact waits, and a second merge of the
    same contact finds it gone and raises ``MergeError`` instead of half-merging.
    """
    if keep.pk == merge.pk:
        raise MergeError("A contact cannot be merged into itself.", code="same_contact")
    locked = {
        contact.pk: contact
        for contact in Contact.objects.select_for_update()
        .filter(pk__in=[keep.pk, merge.pk])
        .order_by("pk")
    }
    if keep.pk not in locked or merge.pk not in locked:
        raise MergeError("One of the contacts no longer exists (already merged?).", code="gone")
    keep, merge = locked[keep.pk], locked[merge.pk]
    # One claim per contact and address: ``merge``'s claim of an address ``keep`` claims too goes.
    same_claim = IdentityClaim.objects.filter(
        contact=keep, kind=models.OuterRef("kind"), value=models.OuterRef("value")
    )
    IdentityClaim.objects.filter(contact=merge).filter(models.Exists(same_claim)).delete()

    now = timezone.now()
    moved: dict[str, dict] = {}
    for relation in Contact._meta.related_objects:
        model, field = relation.related_model, relation.field
        manager = model._base_manager
        if relation.many_to_many:
            owners = list(manager.filter(**{field.name: merge}))
            for owner in owners:
                getattr(owner, field.name).add(keep)
            count, ids = len(owners), [owner.pk for owner in owners]
        else:
            rows = manager.filter(**{field.name: merge})
            if relation.one_to_one and manager.filter(**{field.name: keep}).exists():
                continue  # keep has its own; merge's goes with it
            ids = list(rows.values_list("pk", flat=True))
            changes = {field.name: keep}
            changes.update(
                {f.name: now for f in model._meta.concrete_fields if getattr(f, "auto_now", False)}
            )
            count = manager.filter(pk__in=ids).update(**changes) if ids else 0
        if count:
            moved[model._meta.label_lower] = {"count": count, "ids": ids[:500]}

    taken, conflicting = {}, {}
    for key, value in (merge.attributes or {}).items():
        if key not in keep.attributes:
            keep.attributes[key] = value
            taken[key] = value
        elif keep.attributes[key] != value:
            conflicting[key] = value
    filled = {}
    if not keep.name and merge.name:
        keep.name = filled["name"] = merge.name
    # A chosen language (or one of unknown origin) beats a learned one.
    if merge.language and (
        not keep.language
        or (
            keep.language_source == LanguageSource.LEARNED
            and merge.language_source != LanguageSource.LEARNED
        )
    ):
        keep.language = filled["language"] = merge.language
        keep.language_source = merge.language_source
        keep.language_confidence = merge.language_confidence
    if keep.company_id is None and merge.company_id is not None:
        keep.company_id = merge.company_id
        filled["company_id"] = merge.company_id
    if filled:
        moved["fields"] = filled
    keep.save()
    record = ContactMerge.objects.create(
        kept=keep,
        merged_contact_id=merge.pk,
        merged_name=merge.name[:200],
        reason=reason[:200],
        moved=moved,
        attributes_taken=taken,
        attributes_conflicting=conflicting,
        merged_by=by,
    )
    merge.delete()
    return record


# --- the contact's language -----------------------------------------------------------------

# A detection teaches the contact's language only from a text this long (visible characters)
# and this sure: short texts ("ok grazie", "STOP") are read with the contact's language as
# their prior, they never change it.
LEARN_MIN_CHARS = 20
LEARN_MIN_CONFIDENCE = 0.8


def learn_language(contact: Contact, language: str, confidence: float, text_length: int) -> bool:
    """Take ``language`` (detected in a message of ``text_length`` characters, with
    ``confidence``) as the contact's learned language when the detection is sure enough and
    nobody chose the language explicitly. Sets the fields on ``contact`` (the caller saves them:
    ``LANGUAGE_FIELDS``); returns whether anything changed."""
    if (
        not language
        or contact.language_source == LanguageSource.EXPLICIT
        or text_length < LEARN_MIN_CHARS
        or confidence < LEARN_MIN_CONFIDENCE
    ):
        return False
    confidence = round(float(confidence), 3)
    if contact.language == language and contact.language_source == LanguageSource.LEARNED:
        return False  # already known: no write for every message
    contact.language = language
    contact.language_source = LanguageSource.LEARNED
    contact.language_confidence = confidence
    return True


LANGUAGE_FIELDS = ["language", "language_source", "language_confidence"]


def choose_language(contact: Contact, language: str) -> Contact:
    """An explicit choice of the contact's language (an agent's edit, the chat widget's
    language): it wins over what the messages teach. An empty ``language`` forgets the choice
    (the next confident message teaches it again)."""
    language = (language or "").strip().lower()[:12]
    contact.language = language
    contact.language_source = LanguageSource.EXPLICIT if language else ""
    contact.language_confidence = None
    contact.save(update_fields=[*LANGUAGE_FIELDS, "updated_at"])
    return contact
