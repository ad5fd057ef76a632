"""Plugin discovery: builtins through the hooks, real entry points, isolation of failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pluggy
import pytest

from rpnkit import Registry, build, get_registry, hookimpl, register_plugin
from rpnkit.errors import PluginError
from rpnkit.plugins.manager import BUILTIN_PLUGINS, PluginManager, PluginWarning
from tests.conftest import run_rpnkit

GOOD_PLUGIN = """
from rpnkit import hookimpl

@hookimpl
def rpnkit_add_components(registry):
    registry.register("loss", "tmp_l1", "torch.nn:L1Loss", summary="temporary plugin loss")
"""


def test_builtins_register_through_the_same_hooks() -> None:
    manager = PluginManager()
    manager.load_builtins()
    names = {r.name for r in manager.records.values() if r.source == "builtin"}
    assert names == {m.removeprefix("rpnkit.") for m in BUILTIN_PLUGINS}
    impls = {i.plugin_name for i in manager.hook.rpnkit_add_components.get_hookimpls()}
    assert "builtin.torch_components" in impls


def test_a_builtin_can_be_blocked_like_any_plugin() -> None:
    manager = PluginManager()
    manager.set_blocked("builtin.torch_components")
    manager.load_builtins()
    registry = Registry()
    manager.populate(registry)
    assert not registry.has_group("optimizer")


def test_installed_example_plugin_is_discovered() -> None:
    registry = get_registry()
    assert registry.get_info("loss", "charbonnier").plugin == "example"
    loss = build("loss", "charbonnier")
    assert type(loss).__module__ == "rpnkit_example.losses"


def test_entry_point_plugin_shows_in_list(
    make_distribution: Callable[..., Path],
) -> None:
    site = make_distribution(
        "tmp-good", {"good": "tmp_good_plugin"}, {"tmp_good_plugin": GOOD_PLUGIN}
    )
    result = run_rpnkit("list", "loss", "--json", pythonpath=site)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["loss"]}
    assert rows["tmp_l1"]["plugin"] == "good"
    assert rows["charbonnier"]["plugin"] == "example"


def test_broken_plugins_are_reported_and_isolated(
    make_distribution: Callable[..., Path],
) -> None:
    site = make_distribution(
        "tmp-broken",
        {"noimport": "tmp_missing_module", "raiser": "tmp_raiser", "good": "tmp_good_plugin"},
        {
            "tmp_good_plugin": GOOD_PLUGIN,
            "tmp_raiser": """
                from rpnkit import hookimpl

                @hookimpl
                def rpnkit_add_components(registry):
                    registry.register("loss", "half_written", "torch.nn:L1Loss")
                    raise RuntimeError("boom in hook")
            """,
        },
    )
    result = run_rpnkit("plugins", "--json", pythonpath=site)
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert records["noimport"]["status"] == "failed"
    assert "tmp_missing_module" in records["noimport"]["error"]
    assert records["raiser"]["status"] == "failed"
    assert "boom in hook" in records["raiser"]["error"]
    assert records["good"]["status"] == "loaded"
    assert records["good"]["distribution"] == "tmp-broken"
    assert "warning: rpnkit plugin 'raiser' raised" in result.stderr

    listed = run_rpnkit("list", "loss", "--json", pythonpath=site)
    names = {row["name"] for row in json.loads(listed.stdout)["loss"]}
    assert "tmp_l1" in names and "cross_entropy" in names
    assert "half_written" not in names  # the failed hook's registrations were rolled back


def test_autoload_can_be_disabled(make_distribution: Callable[..., Path]) -> None:
    site = make_distribution(
        "tmp-good", {"good": "tmp_good_plugin"}, {"tmp_good_plugin": GOOD_PLUGIN}
    )
    result = run_rpnkit(
        "list", "loss", "--json", pythonpath=site, env={"RPNKIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    names = {row["name"] for row in json.loads(result.stdout)["loss"]}
    assert "tmp_l1" not in names and "charbonnier" not in names
    assert "cross_entropy" in names


class _Programmatic:
    @hookimpl
    def rpnkit_add_components(self, registry: Registry) -> None:
        registry.register("loss", "programmatic_huber", "torch.nn:HuberLoss")


def test_programmatic_registration_reaches_a_loaded_registry() -> None:
    registry = get_registry()
    name = register_plugin(_Programmatic(), name="test-programmatic")
    try:
        assert registry.get_info("loss", "programmatic_huber").plugin == "test-programmatic"
        with pytest.raises(PluginError, match="already registered"):
            register_plugin(_Programmatic(), name="test-programmatic")
    finally:
        from rpnkit.plugins.state import get_plugin_manager

        get_plugin_manager().unregister(name=name)


def test_hookimpl_arguments_are_checked_against_the_spec() -> None:
    class Bad:
        @hookimpl
        def rpnkit_add_components(self, registry: Registry, extra: int) -> None: ...

    manager = PluginManager()
    from rpnkit.plugins.manager import PluginRecord

    with pytest.warns(PluginWarning, match="'bad' was rejected"):
        assert not manager.add_plugin(Bad(), PluginRecord("bad", "programmatic", "Bad"))
    assert manager.records["bad"].status == "failed"
    assert "extra" in (manager.records["bad"].error or "")


def test_a_misspelt_hook_is_refused_not_silently_ignored() -> None:
    class Typo:
        @hookimpl
        def rpnkit_add_component(self, registry: Registry) -> None: ...

    manager = PluginManager()
    from rpnkit.plugins.manager import PluginRecord

    with pytest.warns(PluginWarning, match="unknown hook 'rpnkit_add_component'"):
        assert not manager.add_plugin(Typo(), PluginRecord("typo", "programmatic", "Typo"))
    assert "did you mean 'rpnkit_add_components'" in (manager.records["typo"].error or "")
    assert not manager.has_plugin("typo")


def test_pluggy_project_name() -> None:
    assert isinstance(hookimpl, pluggy.HookimplMarker)
    assert hookimpl.project_name == "rpnkit"


def test_a_plugin_exiting_or_with_a_syntax_error_never_takes_the_host_down(
    make_distribution: Callable[..., Path],
) -> None:
    site = make_distribution(
        "tmp-hostile",
        {
            "exiter": "tmp_exiter",
            "syntax": "tmp_syntax",
            "hook_exit": "tmp_hook_exit",
            "good": "tmp_good_plugin",
        },
        {
            "tmp_good_plugin": GOOD_PLUGIN,
            "tmp_exiter": "import sys\nsys.exit(3)\n",
            "tmp_syntax": "def broken(:\n    pass\n",
            "tmp_hook_exit": """
                from rpnkit import hookimpl

                @hookimpl
                def rpnkit_add_components(registry):
                    raise SystemExit("leaving")
            """,
        },
    )
    result = run_rpnkit("plugins", "--json", pythonpath=site)
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert records["exiter"]["status"] == "failed" and "SystemExit" in records["exiter"]["error"]
    assert records["syntax"]["status"] == "failed" and "SyntaxError" in records["syntax"]["error"]
    assert records["hook_exit"]["status"] == "failed"
    assert records["good"]["status"] == "loaded"
    listed = run_rpnkit("list", "loss", "--json", pythonpath=site)
    assert listed.returncode == 0
    assert "tmp_l1" in {row["name"] for row in json.loads(listed.stdout)["loss"]}


OVERRIDE_PLUGIN = """
from rpnkit import hookimpl

@hookimpl
def rpnkit_add_components(registry):
    registry.register(
        "optimizer", "adamw", "torch.optim:AdamW", summary="tuned AdamW", override=True
    )
"""


@pytest.mark.e2e
def test_an_override_is_visible_in_list_show_validate_and_train(
    make_distribution: Callable[..., Path], tmp_path: Path
) -> None:
    site = make_distribution(
        "tmp-override", {"tuned": "tmp_override_plugin"}, {"tmp_override_plugin": OVERRIDE_PLUGIN}
    )
    rows = json.loads(run_rpnkit("list", "optimizer", "--json", pythonpath=site).stdout)
    row = next(r for r in rows["optimizer"] if r["name"] == "adamw")
    assert row["plugin"] == "tuned"
    assert row["replaces"] == "builtin.torch_components"
    assert "adam_w" in row["aliases"]  # the replaced entry's aliases move to the new entry
    assert next(r for r in rows["optimizer"] if r["name"] == "adam")["replaces"] is None
    listed = run_rpnkit("list", "optimizer", pythonpath=site).stdout
    assert "(replaces builtin.torch_components)" in listed
    shown = run_rpnkit("show", "optimizer/adam_w", pythonpath=site).stdout
    assert "tuned" in shown and "builtin.torch_components" in shown
    config = tmp_path / "run.yaml"
    config.write_text(
        "data: {name: iris, parameters: {batch_size: 50}}\n"
        "model: {name: rpn, parameters: {layers: [{m: 4, n: 3}]}}\n"
        "learner: {n_epochs: 1, optimizer: adam_w}\n"
    )
    warning = (
        "warning: plugin 'tuned' overrides optimizer 'adamw' of plugin 'builtin.torch_components'"
    )
    checked = run_rpnkit("validate", str(config), pythonpath=site)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.splitlines() == [warning]
    out = tmp_path / "out"
    trained = run_rpnkit("train", str(config), "--output", str(out), "--quiet", pythonpath=site)
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr.splitlines() == [warning]
    assert (out / "model.pt").is_file()
