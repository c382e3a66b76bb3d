"""A report as a Rich table, for the `report` command's terminal output (services stay free of
Rich: `console.services.supervision.reports` computes, this draws)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

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
