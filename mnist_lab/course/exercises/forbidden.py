"""What an exercise forbids, resolved to what a call reaches, and said as a student knows it.

The own-code rule (`own_code`) asks, for each call a student's code makes, whether it reaches a
forbidden name: a package or module by its name (and a stable path such as
`mnist_lab.preprocess` by the module it stands for), a function by its code, a class by its
module, the course's solutions always. When one does, the message names it as the student
would write it: `tf.nn.conv2d`, not the decorator TensorFlow calls first.
"""

from __future__ import annotations

import importlib
import sys
from collections import deque
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import Any

from mnist_lab.course.exercises.catalog import SOLUTIONS

SOLUTIONS_PACKAGE = "mnist_lab.course.solutions"
SHORT = {"tensorflow": "tf", "numpy": "np"}  # how students write these packages' names
_CALLED = ("__init__", "__new__", "__call__", "call")  # a class's methods named as the class


@dataclass
class Seen:
    """The first forbidden call: who made it, what it reached, and the calls that followed."""

    where: str  # "ex09_convolution.py, line 42", or "" when the listed name is that function
    callee: Any  # the forbidden code object, or the builtin function called
    module: str
    listed: str = "the function"  # the name the test called, when it is the forbidden function
    wrapped: list[Any] = field(default_factory=list)  # functions a decorator's frame holds
    codes: list[CodeType] = field(default_factory=list)


class Forbidden:
    """The forbidden names, resolved to what a call reaches: module prefixes, code objects
    of functions and classes, builtin functions; and the public names to say them by."""

    def __init__(self, entries: tuple[str, ...]):
        self.entries = entries
        self.modules: set[str] = set()
        self.codes: dict[CodeType, str] = {}  # forbidden code -> the name the manifest gives
        self.objects: dict[int, str] = {}  # id of a forbidden builtin -> its name
        self.roots: list[tuple[str, ModuleType]] = []
        self.prefixes: tuple[str, ...] = ()

    @classmethod
    def resolve(cls, entries: tuple[str, ...]) -> Forbidden:
        forbidden = cls((*entries, SOLUTIONS_PACKAGE))
        for entry in forbidden.entries:
            forbidden.add(entry)
        forbidden.prefixes = tuple(f"{module}." for module in forbidden.modules)
        return forbidden

    def add(self, entry: str) -> None:
        self.modules.add(entry)
        if "." not in entry:  # a whole package: its name is enough, nothing to import
            return
        target = _imported(entry)
        if isinstance(target, ModuleType):
            self.modules.add(target.__name__)
            self.roots.append((entry, target))
            for name, value in vars(target).items():  # an API module re-exports functions
                if not name.startswith("_") and not isinstance(value, (ModuleType, type)):
                    self._add_object(value, f"{entry}.{name}")
        elif isinstance(target, type):
            self.modules.add(target.__module__)
            for member in vars(target).values():
                self._add_object(member, entry)
        elif target is not None:
            self._add_object(target, entry)

    def _add_object(self, value: Any, name: str) -> None:
        code = innermost_code(value)
        if code is not None:
            self.codes.setdefault(code, name)
        elif callable(value) and type(value).__name__ == "builtin_function_or_method":
            self.objects.setdefault(id(value), name)

    def holds(self, module: Any, callee: Any, filename: str = "") -> bool:
        """Whether a call into `module` reaching `callee` (a code object or a builtin) is
        forbidden."""
        if isinstance(module, str) and (module in self.modules or module.startswith(self.prefixes)):
            return True
        if isinstance(callee, CodeType):
            return callee in self.codes or filename.startswith(str(SOLUTIONS))
        return id(callee) in self.objects

    def name(self, seen: Seen) -> str:
        """The name a student knows for what was called: the manifest's, a public one, or
        where it lives."""
        if seen.module.startswith(SOLUTIONS_PACKAGE) or (
            isinstance(seen.callee, CodeType) and seen.callee.co_filename.startswith(str(SOLUTIONS))
        ):
            return f"the course's solution ({_qualified(seen)})"
        if isinstance(seen.callee, CodeType) and seen.callee in self.codes:
            return _short(self.codes[seen.callee])
        if not isinstance(seen.callee, CodeType) and id(seen.callee) in self.objects:
            return _short(self.objects[id(seen.callee)])
        public = public_names(self._roots_for(seen.module))
        inner = [code for function in seen.wrapped for code in wrapped_codes(function)]
        for code in (seen.callee, *inner, *seen.codes):
            if isinstance(code, CodeType) and code in public:
                return _short(public[code])
        return _short(_qualified(seen))

    def _roots_for(self, module: str) -> list[tuple[str, ModuleType]]:
        top = module.split(".")[0]
        roots = [(path, root) for path, root in self.roots if root.__name__.startswith(top)]
        if top in sys.modules:
            roots.append((top, sys.modules[top]))
        return roots


def public_names(roots: list[tuple[str, ModuleType]]) -> dict[CodeType, str]:
    """The code of each public function and class under `roots`, with the shortest public
    dotted name that reaches it (two levels of submodules, read without importing more)."""
    names: dict[CodeType, str] = {}
    queue = deque((path, module, 0) for path, module in roots)
    visited: set[int] = set()
    while queue:
        path, module, depth = queue.popleft()
        if id(module) in visited:
            continue
        visited.add(id(module))
        top = module.__name__.split(".")[0]
        for attribute, value in list(vars(module).items()):
            if attribute.startswith("_"):
                continue
            dotted = f"{path}.{attribute}"
            if isinstance(value, ModuleType):
                if depth < 2 and value.__name__.split(".")[0] == top:
                    queue.append((dotted, value, depth + 1))
            elif isinstance(value, type):
                for member, function in list(vars(value).items()):
                    code = innermost_code(function)
                    if code is not None:
                        said = dotted if member in _CALLED else f"{dotted}.{member}"
                        names.setdefault(code, said)
            else:
                code = innermost_code(value)
                if code is not None:
                    names.setdefault(code, dotted)
    return names


def _imported(dotted: str) -> Any:
    """The module, class or function a dotted name stands for, or None if it cannot be
    imported (a package not installed cannot be called either)."""
    try:
        return importlib.import_module(dotted)
    except ImportError:
        pass
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def innermost_code(value: Any) -> CodeType | None:
    """The code of the function a decorated function, method or property finally runs."""
    try:
        value = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
        for _ in range(10):
            inner = getattr(value, "__wrapped__", None)
            if inner is None or inner is value:
                break
            value = inner
        code = getattr(value, "__code__", None)
    except Exception:  # an object whose attributes compute something, and fail
        return None
    return code if isinstance(code, CodeType) else None


def wrapped_codes(function: Any, depth: int = 3) -> list[CodeType]:
    """The codes a decorated function may run, outermost first: its own, what `__wrapped__`
    leads to, and the functions its closure holds (a decorator keeps its target there)."""
    found: list[CodeType] = []
    pending = deque([(function, 0)])
    seen: set[int] = set()
    while pending:
        current, level = pending.popleft()
        if id(current) in seen or level > depth:
            continue
        seen.add(id(current))
        code = innermost_code(current)
        if code is not None:
            found.append(code)
        inner = getattr(current, "__wrapped__", None)
        cells = getattr(current, "__closure__", None) or ()
        for value in [inner, *(_cell_value(cell) for cell in cells)]:
            if callable(value) and not isinstance(value, type):
                pending.append((value, level + 1))
    return found


def _cell_value(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def module_of_builtin(function: Any) -> str:
    module = getattr(function, "__module__", None)
    if isinstance(module, str):
        return module
    owner = getattr(function, "__self__", None)
    return owner.__name__ if isinstance(owner, ModuleType) else type(owner).__module__


def _qualified(seen: Seen) -> str:
    callee = seen.callee
    name = getattr(callee, "co_qualname", None) or getattr(callee, "__qualname__", "?")
    return f"{seen.module}.{name}"


def _short(dotted: str) -> str:
    top, _, rest = dotted.partition(".")
    return f"{SHORT[top]}.{rest}" if top in SHORT and rest else dotted
