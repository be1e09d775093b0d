"""TCP listeners on the loopback that misbehave the way a database host can, for the driver tests.

Each is what a client meets when the server is not what it should be: a port with nothing on it
(server down), a listener that accepts and never answers (a hung server, a black-holing
firewall), one that accepts and closes at once (a proxy with no backend), and one that answers
with bytes no database sends (a wrong port). `handshake_listener` plays a database's part up to
its TLS handshake, then drops the connection there (a server restarting, a proxy failing over) or
shows a certificate nobody trusts (a real misconfiguration). `postgresql_session` lets a
PostgreSQL client in and then stays silent (a server hung after the login).
"""

from __future__ import annotations

import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
def _serving(
    server: socket.socket, held: list[socket.socket], serve: Callable[[], None], name: str
) -> Iterator[None]:
    """Runs `serve` in a thread of its own; on leaving, closes the server and every client held."""
    threading.Thread(target=serve, name=name, daemon=True).start()
    try:
        yield
    finally:
        server.close()
        for client in held:
            client.close()


def _untrusted_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        pem = Path(folder, "untrusted.pem")
        pem.write_text(_UNTRUSTED)
        context.load_cert_chain(pem)
    return context


@contextmanager
def tls_listener() -> Iterator[int]:
    """A listener that sets up TLS with a certificate nobody trusts, then stays silent."""
    context = _untrusted_context()
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

    with _serving(server, held, serve, "listener-tls"):
        yield port


def _receive(client: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes from `client`; fewer only when it closed first."""
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _postgresql(client: socket.socket) -> None:
    # The client may ask for GSSAPI encryption first (libpq's gssencmode=prefer): refused with
    # 'N', then its SSLRequest is accepted with 'S': TLS starts next.
    while True:
        _, code = struct.unpack("!II", _receive(client, 8))
        if code == 80877104:  # GSSENCRequest
            client.sendall(b"N")
            continue
        if code != 80877103:  # not an SSLRequest: a client that does not ask for TLS
            raise ConnectionError("no SSLRequest")
        client.sendall(b"S")
        return


#: CLIENT_LONG_PASSWORD, CONNECT_WITH_DB, PROTOCOL_41, SSL, TRANSACTIONS, SECURE_CONNECTION,
#: PLUGIN_AUTH: what a MySQL 8 or MariaDB server offers that matters to the client's next step.
_MYSQL_CAPABILITIES = 0x1 | 0x8 | 0x200 | 0x800 | 0x2000 | 0x8000 | 0x80000


def _mysql(client: socket.socket) -> None:
    # The server speaks first: a protocol 10 greeting that offers TLS (the SSL capability).
    salt = b"0123456789abcdefghij"
    greeting = (
        b"\x0a8.0.40-listener\x00"
        + struct.pack("<I", 1)
        + salt[:8]
        + b"\x00"
        + struct.pack("<H", _MYSQL_CAPABILITIES & 0xFFFF)
        + b"\x2d"  # utf8mb4_general_ci
        + struct.pack("<H", 2)  # SERVER_STATUS_AUTOCOMMIT
        + struct.pack("<H", _MYSQL_CAPABILITIES >> 16)
        + bytes([len(salt) + 1])
        + bytes(10)
        + salt[8:]
        + b"\x00mysql_native_password\x00"
    )
    client.sendall(struct.pack("<I", len(greeting))[:3] + b"\x00" + greeting)
    # The client's SSL request: a 32-byte packet asking to switch to TLS.
    header = _receive(client, 4)
    _receive(client, int.from_bytes(header[:3], "little"))


def _sqlserver(client: socket.socket) -> None:
    # TDS pre-login: the client's PRELOGIN packet, answered with encryption on; the TLS
    # handshake follows inside PRELOGIN packets.
    header = _receive(client, 8)
    _receive(client, struct.unpack("!H", header[2:4])[0] - 8)
    options = [(0x00, bytes([16, 0, 0x07, 0xD0, 0, 0])), (0x01, b"\x01"), (0x02, b"\x00")]
    offset = 5 * len(options) + 1
    tokens, data = b"", b""
    for token, value in options:
        tokens += struct.pack("!BHH", token, offset + len(data), len(value))
        data += value
    payload = tokens + b"\xff" + data
    client.sendall(struct.pack("!BBHHBB", 0x04, 0x01, 8 + len(payload), 0, 1, 0) + payload)


def _tls_first(client: socket.socket) -> None:
    pass  # Oracle's TCPS and Db2's TLS port start with the TLS handshake itself


#: What each protocol exchanges before its TLS handshake, server side.
PRELUDES: dict[str, Callable[[socket.socket], None]] = {
    "postgresql": _postgresql,
    "mysql": _mysql,
    "sqlserver": _sqlserver,
    "oracle": _tls_first,
    "db2": _tls_first,
}
#: What the listener does at the handshake: close after the client's first TLS record (FIN),
#: reset there (RST), or answer with a certificate nobody trusts and stay silent after.
HANDSHAKE_ENDS = ("closes", "resets", "untrusted")


@dataclass
class Handshakes:
    """A handshake listener's port, and what it saw."""

    port: int
    #: Connections accepted.
    connections: int = 0
    #: Connections that got as far as the client's first TLS record (its ClientHello).
    hellos: int = 0


@contextmanager
def handshake_listener(protocol: str, end: str, host: str = "127.0.0.1") -> Iterator[Handshakes]:
    """A listener that plays `protocol`'s part up to its TLS handshake, which it `end`s."""
    if end not in HANDSHAKE_ENDS:
        raise ValueError(f"unknown handshake end {end!r}")
    prelude = PRELUDES[protocol]
    context = _untrusted_context()
    server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, 0))
    server.listen(64)
    seen = Handshakes(server.getsockname()[1])
    held: list[socket.socket] = []

    def handle(client: socket.socket) -> None:
        client.settimeout(10)
        try:
            prelude(client)
            # A TLS handshake record (0x16, version 3.x), bare or after a TDS packet header.
            if b"\x16\x03" in client.recv(16, socket.MSG_PEEK):
                seen.hellos += 1
            if end == "untrusted":
                # TDS wraps its TLS records in pre-login packets: not this listener's business.
                held.append(context.wrap_socket(client, server_side=True))
                return
            client.recv(65536)
            if end == "resets":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, ssl.SSLError, struct.error):
            pass  # the client gave up first, or refused the certificate, as it should
        client.close()

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            seen.connections += 1
            threading.Thread(target=handle, args=(client,), name="handshake", daemon=True).start()

    with _serving(server, held, serve, f"listener-{protocol}-{end}"):
        yield seen


def _pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


@contextmanager
def postgresql_session() -> Iterator[int]:
    """A listener that lets any PostgreSQL client in without TLS or password, then stays silent.

    What a driver meets when the server hangs after the login: the connection is open, and every
    statement on it waits.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    port: int = server.getsockname()[1]
    held: list[socket.socket] = []
    parameters = {
        b"server_version": b"16.0",
        b"client_encoding": b"UTF8",
        b"standard_conforming_strings": b"on",
    }
    welcome = (
        _pg_message(b"R", struct.pack("!I", 0))  # AuthenticationOk
        + b"".join(_pg_message(b"S", name + b"\x00" + value + b"\x00") for name, value in parameters.items())
        + _pg_message(b"K", struct.pack("!II", 1, 2))  # BackendKeyData
        + _pg_message(b"Z", b"I")  # ReadyForQuery, idle
    )

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            held.append(client)
            try:
                client.settimeout(10)
                while True:
                    length, code = struct.unpack("!II", _receive(client, 8))
                    if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: no
                        client.sendall(b"N")
                        continue
                    _receive(client, length - 8)  # the start-up packet's parameters
                    client.sendall(welcome)
                    break
            except (OSError, struct.error):
                client.close()

    with _serving(server, held, serve, "listener-postgresql-session"):
        yield port
