"""A throw-away PostgreSQL server for tests: Debian's binaries, a temporary cluster, loopback.

``initdb`` makes a cluster in a new temporary directory, the server listens on a free
port of 127.0.0.1 only (its socket in that directory, trust authentication for the test
user), and :meth:`PostgresServer.stop` stops it and removes the directory. PostgreSQL
refuses to run as root, so under root the server runs as the ``postgres`` system user
that Debian's package creates (``setpriv``), owning the directory.

A test that needs the server calls :func:`start_postgres`, which raises when the server
cannot start: the test fails, it never skips (``make test`` installs the package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "opioids"
DATABASE = "dagster"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server could not be found or started."""


def find_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/N/bin`` holding ``initdb`` (Debian's layout)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "run `make test`, which installs Debian's postgresql package"
        )
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="opioids-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root and there is no postgres system user to run the server"
                ) from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
            setpriv = shutil.which("setpriv") or "setpriv"
            self._as_user = [
                setpriv,
                f"--reuid={account.pw_uid}",
                f"--regid={account.pw_gid}",
                "--init-groups",
            ]

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self._as_user, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "LC_ALL": "C.UTF-8", "PGTZ": "UTC"},
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-800:]}"
            )
        return result

    def start(self) -> PostgresServer:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data),
            "-U", USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=60"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D", str(self.data),
            "-o", options,
            "-l", str(self.root / "server.log"),
            "-w", "-t", "60",
            "start",
        )  # fmt: skip
        self._run(
            str(self.bin_dir / "createdb"),
            "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE,
        )  # fmt: skip
        return self

    def new_database(self, name: str) -> str:
        """A fresh database on this server; its URL."""
        self._run(
            str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name
        )  # fmt: skip
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                )
        finally:
            for _ in range(3):
                shutil.rmtree(self.root, ignore_errors=True)
                if not self.root.exists():
                    break
                time.sleep(0.2)


def start_postgres() -> PostgresServer:
    """A started server, or :class:`PostgresUnavailable` saying why not."""
    server = PostgresServer()
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise
