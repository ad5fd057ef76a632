"""The registry: lookup, registration conflicts and the one build path."""

from __future__ import annotations

import pytest
import torch

from rpnkit import Registry, build, get_registry
from rpnkit.errors import (
    ComponentNotFoundError,
    ConfigError,
    DuplicateComponentError,
    GroupNotFoundError,
)


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    reg.add_group("optimizer", "Optimizers", kinds=("torch.optim:Optimizer",))
    with reg.registering_as("plugin_a"):
        reg.register("optimizer", "adamw", "torch.optim:AdamW", aliases=("AdamW", "adam_w"))
        reg.register("optimizer", "sgd", "torch.optim:SGD")
    return reg


@pytest.mark.parametrize("name", ["adamw", "AdamW", "ADAMW", "adam-w", " adam_w "])
def test_lookup_is_case_insensitive_and_takes_aliases(registry: Registry, name: str) -> None:
    info = registry.get_info("optimizer", name)
    assert (info.name, info.plugin) == ("adamw", "plugin_a")


def test_registered_dotted_path_resolves_to_the_entry(registry: Registry) -> None:
    assert registry.get_info("optimizer", "torch.optim.AdamW").name == "adamw"
    assert registry.get_info("optimizer", "torch.optim:AdamW").plugin == "plugin_a"


def test_unregistered_importable_path_works(registry: Registry) -> None:
    assert registry.get("optimizer", "torch.optim.RMSprop") is torch.optim.RMSprop


def test_unknown_name_suggests_close_matches(registry: Registry) -> None:
    with pytest.raises(LookupError) as excinfo:
        registry.get_info("optimizer", "adamx")
    message = str(excinfo.value)
    assert isinstance(excinfo.value, ComponentNotFoundError)
    assert "optimizer" in message and "'adamx'" in message and "did you mean 'adamw'" in message
    assert "\n" not in message


def test_unimportable_path_is_a_lookup_error(registry: Registry) -> None:
    with pytest.raises(ComponentNotFoundError, match=r"torch\.optim\.Nope"):
        registry.get_info("optimizer", "torch.optim.Nope")


def test_unknown_group_suggests(registry: Registry) -> None:
    with pytest.raises(GroupNotFoundError, match="did you mean 'optimizer'"):
        registry.entries("optimiser")


def test_same_name_from_two_plugins_names_both(registry: Registry) -> None:
    with (
        registry.registering_as("plugin_b"),
        pytest.raises(DuplicateComponentError, match=r"plugin_a.*plugin_b"),
    ):
        registry.register("optimizer", "adamw", "torch.optim:Adam")


def test_alias_clash_is_a_duplicate(registry: Registry) -> None:
    with pytest.raises(DuplicateComponentError, match="'adam_w'"):
        registry.register("optimizer", "other", "torch.optim:Adam", aliases=("adam_w",))


def test_override_replaces_explicitly(registry: Registry) -> None:
    with registry.registering_as("plugin_b"):
        registry.register("optimizer", "adamw", "torch.optim:Adam", override=True)
    info = registry.get_info("optimizer", "adamw")
    assert (info.target, info.plugin) == ("torch.optim:Adam", "plugin_b")
    assert info.replaces == "plugin_a"
    assert registry.get_info("optimizer", "adam_w") == info  # the old aliases move with it


def test_failed_registration_block_rolls_back(registry: Registry) -> None:
    with pytest.raises(RuntimeError), registry.registering_as("plugin_c"):
        registry.register("optimizer", "rmsprop", "torch.optim:RMSprop")
        raise RuntimeError("plugin bug")
    assert "rmsprop" not in registry.names("optimizer")


def test_new_groups_need_no_registry_change(registry: Registry) -> None:
    registry.add_group("activation", "Activation functions")
    registry.register("activation", "relu", torch.nn.ReLU)
    assert isinstance(registry.build("activation", "relu"), torch.nn.ReLU)
    assert registry.get_info("activation", "relu").summary  # taken from the docstring


def test_names_must_be_snake_case(registry: Registry) -> None:
    with pytest.raises(ConfigError, match="snake case"):
        registry.register("optimizer", "Bad Name!", "torch.optim:SGD")


def test_listing_filters(registry: Registry) -> None:
    assert [e.name for e in registry.entries("optimizer", pattern="adam*")] == ["adamw"]
    assert registry.entries(plugin="nobody") == []


# -- build: one path for every form -------------------------------------------------------
def _model() -> torch.nn.Module:
    return torch.nn.Linear(3, 2)


@pytest.mark.parametrize(
    "spec",
    [
        "adamw",
        "torch.optim.AdamW",
        torch.optim.AdamW,
        {"name": "adamw", "parameters": {"lr": 0.01}},
        {"optimizer_class": "torch.optim.AdamW", "optimizer_parameters": {"lr": 0.01}},
        {"optimizer_class": "adamw", "optimizer_parameters": {"lr": 0.01}},
    ],
)
def test_build_every_form(spec: object) -> None:
    optimizer = build("optimizer", spec, params=_model().parameters(), lr=0.01)
    assert type(optimizer) is torch.optim.AdamW
    assert optimizer.param_groups[0]["lr"] == 0.01


def test_build_returns_instances_as_they_are() -> None:
    loss = torch.nn.MSELoss()
    assert build("loss", loss) is loss


def test_overrides_win_over_config_parameters() -> None:
    opt = build(
        "optimizer",
        {"name": "sgd", "parameters": {"lr": 1.0}},
        params=_model().parameters(),
        lr=0.5,
    )
    assert opt.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize(
    ("group", "spec", "kwargs"),
    [
        ("loss", {"loss_class": "torch.nn.CrossEntropyLoss", "loss_parameters": {"reduction": "sum"}}, {}),
        ("lr_scheduler", {"lr_scheduler_class": "torch.optim.lr_scheduler.ExponentialLR",
                          "lr_scheduler_parameters": {"gamma": 0.9}}, "optimizer"),
    ],
)  # fmt: skip
def test_tinybig_configs_for_other_groups(group: str, spec: dict, kwargs: object) -> None:
    extra = {}
    if kwargs == "optimizer":
        extra = {"optimizer": torch.optim.SGD(_model().parameters(), lr=1.0)}
    obj = build(group, spec, **extra)
    assert type(obj).__name__ == spec[f"{group}_class"].rsplit(".", 1)[1]


def test_unknown_parameter_is_one_line_with_suggestion() -> None:
    with pytest.raises(
        ConfigError, match=r"optimizer 'adamw' has no parameter 'lrr' \(did you mean 'lr'\?\)"
    ):
        build("optimizer", "adamw", params=_model().parameters(), lrr=0.1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"parameters": {}}, "optimizer config needs a 'name'"),
        (
            {"name": "adamw", "paramters": {}},
            r"unknown key 'paramters' \(did you mean 'parameters'\?\)",
        ),
        ({"name": "adamw", "parameters": [1]}, "must be a mapping"),
    ],
)
def test_malformed_configs(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build("optimizer", spec, params=_model().parameters())


def test_parameters_for_an_instance_are_refused() -> None:
    loss = torch.nn.MSELoss()
    with pytest.raises(ConfigError, match="already built"):
        build("loss", {"name": loss, "parameters": {"reduction": "sum"}})


def test_default_registry_has_the_core_groups() -> None:
    groups = {g.name for g in get_registry().groups()}
    assert {"loss", "optimizer", "lr_scheduler", "metric"} <= groups


# -- binding: a user mistake is one line, a component's own error keeps its traceback ---------
class _BuggyLoss(torch.nn.Module):
    """A loss with a bug in its constructor."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.size = len(weight)  # type: ignore[arg-type]  # the bug: a float has no len


class _PickyLoss(torch.nn.Module):
    """A loss that refuses a value its signature says is a number."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)


def _make_loss(width: int, *, reduction: str = "mean") -> torch.nn.Module:
    return torch.nn.MSELoss(reduction=reduction)


def test_an_error_inside_a_constructor_keeps_its_traceback() -> None:
    with pytest.raises(TypeError, match="has no len") as info:
        build("loss", {"name": _BuggyLoss, "parameters": {"weight": 2.0}})
    assert not isinstance(info.value, ConfigError)
    assert any(entry.name == "__init__" for entry in info.traceback)


def test_the_learner_lets_a_component_bug_through() -> None:
    from rpnkit.learner import BackwardLearner

    with pytest.raises(TypeError, match="has no len"):
        BackwardLearner(loss_configs={"name": _BuggyLoss, "parameters": {"weight": 2.0}})


def test_a_number_the_constructor_refuses_is_named_in_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        build("loss", _PickyLoss, weight="heavy")
    assert str(info.value) == (
        "loss '_PickyLoss' parameter weight='heavy' is not valid; expected a finite number"
    )
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"width": 3, "reductin": "sum"},
            "loss '_make_loss' has no parameter 'reductin' (did you mean 'reduction'?); valid "
            "parameters: width, reduction; given: width, reductin",
        ),
        (
            {"reduction": "sum"},
            "loss '_make_loss' is missing required parameter(s) 'width'; given: reduction",
        ),
    ],
)
def test_a_call_that_does_not_bind_is_one_line_with_what_was_given(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        build("loss", _make_loss, **kwargs)
    assert str(info.value) == message


def test_an_unknown_config_parameter_fails_when_the_spec_is_made() -> None:
    with pytest.raises(ConfigError, match=r"has no parameter 'lrr'.*given: lrr"):
        get_registry().resolve("optimizer", {"name": "adamw", "parameters": {"lrr": 0.1}})


def test_a_parameter_given_twice_is_named() -> None:
    from rpnkit.components.spec import check_arguments

    with pytest.raises(ConfigError) as info:
        check_arguments(_make_loss, {"width": 3}, "factory", args=(3,))
    assert str(info.value) == (
        "factory got parameter 'width' twice, by position and by name; given: <1 positional>, width"
    )


# -- tinybig's form is read at tinybig's entries, not by the registry -------------------------
def test_the_registry_knows_only_rpnkits_form() -> None:
    with pytest.raises(ConfigError, match="unknown key 'optimizer_class'"):
        get_registry().resolve("optimizer", {"optimizer_class": "torch.optim.AdamW"})


def test_tinybig_form_is_translated_before_the_registry() -> None:
    from rpnkit.tinybig.reading import rpnkit_form

    spec = {"optimizer_class": "torch.optim.AdamW", "optimizer_parameters": {"lr": 0.01}}
    assert rpnkit_form("optimizer", spec, "optimizer") == {
        "name": "torch.optim.AdamW",
        "parameters": {"lr": 0.01},
    }
    assert rpnkit_form("optimizer", "adamw", "optimizer") == "adamw"
