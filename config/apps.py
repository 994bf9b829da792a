from django.contrib.admin.apps import AdminConfig


class MonitorAdminConfig(AdminConfig):
    default_site = "config.admin_site.MonitorAdminSite"
