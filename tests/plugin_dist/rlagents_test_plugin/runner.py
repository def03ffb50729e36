"""The one way the test suite drives ``rlrun`` in-process: :func:`invoke`, and
:func:`run_summary` for a run that must succeed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from cli.main import rlrun


def invoke(*args: Any, run_dir: Path | None = None) -> Result:
    """``rlrun ARGS`` with ``--run-dir RUN_DIR --quiet`` added when ``run_dir`` is given."""
    argv = [str(a) for a in args]
    if run_dir is not None:
        argv += ["--run-dir", str(run_dir), "--quiet"]
    return CliRunner().invoke(rlrun, argv, catch_exceptions=True)


def run_summary(tmp_path: Path, *args: Any, name: str = "run") -> dict:
    """Run ``rlrun`` into ``tmp_path/name``; assert it succeeded; return its summary.json."""
    run_dir = tmp_path / name
    result = invoke(*args, run_dir=run_dir)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads((run_dir / "summary.json").read_text())
