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

import os
import sys
import threading
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import Any

from mnist_lab.course.exercises.catalog import OwnCodeRule
from mnist_lab.course.exercises.forbidden import Forbidden, Seen, module_of_builtin

_LOOK_AHEAD = 40  # calls read after a forbidden one, to find a name a student knows


class NotOwnCode(Exception):
    """A student's function called what its exercise asks them to write themselves."""


class Watch:
    """The rule of one exercise for one imported student module."""

    def __init__(self, number: int, rule: OwnCodeRule, module: ModuleType):
        self.number, self.rule = number, rule
        path = str(getattr(module, "__file__", "") or "")
        self.files = {path, str(Path(path).resolve())} if path else set()
        for used in _used_files(path, rule.uses):  # earlier exercises it imports: theirs too
            self.files |= {str(used), str(used.resolve())}
        self.file_name = Path(path).name or "your file"
        self.student_globals = vars(module)
        self.given = {
            code
            for name in rule.given
            for code in _nested_codes(getattr(getattr(module, name, None), "__code__", None))
        }
        self.depth = 0
        self.listed = "the function"  # the name of the outermost function running
        self.seen: Seen | None = None
        self._forbidden: Forbidden | None = None
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
            self._forbidden = self._forbidden or Forbidden.resolve(self.rule.forbids)
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
                self.seen = Seen(
                    self._where(caller), frame.f_code, str(module), self.listed, wrapped
                )
        elif event == "c_call" and self.seen is None:
            student = self._callers.get(id(frame.f_code))
            if student is None:
                student = self._is_student(frame)
            if student:
                module = module_of_builtin(arg)
                if self._forbidden is not None and self._forbidden.holds(module, arg):
                    self.seen = Seen(self._where(frame), arg, module, self.listed)

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


def _used_files(path: str, numbers: tuple[int, ...]) -> list[Path]:
    """The files of the exercises numbered `numbers` in the folder of the file at `path`."""
    if not path or not numbers:
        return []
    folder = Path(path).parent
    return [used for number in numbers for used in sorted(folder.glob(f"ex{number:02d}_*.py"))]


def _nested_codes(code: CodeType | None) -> set[CodeType]:
    """`code` and every function or class body compiled inside it."""
    found: set[CodeType] = set()
    pending = [code] if isinstance(code, CodeType) else []
    while pending:
        current = pending.pop()
        found.add(current)
        pending += [const for const in current.co_consts if isinstance(const, CodeType)]
    return found
