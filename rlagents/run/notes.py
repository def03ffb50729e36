"""A run's notes and warnings to its user (a resumed run starting new episodes, an option it
overrode): records of the ``rlagents.run`` logger, which ``rlrun`` prints as ``rlrun: ...``.

A note may name run options (:func:`rlagents.errors.option`); the record's message names them as
a Python user passes them, and its ``template`` keeps the marks so that ``rlrun`` can name its
flags instead.
"""

from __future__ import annotations

import logging

from rlagents.errors import render

log = logging.getLogger("rlagents.run")


def note(text: str) -> None:
    """Tell the user ``text`` (``"note: ..."`` or ``"warning: ..."``)."""
    log.warning(render(text), extra={"template": text})
