from django.urls import path  # noqa: F401

app_name = "alerts_api_urls"
urlpatterns: list = []
