"""The reference checks of every notebook's exercises, one module per notebook (``nbNN.py``).

Importing this package registers them in ``labkit.course.checks.EXERCISES``; ``labkit.course``
imports it, so ``lk.check(...)`` knows every exercise.
"""

from labkit.course.exercises import nb04b

__all__ = ["nb04b"]
