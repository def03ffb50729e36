"""Config parsing: --set strings checked against the Config dataclass fields and types; the
checks of a Config made in Python; the shared torch fields."""

from dataclasses import dataclass
from typing import ClassVar, Literal

import pytest

import rlagents
from rlagents.common.torch_utils import TorchCNNConfig, TorchConfig
from rlagents.config import (
    AgentConfig,
    Rule,
    build_config,
    config_to_dict,
    describe_config,
    field_error,
    field_help,
    literal_value,
)
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
    with pytest.raises(ConfigError, match=rf"^{key} must be .*, got '{value}' \(Sample\)$") as err:
        build_config(Sample, {key: value})
    assert err.value.field == key  # for the command line to say how to set it


def test_post_init_checks_become_config_errors():
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        build_config(Sample, {"batch_size": "0"})


def test_a_plain_dataclass_has_its_given_values_checked_by_build_config():
    # A plugin's Config need not derive from AgentConfig: build_config checks what it is given.
    with pytest.raises(ConfigError, match=r"^learning_rate must be > 0, got -1.0 \(Sample\)$"):
        build_config(Sample, {"learning_rate": "-1"})
    with pytest.raises(ConfigError, match=r"^target_kl must be a finite number, got inf .*None"):
        build_config(Sample, {"target_kl": "inf"})


@dataclass
class Checked(AgentConfig):
    learning_rate: float = 1e-3
    """Adam step size."""
    window: int = 4
    """An own field with an own rule."""
    horizon: int = 8

    range_rules: ClassVar = {"window": Rule(lambda v: v % 2 == 0, "even")}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window > self.horizon:
            raise field_error(self, "window", f"must be <= horizon ({self.horizon})")


def test_an_agent_config_checks_itself_when_made():
    with pytest.raises(ConfigError, match=r"^learning_rate must be > 0, got 0 \(Checked\)$"):
        Checked(learning_rate=0)
    with pytest.raises(ConfigError, match=r"^window must be even, got 3 \(Checked\)$"):
        build_config(Checked, {"window": "3"})
    with pytest.raises(ConfigError, match=r"^window must be <= horizon \(8\) \(Checked\)$") as err:
        build_config(Checked, {"window": "10"})
    assert err.value.field == "window"


def test_torch_fields_are_declared_once_and_shown_after_the_agents_own():
    for agent in ("dqn", "ddpg", "td3", "lstm_td3", "reinforce", "a2c", "a3c", "ppo", "trpo"):
        config_cls = rlagents.load(agent).Config
        assert issubclass(config_cls, TorchCNNConfig), agent
        names = [row[0] for row in describe_config(config_cls)]
        assert names[-3:] == ["device", "num_threads", "cnn_precision"], agent
        assert list(config_to_dict(config_cls())) == names
        assert field_help(config_cls)["device"] == field_help(TorchConfig)["device"]
    cem = rlagents.load("cem").Config  # no CNN precision to apply: the device and threads only
    assert issubclass(cem, TorchConfig) and not issubclass(cem, TorchCNNConfig)
    assert [row[0] for row in describe_config(cem)][-2:] == ["device", "num_threads"]


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
