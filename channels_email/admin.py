"""Admin: the quarantine (with "re-process") and the ids ESPs know our sent emails by."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from channels_email import services
from channels_email.models import QuarantinedEmail, SentEmail


@admin.register(QuarantinedEmail)
class QuarantinedEmailAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "status", "reason_code", "short_reason", "source",
                    "sender", "subject", "size", "attempts"]  # fmt: skip
    list_filter = ["status", "reason_code", "source"]
    search_fields = ["subject", "sender", "message_id_header", "reason", "sha256"]
    readonly_fields = ["sha256", "size", "reason_code", "reason", "source", "envelope_recipient",
                       "message_id_header", "subject", "sender", "status", "attempts", "message",
                       "created_at", "updated_at", "download"]  # fmt: skip
    exclude = ["raw"]
    actions = ["reprocess", "discard"]

    @admin.display(description=_("reason"))
    def short_reason(self, obj: QuarantinedEmail) -> str:
        return obj.reason[:120]

    @admin.display(description=_("raw message"))
    def download(self, obj: QuarantinedEmail) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:channels_email_quarantinedemail_raw", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download .eml"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="channels_email_quarantinedemail_raw",
            ),
            *super().get_urls(),
        ]

    def raw_view(self, request, pk: int):
        item = QuarantinedEmail.objects.get(pk=pk)
        if not self.has_view_permission(request, item):
            return HttpResponse(status=403)
        response = HttpResponse(bytes(item.raw), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="quarantined-{item.pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Re-process: run through the parser again"))
    def reprocess(self, request, queryset):
        counts: dict[str, int] = {}
        for item in queryset:
            outcome = services.reprocess_quarantined(item)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        summary = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
        level = messages.WARNING if counts.get("quarantined") else messages.SUCCESS
        self.message_user(request, _("Re-processed: %s.") % summary, level)

    @admin.action(description=_("Discard (keep the row, stop listing it as pending)"))
    def discard(self, request, queryset):
        updated = queryset.update(status=QuarantinedEmail.Status.DISCARDED)
        self.message_user(request, _("%d discarded.") % updated, messages.SUCCESS)


@admin.register(SentEmail)
class SentEmailAdmin(admin.ModelAdmin):
    list_display = ["message", "message_id_header", "esp_name", "esp_message_id", "recipient",
                    "created_at"]  # fmt: skip
    search_fields = ["message_id_header", "esp_message_id", "recipient"]
    readonly_fields = list_display
    list_select_related = ["message"]

    def has_add_permission(self, request) -> bool:
        return False
