"""Serve the lab on uvicorn: check the address first, open the browser once it listens, stop
cleanly on Ctrl-C.

uvicorn handles SIGINT and SIGTERM itself (it finishes the requests in flight, then raises the
signal again), so `serve` returns when the student stops it; the command then says so in one
line.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path

from mnist_lab.core.errors import ConfigError, MnistLabError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765


def url(host: str, port: int) -> str:
    """The address a browser on this machine opens."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def is_local(host: str) -> bool:
    """Whether only this machine can reach a server bound to `host`."""
    return host in LOCAL_HOSTS


def check_address(host: str, port: int) -> None:
    """Raise a one-line error if the server could not listen on host:port (taken, or unknown)."""
    if not 1 <= port <= 65535:
        raise ConfigError(
            f"The 'port' option must be an int from 1 to 65535. Got {port} instead.", option="port"
        )
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ConfigError(
            f"The 'host' option {host!r} is not an address of this machine; the default, "
            f"{DEFAULT_HOST}, serves this machine only.",
            option="host",
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise MnistLabError(
                    f"Port {port} on {host} is already in use (another 'mnist-lab lab'?): stop "
                    f"it, or choose another port with --port {port + 1}."
                ) from None
            raise MnistLabError(
                f"Cannot listen on {host}:{port} ({error.strerror or error}); try --host "
                f"{DEFAULT_HOST} or another --port."
            ) from None


def serve(
    run_folders: Sequence[Path],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    open_browser: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the lab for `run_folders` until Ctrl-C; `on_ready(url)` is called once it listens
    (before the browser opens)."""
    import uvicorn

    from mnist_lab.lab.app import create_app

    check_address(host, port)
    config = uvicorn.Config(
        create_app(list(run_folders)), host=host, port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    address = url(host, port)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            if on_ready is not None:
                on_ready(address)
            if open_browser:
                webbrowser.open(address)

    threading.Thread(target=announce, name="mnist-lab-lab-ready", daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stopped, then raised the signal
        server.run()
