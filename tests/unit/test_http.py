"""The HTTP client's behaviour on a mock transport: retries, Retry-After, timeouts,
malformed answers, size and time limits, allowed hosts. No test sleeps: the client's
sleep is injected and records what it was asked to wait."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from pipelines.config import Settings
from pipelines.http import HttpClient, SourceError, host_allowed
from pipelines.limits import LimitExceeded
from pipelines.sources.ckan import CkanClient

URL = "https://portal.test/api/3/action/package_show"
LIMITS = Settings(max_in_memory_bytes=1 << 20).limits


class Server:
    """Answers from a list, one per request; records the requests."""

    def __init__(self, *answers: httpx.Response | Exception | Callable) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def client(server: Server, naps: list[float] | None = None, **options) -> HttpClient:
    options.setdefault("max_attempts", 4)
    options.setdefault("limits", LIMITS)
    options.setdefault("allowed_hosts", ["portal.test", "storage.test"])
    return HttpClient(
        sleep=(naps if naps is not None else []).append,
        transport=httpx.MockTransport(server),
        **options,
    )


def ok(body: object = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"success": True})


def test_transient_failures_are_retried_with_jittered_backoff():
    server = Server(
        httpx.Response(500),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        ok({"n": 1}),
    )
    naps: list[float] = []
    http = client(server, naps, backoff_base_seconds=2.0, backoff_max_seconds=60.0)
    assert http.get_json(URL) == {"n": 1}
    assert len(server.requests) == 4
    # Full jitter: each wait lies between 0 and base * 2^(attempt - 1).
    assert len(naps) == 3
    assert all(0 <= nap <= 2.0 * 2**i for i, nap in enumerate(naps))


def test_retry_after_is_honoured_and_capped():
    server = Server(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"Retry-After": "9999"}),
        ok(),
    )
    naps: list[float] = []
    client(server, naps, retry_after_max_seconds=120).get(URL)
    assert naps == [7.0, 120.0]


def test_attempts_run_out_with_the_url_and_last_cause():
    server = Server(httpx.Response(503))
    with pytest.raises(SourceError) as caught:
        client(server, max_attempts=3).get(URL, params={"id": "x"}, what="package_show x")
    message = str(caught.value)
    assert "package_show x failed after 3 attempts" in message
    assert "HTTP 503" in message and "package_show?id=x" in message
    assert len(server.requests) == 3


def test_timeouts_that_never_recover_name_the_timeout():
    server = Server(httpx.ReadTimeout("timed out"))
    with pytest.raises(SourceError, match="failed after 2 attempts.*ReadTimeout"):
        client(server, max_attempts=2).get(URL)


def test_client_errors_fail_at_once_with_a_short_sanitised_snippet():
    body = "\x1b[31m<html>" + "secret-looking stuff " * 500 + "</html>"
    server = Server(httpx.Response(404, text=body))
    with pytest.raises(SourceError) as caught:
        client(server).get(URL)
    assert caught.value.status == 404 and len(server.requests) == 1
    message = str(caught.value)
    assert "\x1b" not in message
    assert len(message) < 400  # the snippet is short, whatever the body


def test_malformed_json_is_a_source_error():
    server = Server(httpx.Response(200, text='{"success": tru'))
    with pytest.raises(SourceError, match="not valid JSON"):
        client(server).get_json(URL, what="package_show")


def test_a_wait_past_the_deadline_is_not_taken():
    server = Server(httpx.Response(429, headers={"Retry-After": "60"}))
    naps: list[float] = []
    with pytest.raises(SourceError, match="failed after 1 attempt;"):
        client(server, naps, deadline_seconds=30).get(URL)
    assert naps == []


@pytest.mark.parametrize("announced", [True, False])
def test_a_body_over_the_limit_is_refused(announced):
    big = b"x" * (2 << 20)

    def answer(request: httpx.Request) -> httpx.Response:
        if announced:
            return httpx.Response(200, content=big)
        return httpx.Response(200, stream=httpx.ByteStream(big), headers={})

    with pytest.raises(LimitExceeded, match="OPIOIDS_MAX_IN_MEMORY_BYTES"):
        client(Server(answer)).get(URL)


def test_a_gzip_content_encoding_bomb_is_refused():
    bomb = gzip.compress(b"{" + b" " * (50 << 20))
    server = Server(
        lambda request: httpx.Response(
            200, stream=httpx.ByteStream(bomb), headers={"Content-Encoding": "gzip"}
        )
    )
    with pytest.raises(LimitExceeded):
        client(server).get(URL)


def test_gzip_content_encoding_is_decoded():
    body = json.dumps({"success": True, "result": list(range(1000))}).encode()
    server = Server(
        lambda request: httpx.Response(
            200, stream=httpx.ByteStream(gzip.compress(body)), headers={"Content-Encoding": "gzip"}
        )
    )
    assert client(server).get_json(URL)["result"][-1] == 999


class Trickle(httpx.SyncByteStream):
    """A body that arrives a byte at a time, forever."""

    def __iter__(self) -> Iterator[bytes]:
        while True:
            yield b" "


def test_a_trickling_body_hits_the_whole_request_deadline(monkeypatch):
    now = [0.0]

    def clock() -> float:
        now[0] += 2.0  # two seconds pass between looks at the clock
        return now[0]

    monkeypatch.setattr("pipelines.http.time.monotonic", clock)
    server = Server(lambda request: httpx.Response(200, stream=Trickle()))
    with pytest.raises(LimitExceeded, match="deadline"):
        client(server, deadline_seconds=60).get(URL)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://portal.test/x", True),
        ("https://sub.storage.test/x", False),
        ("https://evil.test/x", False),
        ("http://portal.test/x", False),  # https only, off loopback
        ("http://127.0.0.1:8000/x", False),  # loopback, but not an allowed host
        ("ftp://portal.test/x", False),
    ],
)
def test_host_policy(url, allowed):
    refusal = host_allowed(httpx.URL(url), frozenset({"portal.test", "storage.test"}))
    assert (refusal is None) == allowed


def test_loopback_may_use_plain_http_and_subdomains_can_be_allowed():
    assert host_allowed(httpx.URL("http://127.0.0.1:8000/x"), frozenset({"127.0.0.1"})) is None
    assert host_allowed(httpx.URL("https://a.b.example.org/"), frozenset({"*.example.org"})) is None


def test_a_redirect_to_another_host_is_refused_before_it_is_followed():
    server = Server(
        lambda request: (
            httpx.Response(302, headers={"Location": "https://evil.test/steal"})
            if request.url.host == "portal.test"
            else ok()
        )
    )
    with pytest.raises(SourceError, match="'evil.test' is not an allowed source host"):
        client(server).get(URL)
    assert [r.url.host for r in server.requests] == ["portal.test"]


def test_a_shard_on_another_loopback_address_is_not_fetched():
    """The portal runs on 127.0.0.1; a shard link to 127.0.0.2 is refused."""
    answer = {
        "success": True,
        "result": {
            "success": "true",
            "result": {
                "records_truncated": "true",
                "gc_urls": [{"url": "http://127.0.0.2:9/gc/shard-0.csv.gz"}],
            },
        },
    }
    server = Server(lambda request: httpx.Response(200, json=answer))
    http = client(server, allowed_hosts=["127.0.0.1"])
    ckan = CkanClient(http, "http://127.0.0.1:8000")
    with pytest.raises(SourceError, match="'127.0.0.2' is not an allowed source host"):
        ckan.datastore_search_sql("EPD_SNOMED_202501", "SELECT 1")
    assert [r.url.host for r in server.requests] == ["127.0.0.1"]


def test_a_gzip_shard_bomb_is_refused_in_bounded_memory():
    bomb = gzip.compress(b"A," * (20 << 20))
    answer = {
        "success": True,
        "result": {
            "success": "true",
            "result": {
                "records_truncated": "true",
                "gc_urls": [{"url": "https://storage.test/gc/shard-0.csv.gz"}],
            },
        },
    }

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "storage.test":
            return httpx.Response(200, stream=httpx.ByteStream(bomb))
        return httpx.Response(200, json=answer)

    ckan = CkanClient(client(Server(route)), "https://portal.test")
    with pytest.raises(LimitExceeded, match="shard 1"):
        ckan.datastore_search_sql("EPD_SNOMED_202501", "SELECT 1")
