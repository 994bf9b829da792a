from django.urls import path  # noqa: F401

app_name = "reports_urls"
urlpatterns: list = []
