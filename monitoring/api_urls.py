from django.urls import path  # noqa: F401

app_name = "monitoring_api_urls"
urlpatterns: list = []
