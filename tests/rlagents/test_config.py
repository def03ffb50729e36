"""Config parsing: --set strings checked against the Config dataclass fields and types."""

from dataclasses import dataclass
from typing import Literal

import pytest

from rlagents.config import build_config, describe_config, field_help, literal_value
from rlagents.errors import ConfigError


@dataclass
class Sample:
    learning_rate: float = 1e-3
    """Adam step size."""
    batch_size: int = 32
    """Transitions per gradient step."""
    double: bool = True
    objective: Literal["clip", "kl"] = "clip"
    net_arch: tuple[int, ...] = (64, 64)
    target_kl: float | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


def test_strings_are_parsed_by_field_type():
    cfg = build_config(
        Sample,
        {
            "learning_rate": "3e-4",
            "batch_size": "1_024",
            "double": "false",
            "objective": "kl",
            "net_arch": "256,256",
            "target_kl": "0.01",
        },
    )
    assert cfg == Sample(3e-4, 1024, False, "kl", (256, 256), 0.01)


def test_python_values_and_none_are_accepted():
    cfg = build_config(Sample, {"batch_size": 8, "net_arch": [32], "target_kl": "none"})
    assert (cfg.batch_size, cfg.net_arch, cfg.target_kl) == (8, (32,), None)


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(ConfigError, match=r"'learning_rat'.*did you mean 'learning_rate'"):
        build_config(Sample, {"learning_rat": "1"})


@pytest.mark.parametrize(
    ("key", "value"),
    [("batch_size", "1.5"), ("batch_size", "many"), ("double", "maybe"), ("objective", "ppo")],
)
def test_wrong_type_names_the_field(key, value):
    with pytest.raises(ConfigError, match=rf"--set {key}={value}: expected"):
        build_config(Sample, {key: value})


def test_post_init_checks_become_config_errors():
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        build_config(Sample, {"batch_size": "0"})


def test_help_comes_from_attribute_docstrings():
    assert field_help(Sample)["learning_rate"] == "Adam step size."
    rows = {name: (kind, default, text) for name, kind, default, text in describe_config(Sample)}
    assert rows["batch_size"] == ("int", 32, "Transitions per gradient step.")
    assert rows["double"][2] == ""


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("false", False),
        ("FALSE", False),
        ("True", True),
        ("null", None),
        ("None", None),
        ("10", 10),
        ("(1, 2)", (1, 2)),
        ("rgb_array", "rgb_array"),
    ],
)
def test_untyped_values_read_yaml_words_and_python_literals(text, value):
    # "false" as the string "false" would be truthy: an option turned off would be on.
    assert literal_value(text) == value and type(literal_value(text)) is type(value)
