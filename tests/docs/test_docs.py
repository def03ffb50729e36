"""The site's Python examples (and the README's) run, page by page, and their `rlrun` command
lines parse.

Each page's ```python blocks run in order in one namespace (as a reader pastes them into one
session), in a fresh directory, with budgets capped: what is checked is that the code works as
written — names, arguments, what it returns — not what it learns (the learning tests do that).
The names the prose assumes the reader has (an env class of their own, a callback) are given.
The site's build itself (``sphinx-build -W -n``: warnings, references and internal links) is a
step of ``.ci/run``.
"""

from __future__ import annotations

import re
import shlex
import sys
import types
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlagents

ROOT = Path(__file__).resolve().parents[2]
SITE = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)
PAGES = [ROOT / "README.md", *SITE]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
MAX_STEPS = 2_000


def blocks(page: Path, language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(page.read_text()) if lang == language]


class MyEnv(gym.Env):
    """The reader's own env in the examples: a corridor of ``size`` cells to walk along."""

    action_space = spaces.Discrete(2)

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cell = self.steps = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.cell, self.steps = max(0, self.cell + (1 if action == 1 else -1)), self.steps + 1
        done = self.cell == self.size - 1
        obs = np.array([self.cell / (self.size - 1)], np.float32)
        return obs, float(done), done, self.steps >= 10 * self.size, {}


class MyCallback(rlagents.Callback):
    pass


def capped_train(train):
    def train_briefly(*args, **kwargs):
        kwargs["steps"] = min(kwargs.get("steps") or MAX_STEPS, MAX_STEPS)
        if kwargs.get("eval_every"):
            kwargs["eval_every"] = min(kwargs["eval_every"], MAX_STEPS // 2)
        kwargs.setdefault("eval_episodes", 2)
        kwargs.setdefault("progress_bar", False)
        return train(*args, **kwargs)

    return train_briefly


def export_a_policy(tmp_path: Path) -> None:
    """What the export guide's shell step made: ``policy.onnx`` of a small Pendulum agent."""
    pytest.importorskip("onnxruntime", reason="the export extra is not installed")
    from rlagents.export import export

    result = rlagents.train(
        "Pendulum-v1", "td3", steps=300, config={"learning_starts": 100}, eval_episodes=0,
        run_dir=tmp_path / "run", tensorboard=False, progress_bar=False,
    )  # fmt: skip
    export(result.checkpoint, tmp_path / "policy.onnx")


SETUP = {"guides/export.md": export_a_policy}
RUNNABLE = [p for p in PAGES if blocks(p, "python")]


def page_name(page: Path) -> str:
    return str(page.relative_to(ROOT / "docs" if "docs" in page.parts else ROOT))


@pytest.mark.parametrize("page", RUNNABLE, ids=page_name)
def test_the_python_examples_of_a_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rlagents, "train", capped_train(rlagents.train))
    name = page_name(page)
    if name in SETUP:
        SETUP[name](tmp_path)
    module = types.ModuleType("docs_example")  # a real module: dataclasses look theirs up
    module.__dict__.update(MyEnv=MyEnv, my_callback=MyCallback())
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for code in blocks(page, "python"):
        exec(compile(code, f"{name} (example)", "exec"), module.__dict__)


def rlrun_lines(page: Path) -> list[list[str]]:
    """The ``rlrun`` command lines of a page's bash blocks, split as a shell would."""
    lines = []
    for code in blocks(page, "bash"):
        for line in code.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if "rlrun" in words:
                    lines.append(words[words.index("rlrun") + 1 :])
    return lines


COMMANDS = [(p, args) for p in PAGES for args in rlrun_lines(p)]


@pytest.mark.parametrize(
    ("page", "args"), COMMANDS, ids=[f"{p.stem}:{' '.join(a)[:60]}" for p, a in COMMANDS]
)
def test_every_rlrun_command_line_on_the_site_parses(page, args):
    """Its command exists, and its flags exist and take the values given (the run is not
    started: parsing stops before the command's body)."""
    import click

    from cli.main import rlrun

    words = [w for w in args if not re.fullmatch(r"<.*>|\.\.\.|…", w)]
    if words and words[0] in rlrun.commands:
        command, rest = rlrun.commands[words[0]], words[1:]
    else:
        command, rest = rlrun.commands["train"], words
    try:
        command.make_context("rlrun", list(rest))
    except click.UsageError as err:
        pytest.fail(f"{page.name}: rlrun {' '.join(args)}: {err.format_message()}")


def test_every_public_name_has_a_reference_entry():
    """What ``import rlagents`` and ``rlagents.run`` offer is named on a reference page (the
    ``wrappers`` and ``rlagents.export`` pages document their whole modules), and every
    built-in agent's Config has its table."""
    from importlib.metadata import entry_points

    import rlagents.run

    reference = "".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    for module in (rlagents, rlagents.run):
        missing = [n for n in module.__all__ if not re.search(rf"\b{n}\b", reference)]
        assert not missing, f"{module.__name__}: {missing} have no reference entry"
    assert ".. automodule:: wrappers" in reference
    assert ".. automodule:: rlagents.export" in reference
    built_in = [
        e for e in entry_points(group="rlagents.agents") if e.module.startswith("rlagents.")
    ]
    configs = (ROOT / "docs" / "reference" / "configs.md").read_text()
    missing = [e.name for e in built_in if f"## `{e.name}`" not in configs]
    assert not missing, f"no Config table for {missing}"


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text))


def test_the_peer_comparisons_on_the_site_are_the_recorded_ones():
    """Each row of ``benchmarks/peers.csv`` (the site's table and chart of the comparisons with
    SB3 and sb3-contrib) names a RESULTS.md section that holds its two figures, and its ratio is
    theirs."""
    import csv

    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    with (ROOT / "benchmarks" / "peers.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:
        start = results.index(f"### {row['section']}\n")
        end = results.find("\n### ", start + 1)
        section = results[start : end if end > 0 else None]
        for figure in (row["ours"], row["peer"]):
            assert figure in section, f"{figure!r} is not in '{row['section']}'"
        ratio = _number(row["ratio"])
        assert ratio == pytest.approx(_number(row["ours"]) / _number(row["peer"]), rel=0.015), row
        assert row["kind"] in ("rate", "time")
