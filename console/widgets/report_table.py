"""A report as a Rich table, for the `report` command's terminal output (services stay free of
Rich: `console.services.supervision.reports` computes, this draws)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from console.services.outbound.results import DEFINITIONS as RESULT_DEFINITIONS
from console.services.outbound.results import DISPLAY_COLUMNS as RESULT_COLUMNS
from console.services.outbound.results import ResultsReport
from console.services.supervision.reports import Report, display_columns


def rich_table(report: Report, width: int | None = None) -> Table:
    """The report as a Rich table (fit for ``width``); names are `Text`, never markup."""
    columns = display_columns(width)
    table = Table(
        title=Text(report.describe()),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column(report.group_by.value.capitalize(), min_width=8, max_width=24, no_wrap=True)
    for header, _ in columns:
        table.add_column(header, justify="right", no_wrap=True)
    for row in report.rows:
        table.add_row(Text(row.key), *(Text(cell(row)) for _, cell in columns))
    table.add_section()
    total = report.total
    table.add_row(
        Text("Total", style="bold"), *(Text(cell(total), style="bold") for _, cell in columns)
    )
    return table


def print_table(report: Report, console: Console) -> None:
    """The table, then the active definitions under it."""
    console.print(rich_table(report, console.width))
    console.print(Text(report.definitions.describe(), style="dim"))


def results_table(report: ResultsReport) -> Table:
    """Campaign results as a Rich table; names are `Text`, never markup."""
    table = Table(
        title=Text(report.describe()),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column(report.by.value.capitalize(), min_width=8, max_width=28, no_wrap=True)
    for header, _ in RESULT_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in report.rows:
        table.add_row(Text(row.key), *(Text(cell(row.counts)) for _, cell in RESULT_COLUMNS))
    table.add_section()
    total = report.total.counts
    table.add_row(
        Text("Total", style="bold"),
        *(Text(cell(total), style="bold") for _, cell in RESULT_COLUMNS),
    )
    return table


def print_results(report: ResultsReport, console: Console) -> None:
    """The results table, then the definitions under it."""
    console.print(results_table(report))
    console.print(Text(RESULT_DEFINITIONS, style="dim"))
