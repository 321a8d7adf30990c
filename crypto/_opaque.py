"""A base for objects that hold key material."""

from __future__ import annotations

from typing import NoReturn


class Unpicklable:
    """Pickling or copying fails: key material must not leave the process by accident."""

    __slots__ = ()

    def _refuse_pickle(self, *args: object) -> NoReturn:
        raise TypeError(f"{type(self).__name__} objects cannot be pickled or copied")

    __reduce__ = _refuse_pickle
    __reduce_ex__ = _refuse_pickle
    __getstate__ = _refuse_pickle
