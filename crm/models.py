"""What the team knows about people: contacts, their companies and the addresses they use."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class Contact(models.Model):
    """A person, whatever channel they write from. Identities point here."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    language = models.CharField(_("language"), max_length=12, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name or f"Contact #{self.pk}"


class Identity(models.Model):
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
    is_verified = models.BooleanField(_("verified"), default=False)
    # The person asked not to be messaged on this address (e.g. SMS STOP); sends are refused.
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)
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
