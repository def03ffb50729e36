"""``rlrun``'s run flags, derived from the run options' one declaration
(:class:`rlagents.run.options.RunOptions`): click parses a flag's text, the run checks its value.

``python -m cli.options`` prints the README's option table from the same declarations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import click

from rlagents.config import literal_value
from rlagents.errors import ConfigError, RLAgentsError, option, render
from rlagents.run.options import Option, RunOptions, run_option_specs

SPECS = run_option_specs()
FIELD_TYPES = {f.name: str(f.type) for f in dataclasses.fields(RunOptions)}


HELP = {"help_option_names": ["-h", "--help"]}  # every rlrun command takes -h


def flag_name(name: str, value: str = "") -> str:
    """How ``rlrun`` spells a run option (``--env``, ``--no-tensorboard``)."""
    spec = SPECS.get(name)
    return spec.cli_flag(name) if spec else "--" + name.replace("_", "-")


def message(err: RLAgentsError) -> str:
    """An error as ``rlrun`` prints it: options as flags, and where a ``Config`` field's value
    was wrong, how to set it."""
    text = err.render(flag_name)
    field = getattr(err, "field", None)
    if field and "--set" not in text:
        text += f"; set it with --set {field}=VALUE"
    return text


def note_text(template: str) -> str:
    """A run's note as ``rlrun`` prints it."""
    return render(template, flag_name)


def run_option(name: str, **overrides: Any) -> Callable[[Callable], Callable]:
    """The click option of run option ``name``; ``overrides`` replace click settings (a
    command whose default differs, say)."""
    spec = SPECS[name]
    settings: dict[str, Any] = {"help": _help(spec), "metavar": spec.metavar}
    annotation = FIELD_TYPES[name]
    if spec.kind == "flag":
        settings = {"help": spec.help, "is_flag": True}
    elif spec.kind == "pairs":
        settings["multiple"] = True
    elif spec.choices:  # checked by the run, as every value
        settings["metavar"] = "|".join(spec.choices)
    elif spec.kind == "path":
        settings["type"] = click.Path(file_okay=False) if name != "load" else click.Path()
    elif annotation.startswith("int"):
        settings["type"] = int
    elif annotation.startswith("float"):
        settings["type"] = float
    default = getattr(RunOptions(), name)
    if spec.kind not in ("flag", "pairs") and default is not None:
        settings["default"] = default
        settings["show_default"] = True
    settings.update(overrides)
    return click.option(spec.cli_flag(name), name, **settings)


def run_options(names: list[str] | None = None) -> Callable[[Callable], Callable]:
    """Every run option (or ``names``) as click options, in declaration order."""
    chosen = list(SPECS) if names is None else names

    def decorate(command: Callable) -> Callable:
        for name in reversed(chosen):
            command = run_option(name)(command)
        return command

    return decorate


def options_from_flags(values: Mapping[str, Any]) -> RunOptions:
    """The :class:`RunOptions` of parsed flags (KEY=VALUE pairs into mappings; an inverted
    flag into its option's value); the run checks them."""
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        spec = SPECS[name]
        if spec.kind == "pairs":
            value = parse_pairs(value, name, literal=name != "config")
        elif spec.inverted:
            value = not value
        kwargs[name] = value
    return RunOptions(**kwargs)


def parse_pairs(pairs: tuple[str, ...], name: str, *, literal: bool) -> dict[str, Any]:
    """``("a=1", "b=x")`` → ``{"a": 1, "b": "x"}`` (values as Python literals where
    ``literal``, else the text, which a Config field's type parses); a pair without ``=`` is an
    error."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option(name)} expects key=value, got {pair!r}")
        parsed[key.strip()] = literal_value(text.strip()) if literal else text.strip()
    return parsed


def _help(spec: Option) -> str:
    if spec.default_text:
        return f"{spec.help} [default: {spec.default_text}]"
    return spec.help


def markdown_table() -> str:
    """The README's option table: every run option, its flag, help and details."""
    rows = ["| option | what it does |", "|---|---|"]
    for name, spec in SPECS.items():
        metavar = spec.metavar or "|".join(spec.choices)
        flag = spec.cli_flag(name) + (f" {metavar}" if metavar else "")
        text = _help(spec).replace("|", "\\|")
        if spec.details:
            text += " " + spec.details.replace("|", "\\|")
        rows.append(f"| `{flag}` | {text} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
