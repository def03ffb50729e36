"""Test support shared by the agent tests: drive rlrun in-process and read its summary."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import rlrun


def run_summary(tmp_path: Path, *args: str) -> dict:
    """Run ``rlrun`` in-process into ``tmp_path/run``; assert it succeeded; return summary.json."""
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(rlrun, [*args, "--run-dir", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads((run_dir / "summary.json").read_text())
