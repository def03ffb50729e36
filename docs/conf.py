"""Sphinx configuration of the rlagents site: ``sphinx-build -W -n docs docs/_build``.

Sphinx, not MkDocs: the docstrings are written in reStructuredText with Sphinx's roles
(:class:, :func:, :mod:), which autodoc renders and cross-links, and ``-n -W`` turns every
broken reference, internal link and bad markup into an error. The guides are Markdown (MyST).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

from rlagents.version import __version__  # noqa: E402

project = "rlagents"
author = "the rlagents developers"
release = version = __version__
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "rlagents_docs",
]
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 6  # [text](page.md#a-heading) links are checked too
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
html_theme = "furo"
smartquotes = False  # "--load" in help texts stays two hyphens, not an en dash
html_title = f"rlagents {release}"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_inherit_docstrings = False  # Gymnasium's own docstrings belong to Gymnasium's docs
# Types the signatures name from other libraries: not ours to document.
nitpick_ignore_regex = [
    ("py:class", r"(gym|gymnasium|np|numpy|torch|nn|spaces|ray|pettingzoo|click)\..*"),
    ("py:class", r"(Any|Callable|Iterator|Mapping|Sequence|Path|NDArray|C|T|AgentT|ConfigT)"),
    ("py:class", r"(os\.PathLike|typing\..*|collections\.abc\..*|pathlib\..*|dataclasses\..*)"),
    ("py:class", r"(ObsType|ActType|VectorEnv|optional .*|observation)"),  # numpydoc words
    (
        "py:class",
        r"((wrappers\.\w+\.)?(Bound|Opponent)|wrappers\..*\._\w+)",
    ),  # type aliases, private bases
    # modules the docstrings point into: the source, not pages of this site
    ("py:mod", r"(rlagents|wrappers)\..*"),
]
