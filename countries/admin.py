from django.contrib import admin

from countries.models import Country, Market, Membership, Region
from monitoring import permissions


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["iso2", "iso3", "m49", "name_en", "name_ru", "currency"]
    search_fields = ["iso2", "iso3", "name_en", "name_ru"]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_ru", "country", "type", "valid_from", "valid_to"]
    list_filter = ["country", "type"]
    search_fields = ["code", "pcode", "name_en", "name_ru"]
    filter_horizontal = ["successor_of"]


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "country", "region", "latitude", "longitude"]
    list_filter = ["country"]
    search_fields = ["name", "name_ru", "code"]
    autocomplete_fields = ["region"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Who may act for which state is itself guarded: only administrators grant or change roles, so a
    clerk given admin access cannot widen their own scope."""

    list_display = ["user", "role", "country", "created_at"]
    list_filter = ["role", "country"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]

    def has_view_permission(self, request, obj=None):
        return permissions.is_administrator(request.user)

    def has_add_permission(self, request):
        return permissions.is_administrator(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.is_administrator(request.user)

    def has_delete_permission(self, request, obj=None):
        return permissions.is_administrator(request.user)
