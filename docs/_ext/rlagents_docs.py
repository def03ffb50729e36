"""Directives that write the site's tables from the code, so that they cannot disagree with it:

* ``rlagents-config`` — a ``Config`` class's fields: name, type, default and the field's
  docstring (what ``rlrun --show-config`` prints);
* ``rlagents-tuned`` — an agent's tuned sets (``Agent.hyperparams``): the env (or preset) and
  the values it changes;
* ``rlagents-options`` — every run option: its ``rlrun`` flag, help and details;
* ``rlagents-peers`` — the side-by-side comparisons with the peer libraries indexed in
  ``benchmarks/peers.csv`` (each row's figures are checked against its ``RESULTS.md`` section by
  the tests), as a table and a chart drawn when the site is built.
"""

from __future__ import annotations

import csv
import importlib
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

from rlagents.config import describe_config


def _load(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _cell(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return f"`{text}`" if text else ""


def _table(directive: Directive, header: list[str], rows: list[list[str]]) -> list[nodes.Node]:
    """A Markdown table, parsed where the directive stands (the site's pages are MyST)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return _parse(directive, lines)


def _parse(directive: Directive, lines: list[str]) -> list[nodes.Node]:
    container = nodes.container()
    directive.state.nested_parse(StringList(lines), directive.content_offset, container)
    return list(container.children)


class ConfigTable(Directive):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        config_cls = _load(self.arguments[0])
        rows = [
            [f"`{name}`", f"`{kind}`", _cell(default), " ".join(help_text.split()) or " "]
            for name, kind, default, help_text in describe_config(config_cls)
        ]
        return _table(self, ["field", "type", "default", "meaning"], rows)


class OptionTable(Directive):
    """Every run option: its ``rlrun`` flag, help and details (``cli.options``)."""

    def run(self) -> list[nodes.Node]:
        from cli.options import markdown_table

        return _parse(self, markdown_table().splitlines())


class TunedTable(Directive):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        agent_cls = _load(self.arguments[0])
        rows = []
        for key, values in agent_cls.hyperparams.items():
            shown = ", ".join(f"`{k}={v!r}`" for k, v in values.items())
            rows.append([f"`{key}`", shown or " "])
        if not rows:
            para = nodes.paragraph(text="This agent has no tuned sets: its defaults are used.")
            return [para]
        return _table(self, ["env id or preset", "values"], rows)


PEERS = Path(__file__).resolve().parents[2] / "benchmarks" / "peers.csv"
PEERS_CHART = "_generated/peers.png"  # under the site's source directory, not committed


def read_peers() -> list[dict[str, str]]:
    with PEERS.open(newline="") as f:
        return list(csv.DictReader(f))


def advantage(row: dict[str, str]) -> float:
    """How many times better than the peer: ours/peer for a rate, peer/ours for a time."""
    ratio = float(row["ratio"].rstrip("×"))
    return ratio if row["kind"] == "rate" else 1.0 / ratio


def draw_peers_chart(app: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_peers()
    labels = [f"{r['agent']} on {r['env']} vs {r['peer_library']}\n{r['measure']}" for r in rows]
    values = [advantage(r) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(rows) + 1.2))
    ax.barh(range(len(rows)), values, color=["#3b7dd8" if v >= 1 else "#d8763b" for v in values])
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2f}×", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), labels, fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.15)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlabel("times better than the peer (a rate: ours / peer; a time: peer / ours)")
    fig.tight_layout()
    out = Path(app.srcdir) / PEERS_CHART
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


class PeersTable(Directive):
    def run(self) -> list[nodes.Node]:
        rows = [
            [f"`{r['agent']}`", r["env"], r["measure"], r["ours"], r["peer"],
             r["peer_library"], r["ratio"], f"{advantage(r):.2f}×", r["section"]]
            for r in read_peers()
        ]  # fmt: skip
        header = ["agent", "env", "measure", "ours", "peer", "peer", "ratio", "better by",
                  "RESULTS.md section"]  # fmt: skip
        chart = _parse(self, [f"![The comparisons as a chart](/{PEERS_CHART})"])
        return chart + _table(self, header, rows)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("rlagents-config", ConfigTable)
    app.add_directive("rlagents-tuned", TunedTable)
    app.add_directive("rlagents-options", OptionTable)
    app.add_directive("rlagents-peers", PeersTable)
    app.connect("builder-inited", draw_peers_chart)
    return {"parallel_read_safe": True, "version": "1"}
