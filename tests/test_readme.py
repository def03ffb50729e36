"""The README's plugin example is real code: it runs under rlrun and stays under 40 lines."""

import re
from pathlib import Path

from rlagents_test_plugin.runner import run_summary

README = Path(__file__).resolve().parents[1] / "README.md"


def _plugin_blocks() -> tuple[str, str]:
    text = README.read_text()
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


def test_the_option_table_is_the_options_declarations():
    """The README's option table and ``rlrun --help`` come from one declaration each."""
    from cli.options import markdown_table

    text = README.read_text()
    begin = text.index("<!-- options:")
    table = text[text.index("\n", begin) + 1 : text.index("<!-- /options -->")]
    assert table.strip() == markdown_table().strip(), "run `python -m cli.options` into README"
