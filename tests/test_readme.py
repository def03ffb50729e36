"""The README is the front door: short, its Python example runs, and its links reach the site's
pages; the plugin guide's example is real code that runs under rlrun and stays under 40 lines."""

import re
from pathlib import Path

from rlagents_test_plugin.runner import run_summary

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PLUGINS = ROOT / "docs" / "guides" / "plugins.md"


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if not link.startswith("http")]
    assert "docs/getting-started.md" in local and "docs/algorithms/index.md" in local
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing
    assert "sphinx-build -W -n docs docs/_build/html" in text  # the site's one command


def _plugin_blocks() -> tuple[str, str]:
    text = PLUGINS.read_text()
    section = text[text.index("A complete plugin") :]
    python = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    return python, toml


def test_plugin_example_is_short():
    python, toml = _plugin_blocks()
    assert len(python.splitlines()) + len(toml.splitlines()) < 40


def test_plugin_example_runs(tmp_path, monkeypatch):
    python, toml = _plugin_blocks()
    assert 'left-biased = "mypkg.greedy:LeftBiased"' in toml
    (tmp_path / "readme_plugin.py").write_text(python)
    monkeypatch.syspath_prepend(str(tmp_path))
    summary = run_summary(
        tmp_path,
        *("--env", "CartPole-v1", "--agent", "readme_plugin:LeftBiased"),
        *("--set", "epsilon=0.2", "--steps", "500"),
    )
    assert summary["steps"] == 500
