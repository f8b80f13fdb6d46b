"""The one HTTP client every source uses.

The NHSBSA portal publishes no rate limit, its SQL service answers 500 under load, and
the NHS England site refuses clients without a proper User-Agent. Rather than each source
handling that differently, all requests go through :class:`HttpClient`: bounded retries
with exponential back-off and full jitter on transient failures, ``Retry-After`` honoured
on 429/503, and errors that name the URL, the attempt count and the last cause, so a
failed run says exactly what was wrong and where.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from pipelines import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"opioid-comparators/{__version__} (NHS open data pipeline; python-httpx)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSIENT_ERRORS = (
    httpx.TimeoutException,
    httpx.ConnectError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


class SourceError(RuntimeError):
    """A source could not be read, or said something we cannot use.

    The message always carries the URL (or resource) so the Dagster UI shows where it
    went wrong without digging through logs.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(f"{message} [url: {url}]" if url else message)


class HttpClient:
    """httpx with the retry policy the public sources need.

    ``sleep`` and ``rng`` are injectable so retry timing can be tested without waiting;
    production uses real time and real jitter.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 120.0,
        max_attempts: int = 4,
        backoff_base_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
        retry_after_max_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.retry_after_max_seconds = retry_after_max_seconds
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 15.0)),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=True,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- retry policy -------------------------------------------------------------------

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: Retry-After if given, else jitter."""
        if response is not None:
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, self.retry_after_max_seconds)
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        what: str = "request",
    ) -> httpx.Response:
        """Send a request, retrying transient failures; return the successful response.

        Non-retryable HTTP errors (404, 403, ...) fail at once: retrying cannot fix them.
        """
        last_cause = ""
        for attempt in range(1, self.max_attempts + 1):
            response: httpx.Response | None = None
            try:
                response = self.client.request(method, url, params=params, headers=headers)
            except TRANSIENT_ERRORS as exc:
                last_cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 400:
                    return response
                last_cause = f"HTTP {response.status_code} {response.reason_phrase}"
                if response.status_code not in RETRY_STATUSES:
                    raise SourceError(
                        f"{what} failed with {last_cause}: {_snippet(response)}",
                        url=str(response.request.url),
                    )
            if attempt < self.max_attempts:
                delay = self._delay(attempt, response)
                log.warning(
                    "%s attempt %d/%d failed (%s); retrying in %.1fs: %s",
                    what,
                    attempt,
                    self.max_attempts,
                    last_cause,
                    delay,
                    url,
                )
                self._sleep(delay)
        raise SourceError(
            f"{what} failed after {self.max_attempts} attempts; last error: {last_cause}",
            url=_full_url(url, params),
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, *, what: str = "request", **kwargs: Any) -> Any:
        response = self.get(url, what=what, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(
                f"{what} returned a body that is not valid JSON ({exc}): {_snippet(response)}",
                url=str(response.request.url),
            ) from exc

    @contextmanager
    def stream(
        self, url: str, *, headers: Mapping[str, str] | None = None, what: str = "download"
    ) -> Iterator[httpx.Response]:
        """Open a streamed GET, retrying only the connection and status phase.

        A failure after bytes have started flowing is the caller's to handle (for example
        by resuming with a Range request), because only the caller knows what it has kept.
        """
        last_cause = ""
        for attempt in range(1, self.max_attempts + 1):
            response: httpx.Response | None = None
            try:
                request = self.client.build_request("GET", url, headers=headers)
                response = self.client.send(request, stream=True)
            except TRANSIENT_ERRORS as exc:
                last_cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 400:
                    try:
                        yield response
                    finally:
                        response.close()
                    return
                last_cause = f"HTTP {response.status_code} {response.reason_phrase}"
                response.read()
                response.close()
                if response.status_code not in RETRY_STATUSES:
                    raise SourceError(f"{what} failed with {last_cause}", url=url)
            if attempt < self.max_attempts:
                self._sleep(self._delay(attempt, response))
        raise SourceError(
            f"{what} failed after {self.max_attempts} attempts; last error: {last_cause}", url=url
        )


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _snippet(response: httpx.Response, limit: int = 300) -> str:
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - a body we cannot decode is still worth naming
        return "<undecodable body>"
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    return str(httpx.URL(url, params=params))
