"""The API's request parsers: DRF's, with a JSON parser that answers a too deeply nested body as a
parse error (the one error shape, 400) instead of letting Python's RecursionError become a 500."""

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Python's json module has no depth limit of its own; `[[[[...]]]]` a few thousand deep exhausts
            # the interpreter's recursion limit. DRF only turns ValueError into a ParseError.
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from None
