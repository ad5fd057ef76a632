"""tinybig configs read as rpnkit configs: every key mapped exactly, or refused in one line.

A tinybig config has a ``configurations:`` root of ``*_configs`` sections, and every object
in it is a class path with its parameters, in tinybig 0.2.1's spelling (``function_class`` /
``function_parameters``) or the older one (``data_transformation_class`` / ...).
:func:`~rpnkit.tinybig.run.translate_tinybig` turns it into rpnkit's config form with the same meaning: class
paths become rpnkit registry names (by the class name, which every rpnkit component answers
to), parameters keep their names, and what tinybig computes from a key decides what it
becomes. A key with no exact equivalent is refused with its key path and the reason; all of
them are found in one pass (:class:`~rpnkit.tinybig.problems.TinybigConfigError`). Keys that are pure labels (``name``,
``device`` inside objects) are ignored by design.

This package is the only place that knows tinybig's shapes; its modules:

* ``reading``: the two spellings of a class and its parameters;
* ``names``: class paths as registry names, parameters by signature;
* ``functions``: processing functions as rpnkit processing steps;
* ``components``: expansions, reconciliations, remainders, fusions;
* ``network``: heads, layers and the model;
* ``run``: the run sections and :func:`translate_tinybig`;
* ``labels``: the ``label_regression`` dataset (tinybig's float labels).

The package itself imports nothing, so the entries of tinybig's Python API (the learner's
components, :func:`rpnkit.build`) can translate tinybig's component form
(:func:`rpnkit.tinybig.reading.rpnkit_form`) without loading the config translator, which
looks names up in the registry. The registry never sees tinybig's form. Import
:func:`~rpnkit.tinybig.run.translate_tinybig` from ``rpnkit.tinybig.run``.
"""
