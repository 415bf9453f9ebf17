"""Frozen records copied with changes, cheaply.

`dataclasses.replace` builds the copy through the class's `__init__`, which on a frozen
dataclass sets every field through `object.__setattr__`: about 20 µs for the dialogue's
thirteen-field state, and a turn makes several copies. A frozen dataclass without
`__post_init__` or `__slots__` is its `__dict__`, so its copy is that dict with the changes.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

T = TypeVar("T")


def copied(record: T, changes: dict[str, Any]) -> T:
    """`record` with `changes`, as `dataclasses.replace(record, **changes)` would give it.

    >>> @dataclasses.dataclass(frozen=True)
    ... class Point:
    ...     x: int
    ...     y: int = 0
    >>> copied(Point(1, 2), {"y": 5})
    Point(x=1, y=5)
    >>> copied(Point(1), {"z": 5})
    Traceback (most recent call last):
    TypeError: Point has no field z
    """
    kind: type = type(record)
    unknown = changes.keys() - _fields(kind)
    if unknown:
        raise TypeError(f"{kind.__name__} has no field {', '.join(sorted(unknown))}")
    new: T = object.__new__(kind)
    attrs = new.__dict__
    attrs.update(record.__dict__)
    attrs.update(changes)
    return new


@functools.cache
def _fields(cls: type) -> frozenset[str]:
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__}: only a dataclass without __post_init__ or __slots__ can be copied so")
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init)
