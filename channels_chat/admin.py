from django.contrib import admin

from channels_chat.models import GreetingDisplay, GreetingRule


@admin.register(GreetingRule)
class GreetingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "endpoint", "url_pattern", "delay_seconds", "position", "is_active"]
    list_filter = ["is_active", "endpoint"]
    list_editable = ["position", "is_active"]
    search_fields = ["name", "url_pattern", "message_en", "message_it"]
    fields = [
        "endpoint",
        "name",
        "url_pattern",
        "delay_seconds",
        "message_en",
        "message_it",
        "position",
        "is_active",
    ]


@admin.register(GreetingDisplay)
class GreetingDisplayAdmin(admin.ModelAdmin):
    list_display = ["shown_at", "rule", "identity", "language", "page_url", "message"]
    list_filter = ["rule"]
    raw_id_fields = ["rule", "identity", "message"]
    list_select_related = ["rule", "identity"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
