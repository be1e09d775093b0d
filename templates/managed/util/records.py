"""Value classes for the modules every launch imports, written without `dataclasses`.

Every SCDF launch pays for what the task imports before its first write. `dataclasses` loads
`inspect` (and with it `ast` and `dis`) and generates and compiles each decorated class's
methods when the class is created: for the dozen classes a launch loads, about a tenth of a
MariaDB launch's CPU time (generator-scdf-task's `npm run bench:task`). A record lists its fields
in `_fields` (and, unless it must take attributes of a caller's own, in `__slots__`) and sets them
in its own `__init__`; this base gives it what `@dataclass` did: equality by fields between
records of one class, a repr that leaves the `_hidden` fields out (a password), and for a
`FrozenRecord` fields that cannot be set again and a hash of them.
"""

from __future__ import annotations

from typing import ClassVar


class Record:
    """A value class: equal to a record of the same class with equal fields; not hashable."""

    __slots__ = ()
    #: The fields, in order: what equality, hashing and repr() go by.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Fields repr() leaves out: secrets, or values whose own repr says too much.
    _hidden: ClassVar[frozenset[str]] = frozenset()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, Record):
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self._fields if name not in self._hidden
        )
        return f"{type(self).__qualname__}({shown})"


class FrozenRecord(Record):
    """A record whose fields are set once, by its `__init__`, and hashable by them."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):  # set already (or a method): the record does not change
            raise AttributeError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._values())
