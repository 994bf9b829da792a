"""Request guards that apply to every page and API call alike."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RefuseNullCharactersMiddleware:
    """Answer 400 to an address whose path or query holds a null character (`%00`).

    No code, period or search term of ours contains one, and PostgreSQL refuses it in any text parameter
    (psycopg's DataError), so `/country/%00/`, `?country=%00` or the admin's `?q=%00` were 500s there
    (SQLite let them through). Form fields refuse it themselves (Django's CharField), JSON codes in
    `monitoring.serializers.CodeRelatedField`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.lists()
        if "\x00" in request.path or any("\x00" in key or any("\x00" in v for v in values) for key, values in query):
            message = _("The address holds a null character, which no page or API call accepts.")
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "invalid", "message": message, "details": {}}}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
