from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report_list, name="list"),
    path("<int:report_id>/", views.report_detail, name="detail"),
    path("<int:report_id>/progress.json", views.report_progress, name="progress"),
    path("<int:report_id>/build/", views.report_build_view, name="build"),
    path("<int:report_id>/new-version/", views.report_new_version, name="new_version"),
    path("<int:report_id>/narrative/", views.report_narrative, name="narrative"),
    path("<int:report_id>/download/<str:file_format>/", views.report_download, name="download"),
]
