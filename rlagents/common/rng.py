"""A numpy Generator's state as plain numbers and strings, so checkpoints (which hold no pickles)
can carry it and a resumed run draws the same random numbers as an uninterrupted one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's state; 128-bit integers (PCG64's) are kept as decimal strings.

    >>> rng = np.random.default_rng(0)
    >>> saved = rng_state(rng)
    >>> a = rng.random()
    >>> set_rng_state(rng, saved)
    >>> rng.random() == a
    True
    """
    state = rng.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": {k: str(v) for k, v in state["state"].items()},
        "has_uint32": int(state.get("has_uint32", 0)),
        "uinteger": int(state.get("uinteger", 0)),
    }


def set_rng_state(rng: np.random.Generator, saved: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned, or a raw ``rng.bit_generator.state`` (which
    older checkpoints hold: the same fields, with integers for the decimal strings).

    >>> rng = np.random.default_rng(0)
    >>> raw = rng.bit_generator.state
    >>> a = rng.random()
    >>> set_rng_state(rng, raw)
    >>> rng.random() == a
    True
    """
    name = saved["bit_generator"]
    if name != rng.bit_generator.state["bit_generator"]:
        raise ValueError(f"saved random state is of a {name}, this generator is another kind")
    rng.bit_generator.state = {
        "bit_generator": name,
        "state": {k: int(v) for k, v in saved["state"].items()},
        "has_uint32": int(saved["has_uint32"]),
        "uinteger": int(saved["uinteger"]),
    }
