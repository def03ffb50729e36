"""Directives that write the site's tables from the code, so that they cannot disagree with it:

* ``rlagents-config`` — a ``Config`` class's fields: name, type, default and the field's
  docstring (what ``rlrun --show-config`` prints);
* ``rlagents-tuned`` — an agent's tuned sets (``Agent.hyperparams``): the env (or preset) and
  the values it changes;
* ``rlagents-options`` — every run option: its ``rlrun`` flag, help and details.
"""

from __future__ import annotations

import importlib
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


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("rlagents-config", ConfigTable)
    app.add_directive("rlagents-tuned", TunedTable)
    app.add_directive("rlagents-options", OptionTable)
    return {"parallel_read_safe": True, "version": "1"}
