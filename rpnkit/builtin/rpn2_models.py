"""Builtin plugin: the RPN 2 structure-aware heads, layers and models.

Groups ``head`` and ``layer`` hold tinybig 0.2.1's structured heads and layers (factories
taking ``m``, ``n`` and tinybig's keywords; a ``model: rpn`` layer entry ``{name, parameters}``
builds one from the ``layer`` group); the ``model`` group gets the structured models under
their short names, with tinybig's class names and class paths (``tinybig.model.gcn``,
``tinybig.model.rpn_gcn``) as aliases. The interdependence functions these heads are built on
and that have no tinybig class of their own (edge attention, per-sequence chain mixing,
softmaxed bilinear attention) join the ``interdependence`` group.

Targets are lazy ``"module:attr"`` strings, so listing them imports neither torch nor
:mod:`rpnkit.rpn`. One table per group; :data:`COMPONENTS` lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

GROUPS: tuple[tuple[str, str], ...] = (
    ("head", "RPN 2 heads: one RPN head with a structure (graph, chain, grid, attention)"),
    ("layer", "RPN layers usable as model: rpn layer entries {name, parameters}"),
)
#: What a dotted path in each group may name besides registered entries (see rpnkit.components.trust).
KINDS: dict[str, tuple[str, ...]] = {
    "head": ("rpnkit.rpn.head:RPNHead",),
    "layer": ("torch.nn:Module",),
}

Row = tuple[str, str, tuple[str, ...], str]


def _model_aliases(name: str, module: str) -> tuple[str, ...]:
    """tinybig's class name, module name and class paths for model ``name`` in ``module``."""
    return (module, f"tinybig.model.{name}", f"tinybig.model.{module}",
            f"tinybig.model.{module}.{name}")  # fmt: skip


# Each row is (canonical name, target, aliases, summary).

HEADS: tuple[Row, ...] = (
    (
        "graph_interdependence",
        "rpnkit.rpn.graph:graph_interdependence_head",
        ("graph_interdependence_head", "tinybig.head.graph_interdependence_head"),
        "GCN head: Âᵀ X ψ(w)ᵀ over one graph (sparse propagation), tinybig's flags",
    ),
    (
        "graph_bilinear_interdependence",
        "rpnkit.rpn.graph:graph_bilinear_interdependence_head",
        ("graph_bilinear_interdependence_head", "tinybig.head.graph_bilinear_interdependence_head"),
        "GAT head: bilinear attention on the edges (SDDMM + segment softmax), tinybig's flags",
    ),
    (
        "chain_interdependence",
        "rpnkit.rpn.chain:chain_interdependence_head",
        ("chain_interdependence_head", "tinybig.head.chain_interdependence_head"),
        "Chain head on b·L step rows: per-step map mixed over time by a chain matrix",
    ),
    (
        "bilinear_interdependence",
        "rpnkit.rpn.attention:bilinear_interdependence_head",
        ("bilinear_interdependence_head", "tinybig.head.bilinear_interdependence_head"),
        "Attention head: colsoftmax(√n X W Xᵀ) across the batch's instances",
    ),
    (
        "grid_interdependence",
        "rpnkit.rpn.grid:GridInterdependenceHead",
        ("grid_interdependence_head", "tinybig.head.grid_interdependence_head"),
        "Convolution head: cuboid/cylinder/sphere patch interdependence as F.conv2d",
    ),
    (
        "grid_compression",
        "rpnkit.rpn.grid:GridCompressionHead",
        ("grid_compression_head", "tinybig.head.grid_compression_head"),
        "Pooling head: max/min/mean/... over packed patches (max_pool2d/avg_pool2d)",
    ),
)

LAYERS: tuple[Row, ...] = (
    (
        "graph_interdependence",
        "rpnkit.rpn.graph:graph_interdependence_layer",
        ("graph_interdependence_layer", "tinybig.layer.graph_interdependence_layer"),
        "GCN layer: width graph heads, mean-fused",
    ),
    (
        "graph_bilinear_interdependence",
        "rpnkit.rpn.graph:graph_bilinear_interdependence_layer",
        (
            "graph_bilinear_interdependence_layer",
            "tinybig.layer.graph_bilinear_interdependence_layer",
        ),
        "GAT layer: width edge-attention heads, mean-fused",
    ),
    (
        "chain_interdependence",
        "rpnkit.rpn.chain:chain_interdependence_layer",
        ("chain_interdependence_layer", "tinybig.layer.chain_interdependence_layer"),
        "Chain layer on sequences (b, L·m) -> (b, L·n), time-major",
    ),
    (
        "bilinear_interdependence",
        "rpnkit.rpn.attention:bilinear_interdependence_layer",
        (
            "bilinear_interdependence_layer",
            "attention_layer",
            "tinybig.layer.bilinear_interdependence_layer",
        ),
        "Attention layer: width attention heads, learnable concatenation fusion",
    ),
    (
        "grid_interdependence",
        "rpnkit.rpn.grid:GridInterdependenceLayer",
        ("grid_interdependence_layer", "tinybig.layer.grid_interdependence_layer"),
        "Convolution layer: width grid heads, mean-fused; images (b, C·H·W) or (b, C, H, W)",
    ),
    (
        "grid_compression",
        "rpnkit.rpn.grid:GridCompressionLayer",
        ("grid_compression_layer", "tinybig.layer.grid_compression_layer"),
        "Pooling layer: one grid compression head",
    ),
)

MODELS: tuple[Row, ...] = (
    (
        "gcn",
        "rpnkit.rpn.presets.graph:gcn",
        _model_aliases("gcn", "rpn_gcn"),
        "tinybig's gcn: graph interdependence layers over one graph (nodes as one batch)",
    ),
    (
        "gat",
        "rpnkit.rpn.presets.graph:gat",
        _model_aliases("gat", "rpn_gat"),
        "tinybig's gat: bilinear attention on the edges of one graph",
    ),
    (
        "rnn",
        "rpnkit.rpn.presets.sequence:rnn",
        _model_aliases("rnn", "rpn_rnn"),
        "tinybig's rnn: per-step perceptrons and chain mixing over time, (b, L·m) sequences",
    ),
    (
        "regression_rnn",
        "rpnkit.rpn.presets.sequence:regression_rnn",
        _model_aliases("regression_rnn", "rpn_regression_rnn"),
        "tinybig's regression_rnn: the rnn read out from the flattened (b, L·n) states",
    ),
    (
        "transformer",
        "rpnkit.rpn.presets.attention:transformer",
        _model_aliases("transformer", "rpn_transformer"),
        "tinybig's transformer: bilinear attention across a batch's instances + perceptrons",
    ),
    (
        "cnn",
        "rpnkit.rpn.presets.cnn:cnn",
        _model_aliases("cnn", "rpn_cnn"),
        "tinybig's cnn: convolution and pooling layers then perceptrons, images (b, C·H·W)",
    ),
    (
        "resnet",
        "rpnkit.rpn.presets.cnn:resnet",
        ("rpn_resnet", "tinybig.model.rpn_cnn.resnet"),
        "tinybig's resnet: the cnn with a dense linear remainder in every head",
    ),
)

INTERDEPENDENCES: tuple[Row, ...] = (
    (
        "graph_bilinear",
        "rpnkit.rpn.graph:EdgeBilinearInterdependence",
        ("edge_bilinear", "graph_attention"),
        "GAT attention: colsoftmax(Â ⊙ X W Xᵀ) computed on the edges only, b = nodes",
    ),
    (
        "sequence_chain",
        "rpnkit.rpn.chain:SequenceChainInterdependence",
        (),
        "A chain matrix applied over time to every length-L sequence of b·L rows",
    ),
    (
        "bilinear_attention",
        "rpnkit.rpn.attention:BilinearAttentionInterdependence",
        (),
        "colsoftmax(scale · X W Xᵀ) over the instances of a batch (zero entries masked)",
    ),
)

COMPONENTS: tuple[tuple[str, tuple[Row, ...]], ...] = (
    ("head", HEADS),
    ("layer", LAYERS),
    ("model", MODELS),
    ("interdependence", INTERDEPENDENCES),
)


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``head`` and ``layer`` groups."""
    for name, summary in GROUPS:
        registry.add_group(name, summary=summary, kinds=KINDS.get(name, ()))


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register the RPN 2 heads, layers, models and their interdependence functions."""
    for group, rows in COMPONENTS:
        for name, target, aliases, summary in rows:
            registry.register(group, name, target, summary=summary, aliases=aliases)
