"""What the team knows about people: contacts, their companies and the addresses they use."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from config.prepared import PreparedSave


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=253, blank=True, db_index=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LanguageSource(models.TextChoices):
    EXPLICIT = "explicit", _("chosen")
    LEARNED = "learned", _("learned")


class Contact(PreparedSave, models.Model):
    """A person, whatever channel they write from. Identities point here."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    language = models.CharField(_("language"), max_length=12, blank=True)
    # Where ``language`` comes from: chosen (the chat widget's language, an agent's edit) or
    # learned from the person's messages (crm.services.learn_language); a choice always wins.
    language_source = models.CharField(
        _("language source"), max_length=8, choices=LanguageSource.choices, blank=True
    )
    language_confidence = models.FloatField(_("language confidence"), null=True, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name or f"Contact #{self.pk}"


class Verification(models.TextChoices):
    """How an address was proven to be a contact's (``crm.verification`` says which sources
    count as proof)."""

    PROVIDER = "provider", _("the channel delivered from it")
    CODE = "code", _("one-time code")
    LINK = "link", _("one-time link")
    AGENT = "agent", _("an agent")


class Identity(PreparedSave, models.Model):
    """An address a contact uses on some channel. ``value`` is normalised (see crm.identities)."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("email address")
        PHONE = "phone", _("phone number")
        WHATSAPP = "whatsapp", _("WhatsApp number")
        CHAT_VISITOR = "chat_visitor", _("chat visitor")
        API = "api", _("API identifier")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=320)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    # Proof that this contact uses this address (see crm.verification): when, how and, for an
    # agent's explicit action, by whom. Unverified: the address was only named (a chat form, a
    # Cc line) or the identity predates verification.
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_method = models.CharField(
        _("verified by"), max_length=20, choices=Verification.choices, blank=True
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("verified by agent"),
    )
    # The person asked not to be messaged on this address (e.g. SMS STOP); sends are refused.
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
    # The person may have asked to opt out ("how do I stop your texts?"): an agent decides; until
    # then nothing is sent to this address automatically (agents' own replies still go).
    opt_out_pending_at = models.DateTimeField(_("opt-out to confirm since"), null=True, blank=True)
    # Messages to this address cannot be delivered (e.g. an email hard bounce).
    undeliverable_at = models.DateTimeField(_("undeliverable since"), null=True, blank=True)
    undeliverable_reason = models.CharField(_("undeliverable reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="crm_identity_unique_kind_value")
        ]
        indexes = [models.Index(fields=["value"], name="crm_identity_value_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class PageView(models.Model):
    """A page a contact looked at (reported by the website chat widget): context for agents and
    the bot. ``duration_seconds`` is filled when the visitor leaves the page."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="page_views")
    url = models.CharField(_("URL"), max_length=2000)
    title = models.CharField(_("title"), max_length=300, blank=True)
    referrer = models.CharField(_("referrer"), max_length=2000, blank=True)
    viewed_at = models.DateTimeField(_("viewed at"))
    duration_seconds = models.PositiveIntegerField(_("time on page (s)"), null=True, blank=True)

    class Meta:
        verbose_name = _("page view")
        verbose_name_plural = _("page views")
        ordering = ["-viewed_at", "-id"]
        indexes = [models.Index(fields=["contact", "-viewed_at"], name="crm_pageview_contact_idx")]

    def __str__(self) -> str:
        return self.title or self.url


class ContactMerge(models.Model):
    """The record of a merge: what moved from the merged (deleted) contact into ``kept``, and
    which attributes came from it (their provenance) or lost to the kept contact's values."""

    kept = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges")
    merged_contact_id = models.BigIntegerField()
    merged_name = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    moved = models.JSONField(default=dict, blank=True)
    attributes_taken = models.JSONField(default=dict, blank=True)
    attributes_conflicting = models.JSONField(default=dict, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact merge")
        verbose_name_plural = _("contact merges")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.merged_contact_id} into #{self.kept_id}"


class IdentityClaim(models.Model):
    """An address a person *said* is theirs (the chat's details form, the agent's "ask for the
    email" form), kept on their own contact until it is proven.

    A claim never merges contacts and never moves a conversation: an address anyone can type
    proves nothing. Proof is a one-time code sent to the address (``code_hash``: only its hash
    is stored), or an agent's explicit action; then ``crm.verification`` attaches the address
    (or merges this contact into the one that owns it) and sets ``verified_at``.
    """

    class Source(models.TextChoices):
        CHAT_FORM = "chat_form", _("chat form")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="claims")
    kind = models.CharField(_("kind"), max_length=20, choices=Identity.Kind.choices)
    value = models.CharField(_("value"), max_length=320)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_method = models.CharField(
        _("verified by"), max_length=20, choices=Verification.choices, blank=True
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("verified by agent"),
    )
    # The outstanding one-time code: a salted hash, when it stops working, wrong tries so far.
    code_hash = models.CharField(max_length=200, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    codes_sent = models.PositiveSmallIntegerField(default=0)
    code_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("claimed address")
        verbose_name_plural = _("claimed addresses")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "kind", "value"], name="crm_identityclaim_unique_per_contact"
            )
        ]
        indexes = [models.Index(fields=["kind", "value"], name="crm_identityclaim_value_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} says {self.value}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None
