"""Errors shared by the sources and the limits on what they may send."""

from __future__ import annotations


class SourceError(RuntimeError):
    """A source could not be read, or said something we cannot use.

    The message always carries the URL (or resource) so the Dagster UI shows where it
    went wrong without digging through logs. ``status`` is the HTTP status when one
    caused it.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        self.url = url
        self.status = status
        super().__init__(f"{message} [url: {url}]" if url else message)
