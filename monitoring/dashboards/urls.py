from django.urls import path  # noqa: F401

app_name = "dashboards_urls"
urlpatterns: list = []
