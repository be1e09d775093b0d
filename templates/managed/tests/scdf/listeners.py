"""TCP listeners on the loopback that misbehave the way a database host can, for the driver tests.

Each is what a client meets when the server is not what it should be: a port with nothing on it
(server down), a listener that accepts and never answers (a hung server, a black-holing
firewall), one that accepts and closes at once (a proxy with no backend), and one that answers
with bytes no database sends (a wrong port).
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAULTS = ("closed", "silent", "closes", "garbage")

# A self-signed certificate (valid until 2126) and its key, made for these tests only and used for
# nothing else: no client trusts it, which is the point of the TLS listener.
_UNTRUSTED = """\
-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUalHe2DOWIGp+wC/zqnbb3/gjlQgwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXc2NkZi10YXNrLXRlc3QtbGlzdGVuZXIwIBcNMjYxMjAyMDEw
MDAwWhgPMjEyNjExMDgwMTAwMDBaMCIxIDAeBgNVBAMMF3NjZGYtdGFzay10ZXN0
LWxpc3RlbmVyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAG5if9YnyF31v9ro
/2v7piidM3RdI03j2IKA5VYtgoWhtgdAkmnF+arpTozujPFbyoSfqz8KHsFlWUUY
zVaSwKNTMFEwHQYDVR0OBBYEFEdqazfXDpEFNGCMqLyOvYp5p1VpMB8GA1UdIwQY
MBaAFEdqazfXDpEFNGCMqLyOvYp5p1VpMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDSAAwRQIhAO5lWnsM+gnQ0/WQ78sotMDXqPVRS8I92CorA5kUO90tAiBy
PPtN8XAS1Xw52gInWokEpnNpV6gvlG5mlZ9d9Hajmw==
-----END CERTIFICATE-----
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+/3JlxNtLPEKoxWD
ye3ctfj5w3Y+mtHtpgSt8iLginKhRANCAAQAbmJ/1ifIXfW/2uj/a/umKJ0zdF0j
TePYgoDlVi2ChaG2B0CSacX5qulOjO6M8VvKhJ+rPwoewWVZRRjNVpLA
-----END PRIVATE KEY-----
"""

#: Not any database's greeting: a line of text and bytes that are no valid packet header.
GARBAGE = b"HTTP/1.1 400 Bad Request\r\n\r\n" + bytes(range(256)) * 4


@contextmanager
def listener(fault: str, host: str = "127.0.0.1") -> Iterator[int]:
    """A listener with `fault` on `host`; yields its port, and closes it (and what it holds) after."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, 0))
    port: int = server.getsockname()[1]
    if fault == "closed":
        server.close()  # nothing listens there now: connection refused
        yield port
        return
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return
            if fault == "silent":
                held.append(client)  # kept open, never read, never answered
                continue
            try:
                if fault == "garbage":
                    client.sendall(GARBAGE)
                    client.shutdown(socket.SHUT_WR)
                    held.append(client)
                    continue
            except OSError:
                pass
            client.close()

    thread = threading.Thread(target=serve, name=f"listener-{fault}", daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        server.close()
        for client in held:
            client.close()


@contextmanager
def tls_listener() -> Iterator[int]:
    """A listener that sets up TLS with a certificate nobody trusts, then stays silent."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        pem = Path(folder, "untrusted.pem")
        pem.write_text(_UNTRUSTED)
        context.load_cert_chain(pem)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    port: int = server.getsockname()[1]
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            client.settimeout(5)
            try:
                held.append(context.wrap_socket(client, server_side=True))
            except (OSError, ssl.SSLError):  # the client refused the certificate, as it should
                client.close()

    threading.Thread(target=serve, name="listener-tls", daemon=True).start()
    try:
        yield port
    finally:
        server.close()
        for client in held:
            client.close()
