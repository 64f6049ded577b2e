from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from knowledge import services
from knowledge.models import KINDS, Answer, AnswerAttachment, AnswerText


class AnswerTextInline(admin.StackedInline):
    model = AnswerText
    extra = 0
    min_num = 1  # at least one language
    fields = ("language", "title", "short", "body", "channel_overrides")


class AnswerAttachmentInline(admin.TabularInline):
    model = AnswerAttachment
    extra = 0


class KindFilter(admin.SimpleListFilter):
    title = _("question kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(k, k) for k in KINDS]

    def queryset(self, request, queryset):
        # The JSON list's text: works on PostgreSQL and SQLite alike.
        if self.value() in KINDS:
            return queryset.filter(kinds__icontains=f'"{self.value()}"')
        return queryset


class TopicFilter(admin.SimpleListFilter):
    title = _("topic")
    parameter_name = "topic"

    def lookups(self, request, model_admin):
        topics = sorted({t for row in Answer.objects.values_list("topics", flat=True) for t in row})
        return [(t, t) for t in topics[:100]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(topics__icontains=f'"{self.value()}"')
        return queryset


@admin.register(Answer)
class AnswerAdmin(SimpleHistoryAdmin):
    list_display = ("key", "status", "kinds", "topics", "is_canned", "review_by", "updated_at")
    list_filter = ("status", KindFilter, TopicFilter, "is_canned")
    search_fields = ("key", "texts__title", "texts__body")
    inlines = [AnswerTextInline, AnswerAttachmentInline]
    raw_id_fields = ("owner",)
    history_list_display = ("status",)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.reindex_answer(form.instance)  # the search index follows the edit

    def delete_model(self, request, obj):
        services.delete_answer(obj)
