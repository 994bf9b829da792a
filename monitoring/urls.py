"""`/entry/`: the data-entry pages of the ministries (and the completeness report)."""

from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.entry_index, name="index"),
    path("open/", views.entry_open, name="open"),
    path("check/", views.value_check, name="check"),
    path("completeness/", views.completeness, name="completeness"),
    path("history/<int:pk>/", views.observation_history, name="history"),
    path("<str:iso2>/<str:period>/", views.period_entry, name="period"),
]
