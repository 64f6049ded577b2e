from django.contrib import admin

from crm.models import Company, Contact, ContactMerge, Identity, IdentityClaim, PageView


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ["kind", "value", "display_name", "verified_at", "verification_method", "created_at"]
    readonly_fields = ["verified_at", "verification_method", "created_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "company", "language", "language_source", "created_at"]
    search_fields = ["name", "identities__value"]
    list_filter = ["language", "language_source", "identities__kind"]
    list_select_related = ["company"]
    autocomplete_fields = ["company"]
    inlines = [IdentityInline]
    show_full_result_count = False


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "created_at"]
    search_fields = ["name", "domain"]


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["value", "kind", "contact", "display_name", "verification_method", "created_at"]
    list_filter = ["kind", "verification_method"]
    readonly_fields = ["verified_at", "verification_method", "verified_by"]
    search_fields = ["value", "display_name", "contact__name"]
    raw_id_fields = ["contact"]
    list_select_related = ["contact"]
    show_full_result_count = False


@admin.register(PageView)
class PageViewAdmin(admin.ModelAdmin):
    list_display = ["viewed_at", "contact", "title", "url", "duration_seconds"]
    search_fields = ["url", "title"]
    raw_id_fields = ["contact"]
    list_select_related = ["contact"]
    show_full_result_count = False


@admin.register(ContactMerge)
class ContactMergeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kept", "merged_contact_id", "merged_name", "reason"]
    raw_id_fields = ["kept", "merged_by"]
    readonly_fields = ["moved", "attributes_taken", "attributes_conflicting"]


@admin.register(IdentityClaim)
class IdentityClaimAdmin(admin.ModelAdmin):
    """Read-only: claims change through ``crm.verification`` (codes, agent verification)."""

    list_display = ["created_at", "value", "kind", "contact", "source", "verification_method"]
    list_filter = ["kind", "source", "verification_method"]
    search_fields = ["value", "contact__name"]
    raw_id_fields = ["contact", "verified_by"]
    list_select_related = ["contact"]
    exclude = ["code_hash"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
