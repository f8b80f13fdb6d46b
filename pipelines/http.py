"""The one HTTP client every source uses.

The NHSBSA portal publishes no rate limit, its SQL service answers 500 under load, and
the NHS England site refuses clients without a proper User-Agent. Rather than each source
handling that differently, all requests go through :class:`HttpClient`:

* retries by tenacity: bounded attempts, exponential back-off with full jitter on
  transient failures (connection errors, timeouts, 429/5xx), ``Retry-After`` honoured
  (capped), and a whole-request deadline across attempts and while a body streams, so a
  server trickling a byte at a time cannot hold a run;
* only allowed destinations: the hosts of the configured sources and the storage hosts
  the portal links to, over https (http only on loopback), checked for every request
  *and every redirect* before it is sent;
* bodies read within a size limit, never whole and unbounded; gzip content-encoding
  inflated within the same limit;
* errors that name the URL, the attempt count and the last cause, quoting at most a
  short, sanitised snippet of what the server said.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import tenacity

from pipelines import __version__
from pipelines.errors import SourceError
from pipelines.limits import LimitExceeded, Limits, check_deadline, inflate, read_limited

__all__ = ["HttpClient", "SourceError", "host_allowed", "sanitise"]

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
SNIPPET_CHARS = 120
URL_CHARS = 300


class _Transient(Exception):
    """One failed attempt worth retrying; ``retry_after`` is the server's wish, if any."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.retry_after = retry_after


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_allowed(url: httpx.URL, allowed: frozenset[str] | None) -> str | None:
    """Why ``url`` may not be requested, or None when it may.

    ``allowed`` holds host names (``*.example.org`` allows subdomains); None allows any
    host. https is required except on loopback, where plain http is allowed.
    """
    host = (url.host or "").lower()
    if url.scheme not in ("https", "http"):
        return f"scheme {url.scheme!r} is not allowed"
    if url.scheme == "http" and not is_loopback(host):
        return "plain http is allowed only on loopback; use https"
    if allowed is None:
        return None
    for entry in allowed:
        if host == entry or (entry.startswith("*.") and host.endswith(entry[1:])):
            return None
    return f"host {host!r} is not an allowed source host (OPIOIDS_ALLOWED_HOSTS)"


def sanitise(text: str, limit: int = SNIPPET_CHARS) -> str:
    """At most ``limit`` printable characters of ``text``, whitespace collapsed."""
    text = re.sub(r"[^\x20-\x7e]+", " ", text)
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


def short_url(url: str | httpx.URL) -> str:
    return sanitise(str(url), URL_CHARS)


class HttpClient:
    """httpx with the retry policy, limits and destinations the public sources need.

    ``sleep`` is injectable so retry timing is tested without waiting; production uses
    real time and real jitter.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 120.0,
        max_attempts: int = 4,
        backoff_base_seconds: float = 1.0,
        backoff_max_seconds: float = 60.0,
        retry_after_max_seconds: float = 120.0,
        deadline_seconds: float = 900.0,
        download_deadline_seconds: float | None = None,
        limits: Limits | None = None,
        allowed_hosts: Iterable[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.retry_after_max_seconds = retry_after_max_seconds
        self.deadline_seconds = deadline_seconds
        # Streamed downloads (``stream``) are timed by their caller, against this.
        self.download_deadline_seconds = download_deadline_seconds
        if limits is None:
            from pipelines.config import Settings

            limits = Settings().limits
        self.limits = limits
        self.allowed_hosts = (
            None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
        )
        self._sleep = sleep
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 15.0)),
            headers={
                "User-Agent": USER_AGENT,
                "Accept-Encoding": "gzip, deflate",
                **(headers or {}),
            },
            follow_redirects=True,
            max_redirects=5,
            event_hooks={"request": [self._check_destination]},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_destination(self, request: httpx.Request) -> None:
        refusal = host_allowed(request.url, self.allowed_hosts)
        if refusal:
            raise SourceError(f"refused to contact {refusal}", url=short_url(request.url))

    # -- retry policy -------------------------------------------------------------------

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Retry-After when the server gave one (capped), else full-jitter back-off."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry_after_max_seconds)
        jitter = tenacity.wait_random_exponential(
            multiplier=self.backoff_base_seconds, max=self.backoff_max_seconds
        )
        return jitter(state)

    def _retrying(self, what: str, url: str) -> tenacity.Retrying:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.upcoming_sleep
            log.warning(
                "%s attempt %d/%d failed (%s); retrying in %.1fs: %s",
                what,
                state.attempt_number,
                self.max_attempts,
                exc,
                delay,
                short_url(url),
            )

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts)
            | tenacity.stop_before_delay(self.deadline_seconds),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=before_sleep,
        )

    def _attempts(self, what: str, url: str, attempt: Callable[[], Any]) -> Any:
        retrying = self._retrying(what, url)
        try:
            return retrying(attempt)
        except tenacity.RetryError as exc:
            attempts = exc.last_attempt.attempt_number
            cause = exc.last_attempt.exception()
            raise SourceError(
                f"{what} failed after {attempts} attempt{'s' if attempts != 1 else ''}; "
                f"last error: {cause}",
                url=short_url(url),
            ) from None

    def _send(
        self, method: str, url: str, params: Mapping[str, Any] | None, headers: Any
    ) -> httpx.Response:
        request = self.client.build_request(method, url, params=params, headers=headers)
        try:
            return self.client.send(request, stream=True)
        except TRANSIENT_ERRORS as exc:
            raise _Transient(_describe(exc)) from exc

    def _refuse_status(self, response: httpx.Response, what: str, body: bytes = b"") -> None:
        """Raise for an error status: transient ones to retry, others as a SourceError."""
        status = response.status_code
        cause = f"HTTP {status} {response.reason_phrase}"
        if status in RETRY_STATUSES:
            raise _Transient(cause, _parse_retry_after(response.headers.get("Retry-After")))
        snippet = sanitise(body.decode("utf-8", "replace")) if body else ""
        raise SourceError(
            f"{what} failed with {cause}" + (f": {snippet}" if snippet else ""),
            url=short_url(response.request.url),
            status=status,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        what: str = "request",
    ) -> httpx.Response:
        """Send a request, retrying transient failures; return the successful response
        with its body read (within ``limits.max_in_memory_bytes``).

        Non-retryable HTTP errors (404, 403, ...) fail at once: retrying cannot fix them.
        """
        deadline = time.monotonic() + self.deadline_seconds
        full = _full_url(url, params)

        def attempt() -> httpx.Response:
            response = self._send(method, url, params, headers)
            try:
                body = self._read_body(response, what, deadline)
            except TRANSIENT_ERRORS as exc:
                raise _Transient(_describe(exc)) from exc
            finally:
                response.close()
            if response.status_code >= 400:
                self._refuse_status(response, what, body)
            decoded = "content-encoding" in response.headers
            return httpx.Response(
                response.status_code,
                headers=[
                    (k, v)
                    for k, v in response.headers.multi_items()
                    if not (decoded and k.lower() in ("content-encoding", "content-length"))
                ],
                content=body,
                request=response.request,
            )

        return self._attempts(what, full, attempt)

    def _read_body(self, response: httpx.Response, what: str, deadline: float) -> bytes:
        limit = self.limits.max_in_memory_bytes
        url = short_url(response.request.url)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise LimitExceeded(
                f"{what}: announces {int(length) / 1e6:,.1f} MB, more than the limit "
                "(OPIOIDS_MAX_IN_MEMORY_BYTES)",
                url=url,
            )
        if response.is_stream_consumed:  # already read and decoded (mock transports)
            return read_limited([response.content], limit, what=what, url=url)
        raw = response.iter_raw()
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            timed = _until(raw, deadline, what, url)
            chunks: Iterable[bytes] = inflate(
                timed, limit=limit, max_ratio=self.limits.max_compression_ratio, what=what, url=url
            )
        elif encoding in ("identity", ""):
            chunks = raw
        else:
            raise SourceError(f"{what}: unsupported content encoding {encoding!r}", url=url)
        return read_limited(chunks, limit, what=what, url=url, deadline=deadline)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, *, what: str = "request", **kwargs: Any) -> Any:
        response = self.get(url, what=what, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(
                f"{what} returned a body that is not valid JSON: "
                f"{sanitise(response.content.decode('utf-8', 'replace'))}",
                url=short_url(response.request.url),
            ) from exc

    @contextmanager
    def stream(
        self, url: str, *, headers: Mapping[str, str] | None = None, what: str = "download"
    ) -> Iterator[httpx.Response]:
        """Open a streamed GET, retrying only the connection and status phase.

        A failure after bytes have started flowing is the caller's to handle (for example
        by resuming with a Range request), because only the caller knows what it has kept.
        """

        def attempt() -> httpx.Response:
            response = self._send("GET", url, None, headers)
            if response.status_code >= 400:
                try:
                    body = _head(response, 4096)
                except TRANSIENT_ERRORS:
                    body = b""
                finally:
                    response.close()
                self._refuse_status(response, what, body)
            return response

        response = self._attempts(what, url, attempt)
        try:
            yield response
        finally:
            response.close()


def _head(response: httpx.Response, size: int) -> bytes:
    """The first ``size`` bytes of a body (enough to quote), leaving the rest unread."""
    try:
        chunks = response.iter_raw()
        kept = b""
        for chunk in chunks:
            kept += chunk
            if len(kept) >= size:
                break
    except httpx.StreamConsumed:  # a body already in memory
        kept = response.content
    return kept[:size]


def _until(chunks: Iterable[bytes], deadline: float, what: str, url: str) -> Iterator[bytes]:
    for chunk in chunks:
        check_deadline(deadline, what, url)
        yield chunk


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {sanitise(str(exc))}" if str(exc) else type(exc).__name__


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


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    return str(httpx.URL(url, params=params))
