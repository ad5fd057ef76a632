"""rpnkit plugin: torchmetrics' classification and regression metrics as ``tm.*`` metrics.

:mod:`~rpnkit_torchmetrics.catalog` lists them, :mod:`~rpnkit_torchmetrics.plugin` registers
them, :mod:`~rpnkit_torchmetrics.adapter` runs a torchmetrics metric behind rpnkit's streaming
metric interface and :mod:`~rpnkit_torchmetrics.metrics` holds one adapter class per metric.
"""
