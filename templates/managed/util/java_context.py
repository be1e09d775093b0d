"""Execution contexts in the two forms Spring Batch stores them, so SCDF can read them back.

Spring Batch 4.3 (the `BATCH_` tables) stores a context as Jackson JSON with class hints;
Spring Batch 5 (`BOOT3_BATCH_`) as Base64 of a Java-serialised `java.util.HashMap`. SCDF 2.11's
reader tries the JSON first and then the Base64 form. Only the value types that need no class
of their own on the server are written: text, whole numbers (as `java.lang.Long`), decimals
(`java.lang.Double`) and booleans.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Mapping
from typing import ClassVar

ContextValue = str | int | float | bool

#: The stream header, then the class descriptors of the types written (JDK 17 values).
_MAGIC = b"\xac\xed\x00\x05"
_TC_NULL, _TC_REFERENCE, _TC_CLASSDESC, _TC_OBJECT, _TC_STRING = 0x70, 0x71, 0x72, 0x73, 0x74
_TC_BLOCKDATA, _TC_ENDBLOCKDATA = 0x77, 0x78
_BASE_HANDLE = 0x7E0000
_SERIALIZABLE, _WRITE_METHOD = 0x02, 0x01


class ContextError(ValueError):
    """A context value of a type Spring Batch could not read back."""


def check_value(key: str, value: object) -> ContextValue:
    if isinstance(value, (str, bool, int, float)):
        return value
    raise ContextError(
        f"Context value {key!r} is a {type(value).__name__}: use text, a whole number, a decimal or a bool"
    )


def to_json(context: Mapping[str, ContextValue]) -> str:
    """Spring Batch 4.3's Jackson form: `{"@class":"java.util.HashMap","n":["java.lang.Long",5]}`."""
    entries: dict[str, object] = {"@class": "java.util.HashMap"}
    for key, value in context.items():
        check_value(key, value)
        # Jackson writes Long with its class (a bare number reads back as Integer); the rest bare.
        entries[key] = (
            ["java.lang.Long", value] if isinstance(value, int) and not isinstance(value, bool) else value
        )
    return json.dumps(entries, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str) -> dict[str, ContextValue]:
    """The entries of a 4.3 context this module (or Spring Batch, for these types) wrote."""
    found: dict[str, ContextValue] = {}
    for key, value in json.loads(text).items():
        if key == "@class":
            continue
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
            value = value[1]
        if isinstance(value, (str, bool, int, float)):
            found[key] = value
    return found


def to_java_base64(context: Mapping[str, ContextValue]) -> str:
    """Spring Batch 5's form: Base64 of `ObjectOutputStream.writeObject(new HashMap<>(...))`."""
    for key, value in context.items():
        check_value(key, value)
    return base64.b64encode(_JavaStream().hash_map(dict(context))).decode("ascii")


def java_string_hash(text: str) -> int:
    """`String.hashCode()`: over UTF-16 code units, in 32-bit arithmetic."""
    units = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return h


def _modified_utf8(text: str) -> bytes:
    """Java's modified UTF-8: UTF-16 units, NUL as two bytes, each surrogate as three."""
    out = bytearray()
    units = text.encode("utf-16-be")
    for i in range(0, len(units), 2):
        unit = units[i] << 8 | units[i + 1]
        if 0 < unit < 0x80:
            out.append(unit)
        elif unit < 0x800:
            out += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            out += bytes((0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F))
    if len(out) > 0xFFFF:
        raise ContextError("A context text is longer than Java serialisation's short string (65535 bytes)")
    return bytes(out)


def _utf(text: str) -> bytes:
    encoded = _modified_utf8(text)
    return struct.pack(">H", len(encoded)) + encoded


class _JavaStream:
    """Writes the few object kinds a context holds, with the handles Java assigns them."""

    # (class name, serialVersionUID, flags, fields as (type code, name), superclass)
    _CLASSES: ClassVar[dict[str, tuple[int, int, tuple[tuple[str, str], ...], str | None]]] = {
        "java.util.HashMap": (
            0x0507DAC1C31660D1,
            _SERIALIZABLE | _WRITE_METHOD,
            (("F", "loadFactor"), ("I", "threshold")),
            None,
        ),
        "java.lang.Number": (-0x79536AE2F46B1F75, _SERIALIZABLE, (), None),
        "java.lang.Long": (0x3B8BE490CC8F23DF, _SERIALIZABLE, (("J", "value"),), "java.lang.Number"),
        "java.lang.Double": (-0x7F4C3DB5D69404FC, _SERIALIZABLE, (("D", "value"),), "java.lang.Number"),
        "java.lang.Boolean": (-0x32DF8D7F2A630512, _SERIALIZABLE, (("Z", "value"),), None),
    }

    def __init__(self) -> None:
        self._out = bytearray(_MAGIC)
        self._next_handle = _BASE_HANDLE
        self._class_handles: dict[str, int] = {}

    def _handle(self) -> int:
        handle = self._next_handle
        self._next_handle += 1
        return handle

    def _class_desc(self, name: str | None) -> None:
        if name is None:
            self._out.append(_TC_NULL)
            return
        if name in self._class_handles:
            self._out.append(_TC_REFERENCE)
            self._out += struct.pack(">I", self._class_handles[name])
            return
        uid, flags, fields, superclass = self._CLASSES[name]
        self._out.append(_TC_CLASSDESC)
        self._out += _utf(name) + struct.pack(">q", uid) + bytes((flags,)) + struct.pack(">H", len(fields))
        self._class_handles[name] = self._handle()
        for code, field_name in fields:
            self._out += code.encode() + _utf(field_name)
        self._out.append(_TC_ENDBLOCKDATA)  # no class annotation
        self._class_desc(superclass)

    def _object(self, name: str) -> None:
        self._out.append(_TC_OBJECT)
        self._class_desc(name)
        self._handle()

    def _value(self, value: ContextValue) -> None:
        if isinstance(value, str):
            self._out.append(_TC_STRING)
            self._handle()
            self._out += _utf(value)
        elif isinstance(value, bool):
            self._object("java.lang.Boolean")
            self._out.append(1 if value else 0)
        elif isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                raise ContextError(f"{value} does not fit a java.lang.Long")
            self._object("java.lang.Long")
            self._out += struct.pack(">q", value)
        else:
            self._object("java.lang.Double")
            self._out += struct.pack(">d", value)

    def hash_map(self, entries: dict[str, ContextValue]) -> bytes:
        # As a HashMap filled by put(): 16 buckets, doubled whenever the size passes 3/4 of them.
        capacity = 16
        while len(entries) > capacity * 3 // 4:
            capacity *= 2
        threshold = capacity * 3 // 4 if entries else 0
        self._object("java.util.HashMap")
        self._out += struct.pack(">fi", 0.75, threshold)
        self._out += bytes((_TC_BLOCKDATA, 8)) + struct.pack(">ii", capacity, len(entries))
        # writeObject walks the buckets in order; keys in one bucket in the order they were put.
        for key in sorted(entries, key=lambda k: _bucket(k, capacity)):
            self._value(key)
            self._value(entries[key])
        self._out.append(_TC_ENDBLOCKDATA)
        return bytes(self._out)


def _bucket(key: str, capacity: int) -> int:
    h = java_string_hash(key)
    return (h ^ (h >> 16)) & (capacity - 1)
