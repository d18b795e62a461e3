"""The reference checks of every notebook's exercises, one module per notebook (``nbNN.py``).

Importing this package registers them in ``labkit.course.checks.EXERCISES``; ``labkit.course``
imports it, so ``lk.check(...)`` knows every exercise. Each check computes its expectation from the
kit (the env, the data, a model), never from a constant typed in.
"""

from labkit.course.exercises import nb00, nb01

__all__ = ["nb00", "nb01"]
