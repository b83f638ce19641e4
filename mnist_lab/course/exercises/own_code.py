"""The own-code rule: while a student's function runs, a call from their code into what the
exercise forbids fails the test, however the call was reached.

Each exercise names in exercises/manifest.toml what it asks the student to write (`functions`)
and what their code therefore may not call (`forbids`: packages, modules, functions or classes
by their public dotted names; the course's solutions always). The exercise tests run each listed
function through `Watch.call`. While it runs, a profile hook (`sys.setprofile`) sees every call
and records the first one whose caller is the student's code (their file, or code it compiled
with exec or eval) and whose callee is forbidden: an alias imported at module level, a module
found by `importlib` from a computed name, `getattr` on a module and `exec` of a string all end
in the same call. Calls the libraries make among themselves, and those of the exercise's given
helpers, are not the student's. The file's text is never read.

This is a teaching aid that runs in the student's own process, as their code does; `mnist-lab
grade` runs each student in a sandbox of its own.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import Any

from mnist_lab.course.exercises.catalog import SOLUTIONS, OwnCodeRule

SOLUTIONS_PACKAGE = "mnist_lab.course.solutions"
SHORT = {"tensorflow": "tf", "numpy": "np"}  # how students write these packages' names
_CALLED = ("__init__", "__new__", "__call__", "call")  # a class's methods named as the class
_LOOK_AHEAD = 40  # calls read after a forbidden one, to find a name a student knows


class NotOwnCode(Exception):
    """A student's function called what its exercise asks them to write themselves."""


@dataclass
class _Seen:
    """The first forbidden call: who made it, what it reached, and the calls that followed."""

    where: str  # "ex09_convolution.py, line 42", or "" when the listed name is that function
    callee: Any  # the forbidden code object, or the builtin function called
    module: str
    listed: str = "the function"  # the name the test called, when it is the forbidden function
    wrapped: list[Any] = field(default_factory=list)  # functions a decorator's frame holds
    codes: list[CodeType] = field(default_factory=list)


class Watch:
    """The rule of one exercise for one imported student module."""

    def __init__(self, number: int, rule: OwnCodeRule, module: ModuleType):
        self.number, self.rule = number, rule
        path = str(getattr(module, "__file__", "") or "")
        self.files = {path, str(Path(path).resolve())} if path else set()
        self.file_name = Path(path).name or "your file"
        self.student_globals = vars(module)
        self.given = {
            code
            for name in rule.given
            for code in _nested_codes(getattr(getattr(module, name, None), "__code__", None))
        }
        self.depth = 0
        self.listed = "the function"  # the name of the outermost function running
        self.seen: _Seen | None = None
        self._forbidden: _Forbidden | None = None
        # Verdicts by id(code): a code object's hash is recomputed on every lookup. Each code
        # judged is kept alive in _kept, so its id is never reused while the watch lives.
        self._callers: dict[int, bool] = {}
        self._callees: dict[int, bool] = {}
        self._kept: list[CodeType] = []
        self._files: dict[str, bool] = {}
        self._profiles: tuple[Any, Any] = (None, None)

    def __repr__(self) -> str:
        return f"Watch(exercise {self.number}, functions={list(self.rule.functions)})"

    # --- running a student's function ----------------------------------------------------------

    def call(self, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        """`function(*args, **kwargs)`, watched; NotOwnCode if it made a forbidden call."""
        name = getattr(function, "__name__", "the function")
        return self.call_as(name, function, *args, **kwargs)

    def call_as(self, name: str, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        """`call`, for a function the student's file holds under `name` (the messages say it)."""
        if self.depth == 0:
            self._forbidden = self._forbidden or _Forbidden.resolve(self.rule.forbids)
            self.seen = None
            self.listed = name
            self._profiles = (sys.getprofile(), threading.getprofile())
            threading.setprofile(self._hook)
            sys.setprofile(self._hook)
        self.depth += 1
        try:
            return function(*args, **kwargs)
        finally:
            self.depth -= 1
            if self.depth == 0:
                sys.setprofile(self._profiles[0])
                threading.setprofile(self._profiles[1])
            if self.seen is not None:
                raise NotOwnCode(self.message()) from None

    def _hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            seen = self.seen
            if seen is not None:
                if len(seen.codes) < _LOOK_AHEAD:
                    seen.codes.append(frame.f_code)
                return
            caller = frame.f_back
            if caller is None:
                return
            student = self._callers.get(id(caller.f_code))
            if student is None:
                student = self._is_student(caller)
            if not student:
                return
            callee = frame.f_code
            if self._callers.get(id(callee)) is None and not self._real(callee.co_filename):
                self._adopt(frame)  # code compiled from a string, run by theirs: theirs too
            if self._forbidden_callee(callee, frame.f_globals):
                module = frame.f_globals.get("__name__")
                # A decorator's wrapper is called first (tf.nn.conv2d's error handler): the
                # function it wraps, in its closure, has the name the student used.
                wrapped = [value for value in frame.f_locals.values() if callable(value)]
                self.seen = _Seen(
                    self._where(caller), frame.f_code, str(module), self.listed, wrapped
                )
        elif event == "c_call" and self.seen is None:
            student = self._callers.get(id(frame.f_code))
            if student is None:
                student = self._is_student(frame)
            if student:
                module = _module_of_builtin(arg)
                if self._forbidden is not None and self._forbidden.holds(module, arg):
                    self.seen = _Seen(self._where(frame), arg, module, self.listed)

    # --- whose code is it ----------------------------------------------------------------------

    def _is_student(self, frame: FrameType) -> bool:
        """Whether `frame` runs the student's code: their file, `call` itself (the listed name
        may be any function), or code compiled from a string that their code ran."""
        code = frame.f_code
        if code is _CALL_CODE:
            return True
        if code in self.given:
            return self._remember(code, False)
        filename = code.co_filename
        if filename in self.files:
            return self._remember(code, True)
        if self._real(filename):
            return self._remember(code, False)
        # Compiled from a string: the student's when their code runs it or it shares their
        # module's globals (exec at import time); libraries' generated code (dataclasses,
        # namedtuples) runs from the libraries. Decided on each call, remembered when theirs.
        caller = frame.f_back
        if frame.f_globals is self.student_globals or (
            caller is not None
            and self._callers.get(id(caller.f_code)) is not False
            and self._is_student(caller)
        ):
            self._adopt(frame)
            return True
        return False

    def _real(self, filename: str) -> bool:
        """Whether code comes from a file (or Python's frozen modules), not from a string."""
        real = self._files.get(filename)
        if real is None:
            real = filename.startswith("<frozen ") or os.path.isfile(filename)
            self._files[filename] = real
        return real

    def _adopt(self, frame: FrameType) -> None:
        """Count the string-compiled code of `frame`, and every function defined in it, as the
        student's: called later from anywhere (a library's callback), it is still theirs. Code
        that libraries generate into their own modules' namespaces (dataclasses) is not."""
        name = frame.f_globals.get("__name__")
        owner = sys.modules.get(name) if isinstance(name, str) else None
        generated = owner is not None and vars(owner) is frame.f_globals
        if generated and frame.f_globals is not self.student_globals:
            return
        for code in _nested_codes(frame.f_code):
            self._remember(code, True)

    def _remember(self, code: CodeType, student: bool) -> bool:
        self._callers[id(code)] = student
        self._kept.append(code)
        return student

    def _forbidden_callee(self, code: CodeType, globals_: dict[str, Any]) -> bool:
        verdict = self._callees.get(id(code))
        if verdict is None:
            verdict = (
                code.co_name != "<module>"  # an import runs a module: not a call of its API
                and code.co_filename not in self.files
                and self._forbidden is not None
                and self._forbidden.holds(globals_.get("__name__"), code, code.co_filename)
            )
            self._callees[id(code)] = verdict
            self._kept.append(code)
        return verdict

    def _where(self, frame: FrameType | None) -> str:
        """The student's line that led to the call: the nearest frame in their file."""
        while frame is not None:
            if frame.f_code.co_filename in self.files:
                return f"{Path(frame.f_code.co_filename).name}, line {frame.f_lineno}"
            if frame.f_code is _CALL_CODE:
                return ""
            frame = frame.f_back
        return ""

    # --- what to say ---------------------------------------------------------------------------

    def message(self) -> str:
        """One line: what the exercise asks for, what was called, and from where."""
        seen = self.seen
        assert seen is not None and self._forbidden is not None
        name = self._forbidden.name(seen)
        said = f"exercise {self.number} asks for {self.rule.asks}: {name} was called"
        if seen.where:
            return f"{said} ({seen.where})"
        listed = f"{seen.listed} in {self.file_name}"
        return f"{said}: {listed} is that very function; write your own with a def"


_CALL_CODE = Watch.call_as.__code__


class _Forbidden:
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
    def resolve(cls, entries: tuple[str, ...]) -> _Forbidden:
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
        code = _innermost_code(value)
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

    def name(self, seen: _Seen) -> str:
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
        inner = [code for function in seen.wrapped for code in _wrapped_codes(function)]
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
                    code = _innermost_code(function)
                    if code is not None:
                        said = dotted if member in _CALLED else f"{dotted}.{member}"
                        names.setdefault(code, said)
            else:
                code = _innermost_code(value)
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


def _innermost_code(value: Any) -> CodeType | None:
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


def _wrapped_codes(function: Any, depth: int = 3) -> list[CodeType]:
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
        code = _innermost_code(current)
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


def _nested_codes(code: CodeType | None) -> set[CodeType]:
    """`code` and every function or class body compiled inside it."""
    found: set[CodeType] = set()
    pending = [code] if isinstance(code, CodeType) else []
    while pending:
        current = pending.pop()
        found.add(current)
        pending += [const for const in current.co_consts if isinstance(const, CodeType)]
    return found


def _module_of_builtin(function: Any) -> str:
    module = getattr(function, "__module__", None)
    if isinstance(module, str):
        return module
    owner = getattr(function, "__self__", None)
    return owner.__name__ if isinstance(owner, ModuleType) else type(owner).__module__


def _qualified(seen: _Seen) -> str:
    callee = seen.callee
    name = getattr(callee, "co_qualname", None) or getattr(callee, "__qualname__", "?")
    return f"{seen.module}.{name}"


def _short(dotted: str) -> str:
    top, _, rest = dotted.partition(".")
    return f"{SHORT[top]}.{rest}" if top in SHORT and rest else dotted
