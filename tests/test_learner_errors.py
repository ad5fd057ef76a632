"""Bad input to the learner: a one-line error naming the argument, before any training."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import hookimpl
from rpnkit.errors import ComponentNotFoundError, ConfigError, RpnkitError
from rpnkit.learner import BackwardLearner, EarlyStopping, TrainContext
from rpnkit.learner.device import resolve_device
from rpnkit.plugins.state import get_plugin_manager


def loaders(n: int = 24, float_labels: bool = False) -> dict[str, DataLoader[Any]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=generator)
    y = x[:, 0] if float_labels else (x[:, 0] > 0).long()
    dataset = TensorDataset(x, y)
    return {"train_loader": DataLoader(dataset, batch_size=8), "test_loader": DataLoader(dataset)}


def model(outputs: int = 2) -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(4, outputs)


class Starts:
    """A plugin counting train starts, to show errors come before any training."""

    def __init__(self) -> None:
        self.count = 0

    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None:
        self.count += 1


@pytest.fixture
def starts() -> Iterator[Starts]:
    plugin = Starts()
    get_plugin_manager().register(plugin, name="test-starts")
    yield plugin
    get_plugin_manager().unregister(plugin)


def one_line(error: pytest.ExceptionInfo[RpnkitError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# -- construction -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "expected"),
    [
        ({"optimizer": "adamm"}, ComponentNotFoundError, "unknown optimizer 'adamm' (did you mean 'adam'"),
        ({"loss": "cross_entropi"}, ComponentNotFoundError, "did you mean 'cross_entropy'"),
        ({"lr_scheduler_configs": {"name": "cosin"}}, ComponentNotFoundError, "did you mean 'cosine'"),
        (
            {"optimizer_configs": {"optimizer_class": "torch.optim.AdamX"}},
            ComponentNotFoundError,
            "optimizer 'torch.optim.AdamX' is neither registered nor importable",
        ),
        ({"optimizer_configs": {"name": "sgd", "parameters": {"lrr": 0.1}}}, ConfigError, "has no parameter 'lrr' (did you mean 'lr'"),
        ({"optimizer_configs": {"parameters": {"lr": 0.1}}}, ConfigError, "optimizer_configs needs a 'name'"),
        ({"optimizer": "sgd", "optimizer_configs": {"name": "adam"}}, ConfigError, "optimizer and optimizer_configs are both given"),
        ({"loss_configs": "mse"}, ConfigError, "loss_configs must be a dict"),
        ({"n_epochs": 0}, ConfigError, "n_epochs=0 is not valid; expected an integer >= 1"),
        ({"n_epochs": 2.5}, ConfigError, "n_epochs=2.5 is not valid"),
        ({"progress_every": 0}, ConfigError, "progress_every=0 is not valid"),
        ({"nan_policy": "ignore"}, ConfigError, "nan_policy='ignore' is not valid; expected 'raise', 'skip'"),
        ({"precision": "fp8"}, ConfigError, "precision='fp8' is not valid"),
        ({"lr_scheduler_interval": "batch"}, ConfigError, "lr_scheduler_interval='batch' is not valid"),
        ({"grad_clip_norm": -1.0}, ConfigError, "grad_clip_norm=-1.0 is not valid; expected a number > 0"),
        ({"early_stopping": "yes"}, ConfigError, "early_stopping must be a patience (int)"),
        ({"early_stopping": 0}, ConfigError, "patience=0 is not valid"),
        ({"checkpoint_dir": 3}, ConfigError, "checkpoint_dir must be a path"),
        ({"resume": 3}, ConfigError, "resume must be a checkpoint path"),
        ({"seed": "0"}, ConfigError, "seed='0' is not valid"),
        ({"n_epoch": 3}, ConfigError, "has no parameter 'n_epoch' (did you mean 'n_epochs'"),
    ],
)  # fmt: skip
def test_bad_constructor_arguments(kwargs: dict[str, Any], error: type, expected: str) -> None:
    with pytest.raises(error) as info:
        BackwardLearner(**kwargs)
    assert expected in one_line(info)


# -- train arguments, all before any training -----------------------------------------------------
def train_with(**overrides: Any) -> Callable[[], object]:
    arguments: dict[str, Any] = {"model": model(), "data_loader": loaders()}
    arguments.update(overrides)
    learner = BackwardLearner(n_epochs=2, verbose=False)
    return lambda: learner.train(**arguments)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"data_loader": {"test_loader": loaders()["test_loader"]}}, "data_loader has no 'train_loader' (keys: ['test_loader'])"),
        ({"data_loader": 5}, "data_loader must be a dict with 'train_loader'"),
        ({"data_loader": {"train_loader": DataLoader(TensorDataset(torch.zeros(0, 4), torch.zeros(0)))}}, "data_loader['train_loader'] is empty"),
        ({"data_loader": {"train_loader": "data.csv"}}, "data_loader['train_loader'] must be an iterable of (features, labels) batches"),
        ({"metric": 3}, "metric must be an rpnkit.metrics.Metric, a registry name such as 'accuracy' or a list of them; got int"),
        ({"metric": ["accuracy", object()]}, "metric[1] must be an rpnkit.metrics.Metric"),
        ({"metric": []}, "metric=[] is empty"),
        ({"metric": ["f1", "f1"]}, "metric names must be unique, ['f1'] appear more than once"),
        ({"display_step": 0}, "display_step=0 is not valid; expected an integer >= 1"),
        ({"device": "gpu"}, "device='gpu' is not a device"),
        ({"train_idx": [0.5, 1.5]}, "train_idx must be 1-D integer indices or a boolean mask"),
        ({"model": "rpn"}, "model must be a torch.nn.Module, got str"),
        ({"model": nn.Linear(4, 2).requires_grad_(False)}, "optimizer: the model has no trainable parameters"),
    ],
)  # fmt: skip
def test_bad_train_arguments(starts: Starts, overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        train_with(**overrides)()
    assert expected in one_line(info)
    assert starts.count == 0


def test_an_unknown_metric_name_gets_suggestions(starts: Starts) -> None:
    with pytest.raises(ComponentNotFoundError) as info:
        train_with(metric="acuracy")()
    assert "unknown metric 'acuracy' (did you mean 'accuracy'" in one_line(info)
    assert starts.count == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_an_unavailable_device_fails_before_any_work(starts: Starts) -> None:
    with pytest.raises(ConfigError) as info:
        train_with(device="cuda:1")()
    assert "device='cuda:1' is not available" in one_line(info)
    assert starts.count == 0


def test_device_strings_are_checked() -> None:
    assert resolve_device("CPU") == torch.device("cpu")
    with pytest.raises(ConfigError) as info:
        resolve_device("cpux")
    assert "did you mean 'cpu'" in one_line(info)
    with pytest.raises(ConfigError):
        resolve_device(0)  # type: ignore[arg-type]


def test_an_optimizer_built_for_another_model_is_refused() -> None:
    foreign = torch.optim.SGD(model().parameters(), lr=0.1)
    with pytest.raises(ConfigError) as info:
        BackwardLearner(optimizer=foreign, verbose=False).train(model(), loaders())
    assert "optimizer holds none of the model's parameters" in one_line(info)


def test_a_scheduler_bound_to_another_optimizer_is_refused() -> None:
    net = model()
    other = torch.optim.SGD(net.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(other, step_size=1)
    learner = BackwardLearner(
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1), lr_scheduler=scheduler, verbose=False
    )
    with pytest.raises(ConfigError) as info:
        learner.train(net, loaders())
    assert "lr_scheduler is bound to another optimizer" in one_line(info)


def test_plateau_cannot_step_per_batch() -> None:
    learner = BackwardLearner(
        lr_scheduler="plateau", lr_scheduler_interval="step", verbose=False, n_epochs=1
    )
    with pytest.raises(ConfigError) as info:
        learner.train(model(), loaders())
    assert "lr_scheduler_interval='step' does not fit ReduceLROnPlateau" in one_line(info)


def test_an_unknown_monitor_is_named(starts: Starts) -> None:
    with pytest.raises(ConfigError) as info:
        BackwardLearner(monitor="val_loss", verbose=False).train(model(), loaders())
    assert "monitor='val_loss' is not a history column (did you mean 'train_loss'" in one_line(info)
    stopper = EarlyStopping(patience=2, monitor="test_f1")
    with pytest.raises(ConfigError) as info:
        BackwardLearner(early_stopping=stopper, verbose=False).train(model(), loaders())
    assert "early_stopping monitor='test_f1' is not a history column" in one_line(info)


# -- the first batch ---------------------------------------------------------------------------------
def unchanged(before: nn.Module, after: nn.Module) -> bool:
    return all(
        torch.equal(p, q) for p, q in zip(before.parameters(), after.parameters(), strict=True)
    )


def test_outputs_and_float_labels_of_different_shapes_name_both_shapes() -> None:
    net, reference = model(1), model(1)
    learner = BackwardLearner(loss="mse", verbose=False)
    with pytest.raises(ConfigError) as info:
        learner.train(net, loaders(float_labels=True))
    assert "model output shape (8, 1) and labels shape (8,) differ" in one_line(info)
    assert unchanged(net, reference)


def test_outputs_that_do_not_fit_class_labels_name_both_shapes() -> None:
    class Flat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x).squeeze(1)

    with pytest.raises(ConfigError) as info:
        BackwardLearner(loss="cross_entropy", verbose=False).train(Flat(), loaders())
    message = one_line(info)
    assert (
        "model output shape (8,) and labels shape (8,) do not fit loss CrossEntropyLoss" in message
    )


def test_outputs_with_another_batch_size_are_refused() -> None:
    class Pooled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x).mean(dim=0, keepdim=True)

    with pytest.raises(ConfigError) as info:
        BackwardLearner(verbose=False).train(Pooled(), loaders())
    assert "model output shape (1, 2) and labels shape (8,) do not match" in one_line(info)


def test_batches_must_be_feature_label_pairs() -> None:
    x = torch.randn(8, 4)
    triples = DataLoader(TensorDataset(x, x[:, 0], x[:, 1]), batch_size=4)
    with pytest.raises(ConfigError) as info:
        BackwardLearner(verbose=False).train(model(), {"train_loader": triples})
    assert (
        "data_loader['train_loader'] must yield (features, labels) pairs, got a list of 3"
        in one_line(info)
    )


def test_test_checks_its_arguments_too() -> None:
    learner = BackwardLearner(verbose=False)
    with pytest.raises(ConfigError) as info:
        learner.test(model(), loaders()["test_loader"], metric=1.5)
    assert "metric must be an rpnkit.metrics.Metric" in one_line(info)
    with pytest.raises(ConfigError) as info:
        learner.test(model(), DataLoader(TensorDataset(torch.zeros(0, 4), torch.zeros(0))))
    assert "test_loader is empty" in one_line(info)


# -- first-batch checks: one line, before any optimizer step ---------------------------------------
def test_an_out_of_range_train_idx_names_the_field_index_and_range() -> None:
    learner = BackwardLearner(n_epochs=1, verbose=False)
    loader = {
        "train_loader": DataLoader(
            TensorDataset(torch.randn(6, 4), torch.zeros(6).long()), batch_size=6
        )
    }
    with pytest.raises(ConfigError) as info:
        learner.train(model=model(), data_loader=loader, train_idx=[0, 2, 9])
    assert "train_idx: index 9 is out of range: valid row indices are 0 to 5" in one_line(info)


def test_an_out_of_range_test_idx_is_refused_at_the_first_test_batch() -> None:
    learner = BackwardLearner(n_epochs=1, verbose=False)
    data = TensorDataset(torch.randn(6, 4), torch.zeros(6).long())
    loader = {
        "train_loader": DataLoader(data, batch_size=6),
        "test_loader": DataLoader(data, batch_size=6),
    }
    with pytest.raises(ConfigError) as info:
        learner.train(model=model(), data_loader=loader, test_idx=[-7])
    assert "test_idx: index -7 is out of range: valid row indices are 0 to 5" in one_line(info)


def test_a_wrong_input_width_names_in_features_and_the_data_width() -> None:
    learner = BackwardLearner(n_epochs=1, verbose=False)
    wide = nn.Sequential(nn.Linear(7, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ConfigError) as info:
        learner.train(model=wide, data_loader=loaders())
    text = one_line(info)
    assert "gives features of width 4" in text
    assert "expects in_features=7" in text
