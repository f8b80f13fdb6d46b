"""The Dagster UI on the pipeline's persistent instance.

The UI loads the code location through a workspace file written into ``$DAGSTER_HOME``,
so the location is always named ``opioid_comparators`` whatever the checkout's folder is
called, and it runs with the very settings the command was given (passed as ``OPIOIDS_*``
variables), so runs launched from the UI use the same sources and data directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines.config import REPO_ROOT, Settings, settings_environ

LOCATION_NAME = "opioid_comparators"


def write_workspace(settings: Settings, code_server: str | None = None) -> Path:
    """``$DAGSTER_HOME/workspace.yaml`` naming the code location.

    By default the web server (or daemon) loads the code itself; with ``code_server``
    (``host:port``) it talks to a running code location server instead, as in a deployment
    (``dagster code-server start``, see deploy/).
    """
    path = settings.dagster_home / "workspace.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if code_server:
        host, _, port = code_server.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"the code server must be given as host:port, not {code_server!r}")
        entry = (
            "  - grpc_server:\n"
            f"      host: {host}\n"
            f"      port: {port}\n"
            f"      location_name: {LOCATION_NAME}\n"
        )
    else:
        entry = (
            "  - python_module:\n"
            "      module_name: pipelines.definitions\n"
            f"      location_name: {LOCATION_NAME}\n"
            f"      working_directory: {REPO_ROOT}\n"
        )
    path.write_text(
        "# Written by `opioids`: the pipeline's code location under a fixed name.\n"
        "load_from:\n" + entry
    )
    return path


def ui_command(settings: Settings, port: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the UI (and its daemon) on loopback."""
    from pipelines.runner import prepare_instance

    prepare_instance(settings)
    workspace = write_workspace(settings)
    env = {**os.environ, **settings_environ(settings), "DAGSTER_HOME": str(settings.dagster_home)}
    dagster = str(Path(sys.executable).parent / "dagster")
    cmd = [dagster, "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]
    return cmd, env


def run_ui(settings: Settings, port: int) -> int:
    """Serve the UI in the foreground until interrupted."""
    cmd, env = ui_command(settings, port)
    print(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={settings.dagster_home})")
    try:
        return subprocess.call(cmd, env=env, cwd=REPO_ROOT)
    except KeyboardInterrupt:
        return 0
