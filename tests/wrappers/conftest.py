"""Make the repository's top-level ``wrappers`` package importable in these tests.

pytest runs with ``--import-mode=importlib``, which does not put the repository root on
``sys.path``, and an editable install made before ``wrappers/__init__.py`` existed does not
map the package. Putting the checkout first keeps these tests independent of that.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
