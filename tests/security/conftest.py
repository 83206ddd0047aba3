"""Canaries: a loopback listener that records every connection, and a file whose every read is noticed."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class Listener:
    port: int
    connections: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/canary"


@pytest.fixture(scope="session")
def canary_listener() -> Iterator[Listener]:
    """A TCP server on 127.0.0.1 that accepts and records anything; no query may ever reach it."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    listener = Listener(server.getsockname()[1])
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    listener.connections.append(connection.recv(4096))
                except OSError:
                    listener.connections.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener
    stopping.set()
    thread.join(timeout=2)
    server.close()


@dataclass
class CanaryFile:
    path: Path
    secret: str

    def was_read(self) -> bool:
        return self.path.stat().st_atime > 0


@pytest.fixture(scope="session")
def canary_file(tmp_path_factory: pytest.TempPathFactory) -> CanaryFile:
    """A file with a secret, its access time set to 1970: a read moves it (Linux updates atime when it is older
    than the modification time), so a query that read it would show."""
    path = tmp_path_factory.mktemp("canary") / "secret.ttl"
    secret = "canary-3f7a91"
    path.write_text(f'<urn:x> <urn:y> "{secret}" .\n')
    os.utime(path, (0, path.stat().st_mtime))
    probe = path.with_name("probe.ttl")
    probe.write_text("probe")
    os.utime(probe, (0, probe.stat().st_mtime))
    probe.read_text()
    if probe.stat().st_atime == 0:
        pytest.skip("this filesystem does not record reads (noatime): the file canary cannot see them")
    return CanaryFile(path, secret)
