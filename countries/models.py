"""The five states, their admin-1 regions and markets, and who may act for which state."""

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class LocalizedNameMixin:
    """`name` in the active language, falling back to English (names are stored per language)."""

    name_en: str
    name_ru: str

    @property
    def name(self) -> str:
        language = (get_language() or "en")[:2]
        return getattr(self, f"name_{language}", "") or self.name_en


class CountryQuerySet(models.QuerySet):
    def by_code(self, code: str) -> "CountryQuerySet":
        code = (code or "").strip().upper()
        if len(code) == 3 and code.isdigit():
            return self.filter(m49=int(code))
        return self.filter(models.Q(iso2=code) | models.Q(iso3=code))


class Country(LocalizedNameMixin, models.Model):
    iso2 = models.CharField(_("ISO 3166 alpha-2"), max_length=2, unique=True)
    iso3 = models.CharField(_("ISO 3166 alpha-3"), max_length=3, unique=True)
    m49 = models.PositiveSmallIntegerField(_("UN M49 code"), unique=True)
    currency = models.CharField(_("ISO 4217 currency"), max_length=3)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_ru = models.CharField(_("name (Russian)"), max_length=100)
    name_local = models.CharField(_("name (national language)"), max_length=100, blank=True)
    faostat_code = models.PositiveSmallIntegerField(_("FAOSTAT area code"), null=True, blank=True)
    gaul_code = models.PositiveIntegerField(_("WFP/GAUL adm0 code"), null=True, blank=True)

    objects = CountryQuerySet.as_manager()

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("country")
        verbose_name_plural = _("countries")

    def __str__(self) -> str:
        return self.name


class RegionQuerySet(models.QuerySet):
    def valid_on(self, day) -> "RegionQuerySet":
        return self.filter(
            models.Q(valid_from__isnull=True) | models.Q(valid_from__lte=day),
            models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=day),
        )


class Region(LocalizedNameMixin, models.Model):
    """An admin-1 unit. Units change: Kazakhstan created Abai, Jetisu and Ulytau in 2022, so each unit
    has a validity interval and data for a period refers to the units valid then."""

    class Type(models.TextChoices):
        REGION = "region", _("region")
        CITY = "city", _("city of national significance")
        AUTONOMOUS = "autonomous", _("autonomous region or republic")
        CAPITAL = "capital", _("capital city")

    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="regions")
    code = models.CharField(_("ISO 3166-2 code"), max_length=10, unique=True)
    pcode = models.CharField(_("OCHA P-code"), max_length=20, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_ru = models.CharField(_("name (Russian)"), max_length=120, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.REGION)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    successor_of = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="successors", verbose_name=_("created from")
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["country__name_en", "name_en"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="region_valid_interval",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Market(models.Model):
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="markets")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="markets", null=True, blank=True)
    code = models.SlugField(_("code"), max_length=60, help_text=_("Unique within the country."))
    name = models.CharField(_("name"), max_length=120)
    name_ru = models.CharField(_("name (Russian)"), max_length=120, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    class Meta:
        ordering = ["country__name_en", "name"]
        verbose_name = _("market")
        verbose_name_plural = _("markets")
        constraints = [models.UniqueConstraint(fields=["country", "code"], name="market_unique_code_per_country")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """What a person may do, and for which state. Regional roles (analyst, viewer, administrator) have
    no country. The country scope is this row, never a naming convention."""

    class Role(models.TextChoices):
        CLERK = "clerk", _("data clerk")
        APPROVER = "approver", _("approver")
        ANALYST = "analyst", _("regional analyst")
        VIEWER = "viewer", _("viewer")
        ADMINISTRATOR = "administrator", _("administrator")

    COUNTRY_ROLES = (Role.CLERK, Role.APPROVER)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="memberships", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username", "role"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "country"], name="membership_unique"),
            # A clerk or approver always acts for one state; regional roles never carry one.
            models.CheckConstraint(
                condition=(models.Q(role__in=["clerk", "approver"]) & models.Q(country__isnull=False))
                | (~models.Q(role__in=["clerk", "approver"]) & models.Q(country__isnull=True)),
                name="membership_country_matches_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()}" + (f" ({self.country.iso2})" if self.country_id else "")
