"""End-to-end tests: the real server (a free port, waiting until it answers) and Debian's
Chromium, which they drive through Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless, as root, on a machine with no network but loopback: Chromium's own background
# traffic would only produce refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip without Debian's Chromium, except in CI, where the browser tests must run."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process has died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # local
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {seconds} s")


@contextmanager
def live_server(
    data_dir: Path,
    world: str,
    *,
    ready_path: str = "/accounts/login/",
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve the WSGI app with waitress on a free port over a fresh SQLite database in
    ``data_dir``, after migrating it and running ``world`` (Python for ``safecommunity shell``)
    to fill it; yield the base URL and stop the server afterwards.

    Not pytest-django's live_server, whose flush cannot clear the append-only audit log."""
    server_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "MAP_TILE_URL"}
    }
    server_env.update(
        SAFECOMMUNITY_DATA_DIR=str(data_dir),
        SECRET_KEY="live-server-test-only-not-a-secret",
        DJANGO_SETTINGS_MODULE="safecommunity.settings",
        DEBUG="0",
    )
    server_env.update(env or {})
    command = str(Path(sys.executable).parent / "safecommunity")
    subprocess.run([command, "migrate", "--noinput", "-v", "0"], env=server_env, check=True)  # noqa: S603
    subprocess.run([command, "shell", "-c", world], env=server_env, check=True)  # noqa: S603
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603  # our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "waitress",
            f"--listen=127.0.0.1:{port}",
            "safecommunity.wsgi:application",
        ],
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + ready_path, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
