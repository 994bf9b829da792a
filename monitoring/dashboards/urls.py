"""The public pages at the site root, and the alerts list (the alert engine's own pages live under
`alerts/` too but define no empty path, so `alerts/` here is reached)."""

from django.urls import path

from monitoring.dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("country/<str:iso2>/", views.country_detail, name="country"),
    path("indicator/<str:code>/", views.indicator_detail, name="indicator"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/export.csv", views.alerts_export_csv, name="alerts-export-csv"),
    path("alerts/export.xlsx", views.alerts_export_xlsx, name="alerts-export-xlsx"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="alert-resolve"),
]
