"""The project's admin site: Django's, with one guard every model admin shares.

A bulk action names its rows in `_selected_action`; Django filters on those values as written, so a
forged value that is not a key ("abc" for a numeric id) raised a ValueError, a 500. The guard checks the
values against the model's primary key first and answers as Django does when no row is selected: a
message and the list again.
"""

import functools

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _


class MonitorAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        if not isinstance(model_admin, admin.ModelAdmin) or getattr(view, "__name__", "") != "changelist_view":
            return guarded

        @functools.wraps(view)
        def changelist(request, *args, **kwargs):
            if request.method == "POST" and not _selection_is_keys(model_admin, request):
                messages.warning(request, _("The selected rows are not rows of this list; nothing was done."))
                return HttpResponseRedirect(request.get_full_path())
            return guarded(request, *args, **kwargs)

        return changelist


def _selection_is_keys(model_admin: admin.ModelAdmin, request) -> bool:
    """Every selected value is a possible primary key: of its type, and within the column's range."""
    primary_key = model_admin.model._meta.pk
    integer = isinstance(primary_key, models.IntegerField)
    low, high = connection.ops.integer_field_range(primary_key.get_internal_type()) if integer else (None, None)
    try:
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            key = primary_key.get_prep_value(primary_key.to_python(value))
            if integer and not ((low is None or key >= low) and (high is None or key <= high)):
                return False
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return True
