"""One error shape for every API error.

Every error answers `{"error": {"code": ..., "message": ..., "details": ...}}`. Services raise Django's
`ValidationError` or `ApplicationError`; DRF's own exceptions keep their status codes.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A business rule refused the request; `extra` carries the details a person needs."""

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


def _django_validation_details(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return {field: [str(m) for e in errs for m in e.messages] for field, errs in error.error_dict.items()}
    return {"non_field_errors": error.messages}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_django_validation_details(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, ApplicationError):
        return Response(
            {"error": {"code": "invalid", "message": exc.message, "details": exc.extra}},
            status=status.HTTP_400_BAD_REQUEST,
        )

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        message = _("The request is not valid.")
        details = response.data
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        message = str(detail)
        details = {}
    code = getattr(exc, "default_code", "error")
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response
