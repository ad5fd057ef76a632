"""Model presets: tinybig 0.2.1's classic models as :class:`~rpnkit.rpn.model.RPN` stacks.

Each preset takes the layer sizes ``dims = [d_0, d_1, …, d_K]`` and builds one layer per
neighbouring pair ``d_i -> d_{i+1}``, with the parameter names and defaults of tinybig's model,
layer and head classes (``channel_num`` is a head's channel count):

* :func:`perceptron`: tinybig's ``perceptron_layer`` stack (bias on, relu, dropout 0.5 and
  softmax on every layer);
* :func:`mlp`: tinybig's ``mlp`` (the same layers with the bias off);
* :func:`kan`: B-spline expansion and a SiLU linear remainder;
* :func:`svm`: a linear, Gaussian RBF or inverse-quadratic RBF kernel expansion;
* :func:`naive_bayes`: the naive log-density expansion of one distribution;
* :func:`pgm`: the combinatorial normal log-density expansion;
* :func:`gcn`, :func:`gat`: tinybig's graph models over one graph (:mod:`.graph`).

The sequence and attention models (``rnn``, ``regression_rnn`` in :mod:`.sequence`,
``transformer`` in :mod:`.attention`) are not listed here: their ``dims`` are per-step or
hidden sizes, which a dataset's width does not give (``auto`` takes the first and last
``dims`` of the presets listed here).

Their heads default to ``parameters_init_method="xavier_normal"``, as tinybig's do. Output
processing modules (batch norm, dropout) are registered submodules and follow ``.eval()``.

One deliberate difference: tinybig's preset layers repeat *one* head object ``width`` times
(``[head] * width``), so their heads share parameters and ``width`` changes nothing but the
dropout draws. Here every head is independent, as the RPN definition intends; with
``width=1`` (the default) the parameter counts are tinybig's.
"""

from rpnkit.rpn.presets.classic import KERNELS, NAIVE_DISTRIBUTIONS, naive_bayes, pgm, svm
from rpnkit.rpn.presets.graph import gat, gcn
from rpnkit.rpn.presets.neural import kan, mlp, perceptron

__all__ = [
    "KERNELS",
    "NAIVE_DISTRIBUTIONS",
    "gat",
    "gcn",
    "kan",
    "mlp",
    "naive_bayes",
    "perceptron",
    "pgm",
    "svm",
]
