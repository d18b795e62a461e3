"""Static check of model-written reward code: an ``ast`` allow-list, applied before anything runs.

Accepted: top-level ``def``\\ s (the entry point ``compute_reward`` plus helpers that do not call each
other in a cycle), constant assignments, ``import math`` / ``import numpy as np`` / ``from math import
sqrt`` (bound to safe stand-ins, never executed), and inside functions: assignments, ``if``/``elif``/
``else``, ``return``, arithmetic, comparisons, ``and``/``or``/``not``, conditional expressions,
indexing, tuple/list/dict literals, and calls to the functions in :data:`MATH_FUNCS`, :data:`NUMPY_FUNCS`
and :data:`BUILTINS`. Refused: loops, comprehensions, lambdas, generators, imports of anything else,
any name or attribute starting with ``_``, attribute access other than ``math.f`` / ``np.f``,
``exec``/``eval``/``open``/``getattr``..., ``try``/``with``/``class``/``global``/decorators, ``*args``,
``out=`` keywords, repeating a list or string, ``**`` with anything but a small number literal.

With no loops and no recursion a checked function runs a bounded number of steps; the CPU-time and
memory limits of the worker (``sandbox.py``) are the second line of defence.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from typing import NoReturn

__all__ = ["RewardCodeError", "CheckedCode", "check_reward_source", "MATH_FUNCS", "NUMPY_FUNCS", "BUILTINS"]

MATH_FUNCS = frozenset(
    """sqrt exp log log10 log2 log1p expm1 pow fabs floor ceil sin cos tan asin acos atan atan2
    sinh cosh tanh hypot copysign isfinite isnan isclose degrees radians dist pi e tau inf""".split()
)
NUMPY_FUNCS = frozenset(
    """sqrt exp log log10 log2 log1p expm1 abs absolute sign square power floor ceil round
    sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh hypot minimum maximum clip where dot sum mean min max
    array asarray float32 float64 isfinite isnan deg2rad rad2deg pi e inf linalg.norm""".split()
)
BUILTINS = frozenset("abs min max float bool sum len".split())
MODULES = {"math": ("math", MATH_FUNCS), "numpy": ("np", NUMPY_FUNCS)}
MAX_SOURCE_CHARS, MAX_NODES, MAX_POW_EXPONENT = 8_000, 3_000, 10
_FORBIDDEN_BUILTINS = frozenset(n for n in dir(builtins) if n not in BUILTINS | {"True", "False", "None"})

_EXPR = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.expr_context,
)
_STMT = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.If, ast.Pass, ast.Expr)
_WHY = {
    ast.While: "loops are not allowed (no while/for): write the reward for one state, without iteration",
    ast.For: "loops are not allowed (no while/for): use numpy functions such as np.sum",
    ast.Lambda: "lambda is not allowed: define a named helper function with def",
    ast.GeneratorExp: "generators and comprehensions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.ClassDef: "classes are not allowed",
    ast.Try: "try/except is not allowed",
    ast.With: "with is not allowed",
    ast.Global: "global/nonlocal is not allowed",
    ast.Nonlocal: "global/nonlocal is not allowed",
    ast.Delete: "del is not allowed",
    ast.Raise: "raise is not allowed",
    ast.Assert: "assert is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.NamedExpr: "the walrus operator := is not allowed",
    ast.Starred: "*-unpacking is not allowed",
    ast.AsyncFunctionDef: "async functions are not allowed",
    ast.Set: "set literals are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
}


class RewardCodeError(ValueError):
    """Reward code refused (statically or at run time); ``str(err)`` says why and, if known, where."""

    #: ``"syntax"`` (does not parse), ``"no_code"`` (no function found), ``"refused"`` (breaks a rule);
    #: :class:`~.sandbox.RewardRunError` adds the run-time kinds.
    kind = "refused"

    def __init__(self, reason: str, line: int | None = None, kind: str | None = None):
        self.reason, self.line = reason, line
        if kind is not None:
            self.kind = kind
        super().__init__(f"line {line}: {reason}" if line else reason)


@dataclass
class CheckedCode:
    """The result of a successful check: a tree safe to compile, its entry point and what it reads.

    :ivar tree: the module, annotations and imports removed, ``**`` exponents made float.
    :ivar entry: name of the reward function.
    :ivar params: the inputs it declares (a subset of the documented inputs, in its order).
    :ivar bindings: local name -> whitelisted dotted name, e.g. ``{"np": "numpy", "sqrt": "math.sqrt"}``.
    """

    tree: ast.Module
    entry: str
    params: list[str]
    bindings: dict[str, str] = field(default_factory=dict)


def _fail(reason: str, node: ast.AST | None = None, kind: str | None = None) -> NoReturn:
    raise RewardCodeError(reason, getattr(node, "lineno", None), kind)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _imports(node: ast.Import | ast.ImportFrom, bindings: dict[str, str]) -> None:
    """Bind an allowed import (never executed) or refuse it."""
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name not in MODULES:
                _fail(
                    f"import {a.name} is not allowed: only math and numpy, which are already available as math and np",
                    node,
                )
            bindings[a.asname or a.name] = a.name
        return
    if node.module not in MODULES or node.level:
        _fail(f"from {node.module} import ... is not allowed: only math and numpy functions", node)
    allowed = MODULES[node.module][1]
    for a in node.names:
        if a.name not in allowed:
            _fail(f"{node.module}.{a.name} is not in the allowed list ({', '.join(sorted(allowed))})", node)
        bindings[a.asname or a.name] = f"{node.module}.{a.name}"


class _FunctionChecker(ast.NodeVisitor):
    """Check one function body; collect the helpers it calls."""

    def __init__(self, helpers: set[str], bindings: dict[str, str]):
        self.helpers, self.bindings = helpers, bindings
        self.calls: set[str] = set()
        self.sequences: set[str] = set()  # local names bound to list/tuple/str literals

    def generic_visit(self, node):
        if type(node) in _WHY:
            _fail(_WHY[type(node)], node)
        if not isinstance(node, _EXPR + _STMT + (ast.arguments, ast.arg)):
            _fail(f"{type(node).__name__} is not allowed in reward code", node)
        super().generic_visit(node)

    def visit_Name(self, node):
        if node.id.startswith("_"):
            _fail(f"names starting with '_' are not allowed ({node.id})", node)
        if isinstance(node.ctx, ast.Load):
            if self.bindings.get(node.id) in MODULES:
                _fail(f"the module {node.id} can only be used as {node.id}.function(...)", node)
            if node.id in _FORBIDDEN_BUILTINS:
                _fail(f"{node.id} is not available in reward code", node)
            if node.id in self.helpers or node.id in BUILTINS or node.id in self.bindings:
                _fail(f"the function {node.id} can only be called, not used as a value", node)

    def visit_Constant(self, node):
        if not isinstance(node.value, (int, float, bool, str, type(None))):
            _fail(f"constants of type {type(node.value).__name__} are not allowed", node)

    def visit_Dict(self, node):
        if any(k is None for k in node.keys):
            _fail("**-unpacking in dict literals is not allowed", node)
        self.generic_visit(node)

    def visit_Attribute(self, node):
        name = _dotted(node)
        root = name.split(".")[0] if name else None
        if node.attr.startswith("_"):
            _fail(f"attributes starting with '_' are not allowed (.{node.attr})", node)
        if root not in self.bindings or self.bindings[root] not in MODULES:
            _fail(
                f"attribute access `{ast.unparse(node)}` is not allowed: only math.f and np.f functions "
                "(write np.sum(x), not x.sum())",
                node,
            )
        module, allowed = MODULES[self.bindings[root]]
        rest = name.split(".", 1)[1] if "." in name else ""
        if rest not in allowed:
            _fail(f"{module}.{rest} is not in the allowed list ({', '.join(sorted(allowed))})", node)
        if not isinstance(node.ctx, ast.Load):
            _fail("assigning to an attribute is not allowed", node)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Name):
            bound = self.bindings.get(f.id)
            if f.id.startswith("_") or f.id in _FORBIDDEN_BUILTINS:
                _fail(f"{f.id}() is not available in reward code", node)
            if f.id in self.helpers:
                self.calls.add(f.id)
            elif f.id not in BUILTINS and not (bound and bound not in MODULES):
                _fail(
                    f"calling {f.id}() is not allowed: use math/np functions, {', '.join(sorted(BUILTINS))}, "
                    "or a helper defined with def",
                    node,
                )
        elif isinstance(f, ast.Attribute):
            self.visit_Attribute(f)
        else:
            _fail(f"only named functions can be called, not `{ast.unparse(f)}`", node)
        for kw in node.keywords:
            if kw.arg is None:
                _fail("**-unpacking in calls is not allowed", node)
            if kw.arg.startswith("_") or kw.arg in ("out", "where", "dtype", "key", "initial"):
                _fail(f"the keyword {kw.arg}= is not allowed", node)
            self.visit(kw.value)
        for a in node.args:
            self.visit(a)

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Pow):
            e = node.right
            val = (
                -e.operand.value
                if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant)
                else getattr(e, "value", None)
                if isinstance(e, ast.Constant)
                else None
            )
            if isinstance(val, bool) or not isinstance(val, (int, float)) or abs(val) > MAX_POW_EXPONENT:
                _fail(
                    f"** needs a number literal exponent of at most {MAX_POW_EXPONENT} in size "
                    "(use np.power(a, b) for other exponents)",
                    node,
                )
            node.right = ast.copy_location(ast.Constant(float(val)), e)  # float power: no huge integers
        if isinstance(node.op, (ast.Mult, ast.Add)) and any(self._is_sequence(s) for s in (node.left, node.right)):
            _fail("repeating or concatenating lists and strings is not allowed", node)
        self.generic_visit(node)

    def _is_sequence(self, node) -> bool:
        return (
            isinstance(node, (ast.List, ast.Tuple))
            or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))
            or (isinstance(node, ast.Name) and node.id in self.sequences)
        )

    def visit_Assign(self, node):
        for t in node.targets:
            self._target(t)
            if isinstance(t, ast.Name) and self._is_sequence(node.value):
                self.sequences.add(t.id)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target)
        if isinstance(node.op, (ast.Mult, ast.Add)) and (
            self._is_sequence(node.target) or self._is_sequence(node.value)
        ):
            _fail("repeating or concatenating lists and strings is not allowed", node)
        self.generic_visit(node)

    def _target(self, t):
        if isinstance(t, ast.Tuple):
            for e in t.elts:
                self._target(e)
        elif not isinstance(t, ast.Name):
            _fail(f"only plain names can be assigned to, not `{ast.unparse(t)}`", t)
        elif t.id in self.bindings or t.id in self.helpers or t.id in BUILTINS:
            _fail(f"{t.id} is a function or module name and cannot be assigned to", t)

    def visit_Expr(self, node):
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            _fail("a bare expression statement does nothing here (only docstrings are allowed)", node)


def _strip_annotations(tree: ast.Module) -> None:
    """Remove annotations (documentation only, never evaluated) and turn ``x: T = v`` into ``x = v``."""
    for node in list(ast.walk(tree)):
        if isinstance(node, ast.FunctionDef):
            node.returns = None
            for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
                a.annotation = None
        for name, value in ast.iter_fields(node):
            if isinstance(value, list) and any(isinstance(s, ast.AnnAssign) for s in value):
                out = []
                for s in value:
                    if isinstance(s, ast.AnnAssign):
                        if s.value is None:
                            _fail("an annotation without a value is not allowed", s)
                        s = ast.copy_location(ast.Assign([s.target], s.value), s)
                    out.append(s)
                setattr(node, name, out)


def check_reward_source(source: str, inputs: list[str], entry: str = "compute_reward") -> CheckedCode:
    """Check reward code against the allow-list and return a tree that is safe to compile.

    :param source: Python source with a function ``entry`` (or exactly one function).
    :param inputs: the documented input names the function may declare as parameters.
    :raises RewardCodeError: the first rule broken, with its line.
    """
    tree = _parse(source)
    _strip_annotations(tree)
    _refuse_names(tree)
    bindings: dict[str, str] = {"math": "math", "np": "numpy"}  # always available, no import needed
    funcs, body = _top_level(tree, bindings)
    if not funcs:
        _fail(f"no function was found: define `def {entry}(...)` returning the reward", kind="no_code")
    if entry not in funcs:
        if len(funcs) != 1:
            _fail(f"no function named {entry} (found {', '.join(funcs)})")
        entry = next(iter(funcs))
    checker = _FunctionChecker(set(funcs), bindings)
    for n in (n for n in body if not isinstance(n, ast.FunctionDef)):  # top-level constants
        checker.visit(n)
        for sub in ast.walk(n):
            if isinstance(sub, ast.Call):
                _fail("top-level code may only assign constants (no calls)", sub)
    calls = {name: _check_function(func, set(funcs), bindings) for name, func in funcs.items()}
    _refuse_cycles(calls, funcs)
    params = [p.arg for p in funcs[entry].args.args]
    n_defaults = len(funcs[entry].args.defaults)
    required = params[: len(params) - n_defaults] if n_defaults else params
    unknown = [p for p in required if p not in inputs]
    if unknown:
        _fail(
            f"{entry}() asks for unknown input(s) {', '.join(unknown)}; the inputs are {', '.join(inputs)}",
            funcs[entry],
        )
    clean = ast.Module(body=body, type_ignores=[])
    return CheckedCode(ast.fix_missing_locations(clean), entry, [p for p in params if p in inputs], bindings)


def _parse(source: str) -> ast.Module:
    """The syntax tree of ``source``, refused when empty, too long or too large."""
    if not isinstance(source, str) or not source.strip():
        _fail("no code was found", kind="no_code")
    if len(source) > MAX_SOURCE_CHARS:
        _fail(f"the code is longer than {MAX_SOURCE_CHARS} characters")
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise RewardCodeError(f"syntax error: {err.msg}", err.lineno, "syntax") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise RewardCodeError(f"the code cannot be parsed ({type(err).__name__})", None, "syntax") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        _fail(f"the code has more than {MAX_NODES} syntax nodes")
    return tree


def _top_level(tree: ast.Module, bindings: dict[str, str]) -> tuple[dict[str, ast.FunctionDef], list[ast.stmt]]:
    """The module's functions by name and the statements kept (imports are bound, not kept)."""
    funcs: dict[str, ast.FunctionDef] = {}
    body: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _imports(node, bindings)
            continue
        if isinstance(node, ast.FunctionDef):
            if node.decorator_list:
                _fail("decorators are not allowed", node)
            if node.name.startswith("_"):
                _fail(f"names starting with '_' are not allowed ({node.name})", node)
            funcs[node.name] = node
        elif not (
            isinstance(node, ast.Assign) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        ):
            _fail(_WHY.get(type(node), f"{type(node).__name__} is not allowed at the top level"), node)
        body.append(node)  # constants are checked like function code
    return funcs, body


def _check_function(func: ast.FunctionDef, helpers: set[str], bindings: dict[str, str]) -> set[str]:
    """Check one function's signature and body; return the helpers it calls."""
    a = func.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        _fail(f"{func.name}() may not take *args, **kwargs or keyword-only parameters", func)
    for d in a.defaults:
        if not isinstance(d, ast.Constant) or isinstance(d.value, (str, bytes)):
            _fail(f"default values of {func.name}() must be numbers", func)
    for arg in a.args:
        if arg.arg.startswith("_") or arg.arg in bindings:
            _fail(f"parameter name {arg.arg} is not allowed", func)
    checker = _FunctionChecker(helpers, bindings)
    for stmt in func.body:
        checker.visit(stmt)
    return checker.calls


def _refuse_names(tree: ast.AST) -> None:
    """First passes, for clear messages: forbidden constructs, then dunder/underscore names and Python's
    other builtins, anywhere in the code."""
    for node in ast.walk(tree):
        if type(node) in _WHY:
            _fail(_WHY[type(node)], node)
    for node in ast.walk(tree):
        for ident in (
            getattr(node, "id", None),
            getattr(node, "attr", None),
            getattr(node, "arg", None),
            getattr(node, "name", None) if isinstance(node, (ast.FunctionDef, ast.alias)) else None,
        ):
            if isinstance(ident, str) and ident.startswith("__"):
                _fail(f"dunder names such as {ident} are not allowed: they reach Python's internals", node)
            if isinstance(ident, str) and ident.startswith("_"):
                _fail(f"names starting with '_' are not allowed ({ident})", node)
        if isinstance(node, ast.Name) and node.id in _FORBIDDEN_BUILTINS:
            _fail(f"{node.id} is not available in reward code (allowed builtins: {', '.join(sorted(BUILTINS))})", node)


def _refuse_cycles(calls: dict[str, set[str]], funcs: dict) -> None:
    state: dict[str, int] = {}

    def visit(f, path):
        if state.get(f) == 1:
            _fail(f"recursion is not allowed ({' -> '.join(path + [f])})", funcs[f])
        if state.get(f) == 2:
            return
        state[f] = 1
        for g in calls.get(f, ()):
            visit(g, path + [f])
        state[f] = 2

    for f in calls:
        visit(f, [])
