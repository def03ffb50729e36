import json
from pathlib import Path

import pytest
from rlagents_test_plugin.runner import invoke


class Result:
    def __init__(self, click_result, run_dir: Path):
        self.exit_code = click_result.exit_code
        self.stdout = click_result.stdout
        self.stderr = click_result.stderr
        self.exception = click_result.exception
        self.run_dir = run_dir

    @property
    def summary(self) -> dict:
        return json.loads((self.run_dir / "summary.json").read_text())


@pytest.fixture
def run_cli(tmp_path):
    """Invoke rlrun in-process; unless given, --run-dir is a fresh directory under tmp_path."""
    counter = iter(range(1000))

    def run(*args: str) -> Result:
        args_list = [str(a) for a in args]
        if args_list and args_list[0] == "plot":  # not a run: no run dir, no progress bar
            return Result(invoke(*args_list), tmp_path)
        if "--run-dir" not in args_list:
            run_dir = tmp_path / f"run{next(counter)}"
            return Result(invoke(*args_list, run_dir=run_dir), run_dir)
        run_dir = Path(args_list[args_list.index("--run-dir") + 1])
        return Result(invoke(*args_list, "--quiet"), run_dir)

    return run
