"""The reference checks of every notebook's exercises, one module per notebook (``nbNN.py``).

Importing this package registers them in ``labkit.course.checks.EXERCISES``; ``labkit.course``
imports it, so ``lk.check(...)`` knows every exercise. Each check computes its expectation from the
kit (the env, the data, a model), never from a constant typed in. A new notebook's checks go in a new
``nbNN.py`` here; it is found and imported by name, nothing else to edit.
"""

import importlib
import pkgutil

__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("nb"))

for _name in __all__:
    importlib.import_module(f"{__name__}.{_name}")
