"""The API's one pagination: `?limit=&offset=`, as DRF's LimitOffsetPagination, with a ceiling."""

from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    # DRF sets no ceiling by default, so `?limit=10**25` reached the database as a LIMIT it cannot hold
    # (SQLite "datatype mismatch", PostgreSQL "bigint out of range"): a 500. A larger limit is lowered to
    # this one (DRF's documented behaviour), above the longest list a client reads in one go today (the
    # demo's ~11,000 scores fit in two pages).
    max_limit = 10_000
