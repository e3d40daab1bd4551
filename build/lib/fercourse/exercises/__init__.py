"""Checks for the exercises, so that a reader working alone hears "correct" or why not.

Each chapter's checks live in their own module (``fercourse.exercises.ch02``...) and
return a :class:`Verdict`, which prints as one line in a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return ("Correct. " if self.correct else "Not yet: ") + self.message

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.correct else "❌"
        return f"{mark} {self}"


def correct(message: str = "") -> Verdict:
    return Verdict(True, message)


def wrong(message: str) -> Verdict:
    return Verdict(False, message)
