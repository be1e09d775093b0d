"""A small client for Toxiproxy's HTTP API (v2.5): proxies between the task and a server, and
the faults ("toxics") put on them."""

from __future__ import annotations

import json
import random
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# The listen ports this suite may use; another run may use some of them at the same time.
PORTS = range(25000, 26000)


class ToxiproxyError(RuntimeError):
    pass


@dataclass
class Toxiproxy:
    """The API of one running Toxiproxy server."""

    url: str

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise ToxiproxyError(f"{method} {path}: HTTP {error.code}: {detail}") from None
        return json.loads(text) if text.strip() else None

    @contextmanager
    def proxy(self, name: str, upstream: str) -> Iterator[Proxy]:
        """A proxy to `upstream` on a free port of PORTS, deleted afterwards."""
        port = free_port()
        self.call(
            "POST",
            "/proxies",
            {"name": name, "listen": f"127.0.0.1:{port}", "upstream": upstream, "enabled": True},
        )
        try:
            yield Proxy(self, name, port)
        finally:
            self.call("DELETE", f"/proxies/{name}")


@dataclass
class Proxy:
    api: Toxiproxy
    name: str
    port: int

    def enable(self, enabled: bool) -> None:
        """Disabled, the proxy closes every connection and refuses new ones: the server is away."""
        self.api.call("POST", f"/proxies/{self.name}", {"enabled": enabled})

    def add(self, toxic: str, kind: str, stream: str = "downstream", **attributes: Any) -> None:
        """A toxic, applied to open connections and new ones alike."""
        self.api.call(
            "POST",
            f"/proxies/{self.name}/toxics",
            {
                "name": toxic,
                "type": kind,
                "stream": stream,
                "toxicity": 1.0,
                "attributes": attributes,
            },
        )

    def remove(self, toxic: str) -> None:
        self.api.call("DELETE", f"/proxies/{self.name}/toxics/{toxic}")

    def silent(self) -> None:
        """The server accepts TCP and then never answers (data dropped, connections kept open)."""
        self.add("silent", "timeout", timeout=0)

    def speak(self) -> None:
        self.remove("silent")


def free_port() -> int:
    """A port of PORTS nobody listens on now, starting at a random one."""
    start = random.randrange(len(PORTS))
    for offset in range(len(PORTS)):
        port = PORTS[(start + offset) % len(PORTS)]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise ToxiproxyError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")
