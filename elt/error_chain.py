"""A failed run's exception chain as lines a user can act on: the outermost message, then one line per cause.

dlt wraps what a source raised twice (``PipelineStepFailed`` around ``ResourceExtractionError`` around the
source's own error), and the first line of the outermost says only at which step it failed. Each wrapper's
line is cut where it starts repeating its cause, so the chain reads from where to why without duplicates;
credentials that a URL may carry are masked.
"""

from __future__ import annotations

import re

_MAX_LINE = 600
_CLASS_REPR = re.compile(r"<class '[\w.]+'>")
_SECRETS = (
    (re.compile(r"((?:api_key|apikey|password|token|secret)=)[^&\s'\"]+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),
)


def exception_chain(error: BaseException) -> list[BaseException]:
    """``error`` and its causes, outermost first.

    A cause is ``__cause__``, an unsuppressed ``__context__``, or dlt's ``exception`` attribute of a failed step.
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        wrapped = getattr(current, "exception", None)
        current = (
            current.__cause__
            or (None if current.__suppress_context__ else current.__context__)
            or (wrapped if isinstance(wrapped, BaseException) else None)
        )
    return chain


def describe_causes(error: BaseException) -> list[str]:
    """One line per exception of the chain: the outermost's first line, then ``caused by <Type>: ...``."""
    chain = exception_chain(error)
    lines = []
    for index, current in enumerate(chain):
        text = _message(current)
        if index + 1 < len(chain):
            cause = _message(chain[index + 1])
            if cause and cause in text:
                text = text[: text.index(cause)].rstrip(" :\n") + ":"
        text = _first_line(text) or type(current).__name__
        lines.append(text if index == 0 else f"caused by {type(current).__name__}: {text}")
    return [_redact(line) for line in lines]


def _message(error: BaseException) -> str:
    """The message on one line, without the ``<class '...'>`` dlt puts before the wrapped exception's text."""
    return " ".join(_CLASS_REPR.sub(" ", str(error)).split())


def _first_line(text: str) -> str:
    line = text.strip()
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "..."


def _redact(line: str) -> str:
    for pattern, replacement in _SECRETS:
        line = pattern.sub(replacement, line)
    return line
