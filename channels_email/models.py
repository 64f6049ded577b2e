"""Email channel data: the quarantine of messages we could not ingest, and the ESP ids of the
replies we sent (for tracking webhooks)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class QuarantinedEmail(models.Model):
    """Raw bytes of an inbound email that could not be ingested, with the reason. Nothing is
    dropped: the admin shows these and can run them through the parser again."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        REPROCESSED = "reprocessed", _("Re-processed")
        DISCARDED = "discarded", _("Discarded")

    raw = models.BinaryField(_("raw message"))
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveBigIntegerField(default=0)
    reason_code = models.CharField(_("reason code"), max_length=40)
    reason = models.TextField(_("reason"))
    source = models.CharField(
        _("source"), max_length=60, help_text=_("raw_http, import_mail, anymail:<esp>, ...")
    )
    envelope_recipient = models.CharField(max_length=320, blank=True)
    message_id_header = models.CharField(_("Message-ID"), max_length=255, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    sender = models.CharField(_("sender"), max_length=320, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=1)
    message = models.ForeignKey(
        "hub.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The message it became after a successful re-process."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("quarantined email")
        verbose_name_plural = _("quarantined emails")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="email_quarantine_status")]
        permissions = [("submit_raw_email", "Can submit raw email (MTA pipe)")]

    def __str__(self) -> str:
        return f"{self.subject or self.message_id_header or self.sha256[:12]} ({self.reason_code})"


class SentEmail(models.Model):
    """How an outbound email is known to the ESP: its tracking webhooks name the ESP's id."""

    message = models.OneToOneField(
        "hub.Message", on_delete=models.CASCADE, related_name="sent_email"
    )
    message_id_header = models.CharField(max_length=255, db_index=True)
    esp_name = models.CharField(max_length=40, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    recipient = models.CharField(max_length=320, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sent email")
        verbose_name_plural = _("sent emails")

    def __str__(self) -> str:
        return self.message_id_header
