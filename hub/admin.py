"""Admin: configuration (teams, endpoints, webhooks) and a usable view of conversations. Actions
call the same services as the API."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hub import services
from hub.models import (
    Attachment,
    BusinessHours,
    Conversation,
    Endpoint,
    Holiday,
    LocalDelivery,
    Message,
    MessageTemplate,
    SlaRecord,
    Team,
    TemperaturePolicy,
    TtlPolicy,
    WebhookDelivery,
    WebhookSubscription,
)
from hub.services.errors import ServiceError


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "address", "team", "is_active"]
    list_filter = ["channel", "is_active", "team"]
    search_fields = ["name", "address"]
    readonly_fields = ["public_key", "created_at"]


class TimelineInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "occurred_at",
        "kind",
        "direction",
        "channel",
        "sender_identity",
        "author",
        "event_type",
        "text",
        "delivery_status",
    ]
    readonly_fields = fields
    ordering = ["occurred_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sender_identity", "author")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subject_or_id",
        "contact",
        "channel",
        "status",
        "temperature",
        "priority",
        "assignee",
        "team",
        "due_at",
        "last_activity_at",
    ]
    list_filter = ["status", "channel", "temperature", "team", "endpoint"]
    search_fields = ["subject", "contact__name", "contact__identities__value"]
    list_select_related = ["contact", "assignee", "team"]
    # State changes go through the services (the actions here, the API, the agent UI), which
    # write the timeline events; the change form edits only the subject.
    readonly_fields = [
        "contact",
        "endpoint",
        "channel",
        "team",
        "status",
        "assignee",
        "reply_token",
        "waiting_since",
        "due_at",
        "snoozed_until",
        "last_activity_at",
        "last_inbound_at",
        "last_outbound_at",
        "resolved_at",
        "merged_into",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False  # conversations are opened by ingest, not by hand

    inlines = [TimelineInline]
    actions = ["assign_to_me", "resolve_selected", "reopen_selected", "merge_selected"]
    date_hierarchy = "last_activity_at"
    show_full_result_count = False

    @admin.display(description=_("subject"))
    def subject_or_id(self, obj):
        return obj.subject or f"#{obj.pk}"

    def get_queryset(self, request):
        from hub.selectors import visible_conversations

        return visible_conversations(request.user)

    def _each(self, request, queryset, action, done_message):
        done = 0
        for conversation in queryset:
            try:
                action(conversation)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"#{conversation.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Assign to me"))
    def assign_to_me(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda c: services.assign(c, assignee=request.user, by=request.user),
            lambda n: ngettext("%d conversation assigned.", "%d conversations assigned.", n) % n,
        )

    @admin.action(description=_("Resolve"))
    def resolve_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda c: services.resolve(c, by=request.user),
            lambda n: ngettext("%d conversation resolved.", "%d conversations resolved.", n) % n,
        )

    @admin.action(description=_("Reopen"))
    def reopen_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda c: services.reopen(c, by=request.user),
            lambda n: ngettext("%d conversation reopened.", "%d conversations reopened.", n) % n,
        )

    @admin.action(description=_("Merge into the oldest selected (same contact)"))
    def merge_selected(self, request, queryset):
        conversations = list(queryset.filter(merged_into__isnull=True).order_by("created_at", "pk"))
        if len(conversations) < 2 or len({c.contact_id for c in conversations}) != 1:
            self.message_user(
                request,
                _("Select two or more conversations of the same contact, not merged yet."),
                messages.ERROR,
            )
            return
        keep = conversations[0]
        self._each(
            request,
            conversations[1:],
            lambda c: services.merge_conversations(keep, c, by=request.user),
            lambda n: (
                ngettext(
                    "%(count)d conversation merged into #%(id)d.",
                    "%(count)d conversations merged into #%(id)d.",
                    n,
                )
                % {"count": n, "id": keep.pk}
            ),
        )


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["filename", "content_type", "size", "content_id", "file"]
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "conversation",
        "kind",
        "direction",
        "channel",
        "delivery_status",
        "occurred_at",
    ]
    list_filter = ["kind", "direction", "channel", "delivery_status", "is_auto_reply", "is_bounce"]
    search_fields = ["provider_message_id", "sender_identity__value"]
    raw_id_fields = ["conversation", "sender_identity", "recipient_identity", "author", "endpoint"]
    readonly_fields = ["idempotency_key", "created_at", "updated_at"]
    list_select_related = ["conversation"]
    inlines = [AttachmentInline]
    show_full_result_count = False

    def get_queryset(self, request):
        from hub.selectors import visible_conversations

        conversations = visible_conversations(request.user).values("pk")
        return super().get_queryset(request).filter(conversation__in=conversations)


@admin.register(LocalDelivery)
class LocalDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "recipient", "subject", "created_at"]
    list_filter = ["channel"]
    search_fields = ["recipient", "subject", "body"]
    readonly_fields = [
        "message",
        "channel",
        "recipient",
        "subject",
        "body",
        "payload",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ["event_type", "status", "attempts", "response_status", "last_error", "created_at"]
    readonly_fields = fields
    ordering = ["-id"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-id")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "events",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_at",
    ]
    list_filter = ["is_active"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_at"]
    actions = ["enable_selected"]

    @admin.action(description=_("Enable again (reset the failure count)"))
    def enable_selected(self, request, queryset):
        from hub.services import webhooks

        subscriptions = list(queryset)
        for subscription in subscriptions:
            webhooks.enable(subscription)
        count = len(subscriptions)
        self.message_user(
            request,
            ngettext("%d subscription enabled.", "%d subscriptions enabled.", count) % count,
            messages.SUCCESS,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "response_status",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id"]
    readonly_fields = [
        "subscription",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "response_status",
        "response_body",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    actions = ["redeliver"]
    list_select_related = ["subscription"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Deliver again"))
    def redeliver(self, request, queryset):
        from hub.tasks import deliver_webhook

        ids = list(queryset.values_list("pk", flat=True))
        queryset.update(status=WebhookDelivery.Status.PENDING)
        for pk in ids:
            deliver_webhook.delay(pk)
        self.message_user(request, f"{len(ids)} deliveries queued again.", messages.SUCCESS)


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["team", "time_zone"]
    inlines = [HolidayInline]


@admin.register(TtlPolicy)
class TtlPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "channel",
        "endpoint",
        "first_response",
        "next_response",
        "resolution",
        "business_hours_only",
        "handoff_mode",
    ]
    list_filter = ["channel", "handoff_mode", "business_hours_only"]


@admin.register(TemperaturePolicy)
class TemperaturePolicyAdmin(admin.ModelAdmin):
    """The priority policy: a conversation reaching a temperature gets at least a priority."""

    list_display = ["level", "minimum_priority", "team", "endpoint", "is_active"]
    list_filter = ["level", "is_active", "team"]
    list_editable = ["minimum_priority", "is_active"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["key", "language", "text"]
    list_filter = ["key", "language"]


@admin.register(SlaRecord)
class SlaRecordAdmin(admin.ModelAdmin):
    """SLA records, and the report page (/admin/hub/slarecord/report/) with charts."""

    list_display = [
        "conversation",
        "kind",
        "channel",
        "team",
        "agent",
        "started_at",
        "due_at",
        "stopped_at",
        "waited",
        "outcome",
        "breached",
        "handed_off",
    ]
    list_filter = ["kind", "channel", "outcome", "breached", "handed_off", "team"]
    list_select_related = ["team", "agent"]
    raw_id_fields = ["conversation"]
    date_hierarchy = "started_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        from django.urls import path

        return [
            path("report/", self.admin_site.admin_view(self.report_view), name="hub_sla_report"),
            *super().get_urls(),
        ]

    def report_view(self, request):
        from datetime import timedelta

        from django.template.response import TemplateResponse
        from django.utils import timezone

        from hub.reports import GROUPS, sla_report
        from hub.selectors import teams_of

        group_by = request.GET.get("group_by", "channel")
        if group_by not in GROUPS:
            group_by = "channel"
        try:
            days = min(max(int(request.GET.get("days", 30)), 1), 366)
        except ValueError:
            days = 30
        until = timezone.now()
        rows = sla_report(
            since=until - timedelta(days=days),
            until=until,
            group_by=group_by,
            teams=teams_of(request.user),
        )
        slowest = max((r["first_response_p90"] or 0 for r in rows), default=0) or 1
        for row in rows:
            row["attainment_pct"] = (
                round(row["attainment"] * 100) if row["attainment"] is not None else None
            )
            row["first_median_pct"] = round(100 * (row["first_response_median"] or 0) / slowest)
            row["first_p90_pct"] = round(100 * (row["first_response_p90"] or 0) / slowest)
        context = {
            **self.admin_site.each_context(request),
            "title": _("SLA report"),
            "rows": rows,
            "group_by": group_by,
            "groups": GROUPS,
            "days": days,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/hub/sla_report.html", context)
