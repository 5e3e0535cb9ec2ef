"""Request parsers that answer every malformed body with a 400."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus a clean refusal of absurdly nested documents.

    Python's json module recurses once per nesting level, so a few kilobytes
    of brackets would otherwise end in a RecursionError and a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                "JSON parse error - the document is nested too deeply."
            ) from None
