"""Geometric interdependence functions: patch gathers on a grid, against the dense definition,
``F.unfold`` and tinybig 0.2.1."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.geometric import GeometricInterdependence
from rpnkit.rpn.interdependence.patch_geometric import CylinderPatchBasedGeometricInterdependence


def build(name: str, **params: Any) -> Any:
    return rpnkit.build("interdependence", name, **params)


def dense_apply(obj: GeometricInterdependence, x: torch.Tensor) -> torch.Tensor:
    """The definition: every channel times the per-channel ``A``, in tinybig's layout."""
    b, channels = x.shape[0], obj.channel_num
    A = obj.calculate_A()
    mixed = x.reshape(b * channels, -1) @ A
    if obj.interdependence_matrix_mode == "padding":
        out = mixed.view(b, channels, obj.patch_num, obj.patch_size).permute(0, 2, 1, 3)
    else:
        out = mixed.view(b, channels, -1).permute(0, 2, 1)
    return out.reshape(b, -1)


def test_padding_matrix_of_a_tiny_grid_by_hand() -> None:
    # 2×2 grid, 3×3 cuboid patch centred on every cell: column p·9 + s is one cell or zero
    obj = build("cuboid_patch_based_geometric", p_h=1, p_w=1, h=2, w=2)
    A = obj.calculate_A()
    assert A.shape == (4, 4 * 9)
    assert obj.calculate_m_prime() == 36
    # centre (0, 0): offsets (-1,-1) .. (1,1); on-grid ones are (0,0),(0,1),(1,0),(1,1)
    first = A[:, :9]
    expected = torch.zeros(4, 9)
    for s, cell in ((4, 0), (5, 1), (7, 2), (8, 3)):
        expected[cell, s] = 1.0
    assert torch.equal(first, expected)
    x = torch.arange(1.0, 5.0).unsqueeze(0)
    assert torch.equal(obj(x)[0, :9], torch.tensor([0, 0, 0, 0, 1, 2, 0, 3, 4.0]))


def test_aggregation_sums_each_patch_at_its_centre() -> None:
    obj = build("cuboid_patch_aggregation_based_geometric", p_h=1, p_w=0, h=3, w=1)
    x = torch.tensor([[1.0, 2.0, 4.0]])
    # centres 0, 1, 2 sum the cells i-1..i+1 that are on the grid
    assert torch.equal(obj(x), torch.tensor([[3.0, 7.0, 6.0]]))
    assert obj.calculate_m_prime() == 3


@pytest.mark.parametrize("mode", ["padding", "aggregation"])
@pytest.mark.parametrize("normalization_mode", [None, "row", "column", "row_column"])
@pytest.mark.parametrize("shape", ["cuboid", "cylinder", "sphere"])
def test_forward_equals_the_dense_definition(
    mode: str, normalization_mode: str | None, shape: str
) -> None:
    params: dict[str, Any] = {
        "cuboid": {"p_h": 1, "p_w": 2, "p_d": 0, "p_w_prime": 1},
        "cylinder": {"r": 1, "p_d": 0, "p_d_prime": 1},
        "sphere": {"r": 1},
    }[shape]
    obj = build(
        f"{shape}_patch_based_geometric", h=4, w=3, d=2, channel_num=2,
        interdependence_matrix_mode=mode, normalization=normalization_mode is not None,
        normalization_mode=normalization_mode or "row_column", cd_h=2, cd_w=1, cd_d=1,
        **params,
    )  # fmt: skip
    x = torch.randn(3, 48)
    assert torch.allclose(obj(x), dense_apply(obj, x), atol=1e-6)
    assert obj(x).shape == (3, obj.calculate_m_prime())


@pytest.mark.parametrize("stride", [1, 2])
def test_cuboid_gather_equals_f_unfold(stride: int) -> None:
    obj = build(
        "cuboid_patch_padding_based_geometric", p_h=1, p_w=1, h=5, w=6, channel_num=3,
        cd_h=stride, cd_w=stride, cd_d=1,
    )  # fmt: skip
    x = torch.randn(2, 3 * 30)
    cols = F.unfold(x.view(2 * 3, 1, 5, 6), kernel_size=3, padding=1, stride=stride)
    expected = cols.view(2, 3, 9, -1).permute(0, 3, 1, 2).reshape(2, -1)
    assert obj.extents is not None  # the unfold path
    assert torch.equal(obj(x), expected)
    obj.extents = None  # the index gather every other patch takes
    assert torch.equal(obj(x), expected)


def test_cylinder_depths_follow_the_documented_formula() -> None:
    obj = CylinderPatchBasedGeometricInterdependence(r=1, p_d=0, p_d_prime=2, h=3, w=3, d=4)
    depths = sorted({k for _, _, k in obj_offsets(obj)})
    assert depths == [0, 1, 2]
    assert obj.patch_size == 5 * 3
    assert obj.tinybig_divergence is not None and "\n" not in obj.tinybig_divergence


def obj_offsets(obj: GeometricInterdependence) -> list[tuple[int, int, int]]:
    """Offsets of the patch centred at (1, 1, 0), read back from the gather index."""
    _, w, d = obj.grid
    centre = 1 * w * d + 1 * d + 0
    p = int((obj.centres == centre).nonzero()[0, 0])
    cells = obj.index[p]
    cells = cells[cells < obj.cell_num]
    return [(int(c) // (w * d) - 1, (int(c) // d) % w - 1, int(c) % d) for c in cells]


def test_instance_type_mixes_the_rows() -> None:
    obj = build("sphere_patch_based_geometric", r=1, h=3, w=2, interdependence_type="row")
    x = torch.randn(6, 4)
    A = obj.calculate_A()
    assert obj.b == 6 and obj.calculate_b_prime() == A.shape[1]
    assert torch.allclose(obj(x), A.T @ x)


def test_aliases_and_published_config_resolve() -> None:
    config = {"patch_class": "tinybig.koala.geometry.cylinder", "patch_parameters": {"p_r": 4}}
    obj = build(
        "geometric_interdependence", h=32, w=32, channel_num=3, patch_configs=config,
        packing_strategy="densest_packing",
    )  # fmt: skip
    assert obj.patch_size == 49 and obj.calculate_m_prime() == 3 * 1024 * 49
    assert type(build("cylinder_patch_padding_based_geometric_interdependence", r=1, h=3, w=3)) is (
        type(build("cylinder_patch_padding_based_geometric", r=1, h=3, w=3))
    )


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("sphere_patch_based_geometric", {"r": -1, "h": 3, "w": 3}, "r=-1"),
        ("cuboid_patch_based_geometric", {"p_h": 1, "p_w": 1, "h": 0, "w": 3}, "h=0"),
        ("cuboid_patch_based_geometric", {"p_h": 1, "p_w": 1, "h": 3, "w": 3, "m": 10}, "m=10"),
        ("cuboid_patch_based_geometric",
         {"p_h": 1, "p_w": 1, "h": 3, "w": 3, "packing_strategy": "dense_sqare"},
         "packing_strategy='dense_sqare'"),
        ("geometric", {"h": 3, "w": 3}, "patch=None"),
        ("cuboid_patch_based_geometric",
         {"p_h": 1, "p_w": 1, "h": 3, "w": 3, "channel_num": 2, "interdependence_type": "instance"},
         "channel_num=2"),
        ("cuboid_patch_aggregation_based_geometric",
         {"p_h": 1, "p_w": 1, "h": 3, "w": 3, "interdependence_matrix_mode": "padding"},
         "interdependence_matrix_mode='padding'"),
        ("cuboid_patch_based_geometric",
         {"p_h": 1, "p_w": 1, "h": 3, "w": 3, "normalization_mode": "rows"},
         "normalization_mode='rows'"),
    ],
)  # fmt: skip
def test_bad_parameters_raise_one_line_errors(
    name: str, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build(name, **params)
    message = str(caught.value)
    assert field in message and "\n" not in message


def test_data_of_the_wrong_width_is_a_config_error() -> None:
    obj = build("cuboid_patch_based_geometric", p_h=1, p_w=1, h=3, w=3)
    with pytest.raises(ConfigError, match="expected 9 columns"):
        obj(torch.randn(2, 8))


# -- tinybig 0.2.1 ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["padding", "aggregation"])
@pytest.mark.parametrize("normalization_mode", [None, "row", "column", "row_column"])
@pytest.mark.parametrize("shape", ["cuboid", "cylinder", "sphere"])
def test_same_numbers_as_tinybig(
    tinybig: Any, mode: str, normalization_mode: str | None, shape: str
) -> None:
    geometry = tinybig.koala.geometry
    patch = {
        "cuboid": lambda: geometry.cuboid(p_h=1, p_w=1, p_d=0, p_h_prime=0),
        "cylinder": lambda: geometry.cylinder(p_r=1, p_d=1),
        "sphere": lambda: geometry.sphere(p_r=1),
    }[shape]
    params = dict(
        h=4, w=3, d=2, channel_num=2, interdependence_matrix_mode=mode,
        normalization=normalization_mode is not None,
        normalization_mode=normalization_mode or "row_column",
    )  # fmt: skip
    theirs = tinybig.interdependence.geometric_interdependence(patch=patch(), **params)
    ours = build("geometric", interdependence_type="attribute", patch=patch(), **params)
    x = torch.randn(3, 48)
    assert torch.allclose(ours.calculate_A(), theirs.calculate_A().to_dense(), atol=1e-6)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    assert ours.calculate_m_prime() == theirs.calculate_m_prime()


def test_tinybig_cuboid_variant_with_packing(tinybig: Any) -> None:
    params = dict(p_h=1, p_w=1, p_d=0, h=6, w=5, packing_strategy="complete_square")
    theirs = tinybig.interdependence.cuboid_patch_padding_based_geometric_interdependence(**params)
    ours = build("cuboid_patch_padding_based_geometric_interdependence", **params)
    x = torch.randn(2, 30)
    assert ours.centre_distances == (2, 2, 1)
    assert torch.equal(ours(x), theirs(x))
    assert torch.equal(ours.calculate_A(), theirs.calculate_A().to_dense())


def test_tinybig_cylinder_class_fails_and_the_patch_is_the_reference(tinybig: Any) -> None:
    with pytest.raises(TypeError):
        tinybig.interdependence.cylinder_patch_based_geometric_interdependence(r=1, p_d=0, h=3, w=3)
    patch = tinybig.koala.geometry.cylinder(p_r=2, p_d=0)
    theirs = tinybig.interdependence.geometric_interdependence(h=5, w=5, patch=patch)
    ours = build("cylinder_patch_based_geometric", r=2, h=5, w=5)
    x = torch.randn(2, 25)
    assert torch.equal(ours(x), theirs(x))
