from django.contrib import admin

from countries.models import Country, Market, Membership, Region


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
    list_display = ["user", "role", "country", "created_at"]
    list_filter = ["role", "country"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
