"""`/api/v1/`: the catalogue, observations and their approval, periods, imports, and the token endpoint.
(Scores, alerts and country status are in `monitoring/alerts/api_urls.py` under the same prefix.)"""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from monitoring import apis

app_name = "monitoring_api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("countries", apis.CountryViewSet, basename="country")
router.register("regions", apis.RegionViewSet, basename="region")
router.register("markets", apis.MarketViewSet, basename="market")
router.register("indicators", apis.IndicatorViewSet, basename="indicator")
router.register("observations", apis.ObservationViewSet, basename="observation")
router.register("periods", apis.PeriodApprovalViewSet, basename="period")
router.register("import-batches", apis.ImportBatchViewSet, basename="import-batch")

urlpatterns = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="token"),
    path("", include(router.urls)),
]
