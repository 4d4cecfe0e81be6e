"""dbt's selection flags as ``elt transform`` takes them and passes them on to ``dbt build`` and freshness."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DbtSelection:
    """The dbt flags ``elt transform`` passes through: vars, node selection and full refresh."""

    vars: str | None = None
    select: tuple[str, ...] = ()
    selector: str | None = None
    exclude: tuple[str, ...] = ()
    full_refresh: bool = False
    indirect_selection: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DbtSelection:
        """The selection given on ``elt transform``'s command line."""
        return cls(
            vars=args.vars,
            select=tuple(args.select or ()),
            selector=args.selector,
            exclude=tuple(args.exclude or ()),
            full_refresh=args.full_refresh,
            indirect_selection=args.indirect_selection,
        )

    def build_args(self) -> list[str]:
        """Arguments of ``dbt build``.

        With a selection, tests are chosen ``buildable`` unless told otherwise: dbt's default (``eager``)
        also picks a test whose other parent is outside the selection, e.g. the relationships test from
        ``stg_transactions__transactions`` to ``stg_app__users``, which errors when that model was never built.
        """
        indirect = self.indirect_selection or ("buildable" if self.select or self.selector else None)
        return [
            *self._selection_args(self.exclude),
            *(["--indirect-selection", indirect] if indirect else []),
            *(["--full-refresh"] if self.full_refresh else []),
        ]

    def freshness_args(self, skipped: Iterable[str]) -> list[str]:
        """Arguments of ``dbt source freshness``, leaving out the ``skipped`` source selectors."""
        return self._selection_args((*self.exclude, *skipped))

    def _selection_args(self, exclude: Iterable[str]) -> list[str]:
        args: list[str] = []
        if self.select:
            args += ["--select", *self.select]
        if self.selector:
            args += ["--selector", self.selector]
        exclude = list(exclude)
        if exclude:
            args += ["--exclude", *exclude]
        return args


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add dbt's ``--vars``, ``--select``, ``--selector``, ``--exclude`` and ``--full-refresh`` to ``parser``."""
    parser.add_argument("--vars", help="dbt vars as YAML, e.g. '{clv_time_unit: week}'")
    parser.add_argument("-s", "--select", nargs="+", action="extend", metavar="SPEC", help="dbt node selection")
    parser.add_argument("--selector", help="a selector of dbt_project/selectors.yml, e.g. daily")
    parser.add_argument("--exclude", nargs="+", action="extend", metavar="SPEC", help="dbt nodes to leave out")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")
    parser.add_argument(
        "--indirect-selection",
        choices=("eager", "cautious", "buildable", "empty"),
        help="which tests a --select/--selector takes along (default with a selection: buildable)",
    )
