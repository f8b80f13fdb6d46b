"""Only the configured hosts are contacted, over real loopback sockets: a link to another
loopback address (127.0.0.2, where the portal is on 127.0.0.1) is refused before any
connection is made."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.http import HttpClient, SourceError

pytestmark = pytest.mark.integration


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.seen.append(self.path)
        body = b"PRACTICE_CODE\nA81001\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_loopback():
    server = ThreadingHTTPServer(("127.0.0.2", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        _Recorder.seen.clear()


def test_a_shard_on_another_loopback_address_is_never_contacted(other_loopback):
    url = f"{other_loopback}/gc/shard-0.csv"
    with (
        HttpClient(allowed_hosts=["127.0.0.1"], timeout_seconds=5) as http,
        pytest.raises(SourceError, match="'127.0.0.2' is not an allowed source host"),
    ):
        http.get(url, what="shard 1")
    assert _Recorder.seen == []
    # The server was there all along: allowed, the same request is answered.
    with HttpClient(allowed_hosts=["127.0.0.2"], timeout_seconds=5) as http:
        assert http.get(url).text.startswith("PRACTICE_CODE")
    assert _Recorder.seen == ["/gc/shard-0.csv"]
