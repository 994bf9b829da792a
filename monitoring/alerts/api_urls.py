from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.alerts import apis

app_name = "alerts_api_urls"

router = SimpleRouter()
router.register("scores", apis.ScoreViewSet, basename="score")
router.register("alerts", apis.AlertViewSet, basename="alert")
router.register("regional-alerts", apis.RegionalAlertViewSet, basename="regional-alert")

urlpatterns = [
    path("status/", apis.CountryStatusView.as_view(), name="status"),
    *router.urls,
]
