from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.views import healthz
from monitoring.apis import api_not_found

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Each app owns its URL module; the API of data entry and of alerts share the /api/v1/ prefix.
    path("api/v1/", include("monitoring.api_urls")),
    path("api/v1/", include("monitoring.alerts.api_urls")),
    # Any other address under /api/ answers the API's JSON error shape, not an HTML page.
    re_path(r"^api/", api_not_found),
    path("entry/", include("monitoring.urls")),
    path("alerts/", include("monitoring.alerts.urls")),
    path("reports/", include("reports.urls")),
    path("", include("monitoring.dashboards.urls")),
]
