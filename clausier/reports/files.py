"""The report as a file, whichever door asks for it (CLI, API, web page)."""

from __future__ import annotations

from dataclasses import dataclass

from clausier.reports import exports, html
from clausier.reports.indicators import Report

FORMATS = ("html", "xlsx", "csv")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "xlsx": exports.XLSX_TYPE,
    "csv": exports.CSV_TYPE,
}


@dataclass(frozen=True)
class ReportFile:
    name: str  # rapport-buyer-23000002700014-2027.xlsx
    media_type: str
    body: bytes

    @property
    def disposition(self) -> str:
        return f'attachment; filename="{self.name}"'


def report_file(report: Report, format: str) -> ReportFile:
    if format == "xlsx":
        body = exports.to_xlsx(report)
    elif format == "csv":
        body = exports.to_csv(report)
    elif format == "html":
        body = html.render_file(report).encode("utf-8")
    else:
        raise ValueError(f"unknown report format {format!r}")
    return ReportFile(exports.file_name(report, format), MEDIA_TYPES[format], body)
