from django.urls import path

from monitoring.alerts import views

app_name = "alerts_urls"
# The empty path belongs to the dashboards (the alerts list at /alerts/); this module serves the rest.
urlpatterns = [
    path("methodology/", views.methodology, name="methodology"),
]
