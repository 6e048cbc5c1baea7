"""Spreadsheet formula escaping for every CSV/XLSX the product writes.

Why: exported cells hold text that members and staff typed (emails, names, app names). A cell starting
with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel/LibreOffice
(`=HYPERLINK(...)`, `=cmd|...`). Such a cell is written with a leading apostrophe, which spreadsheets show
as plain text (OWASP's advice). Plain numbers ("-5", "+3.2") are left alone: they are not formulas.

Every writer goes through `escape_cell`. There are two ways to export, one for each kind of table:
- an admin listing (a model's rows, filters applied) is exported by Wagtail itself: the viewset's `list_export`
  (`export_headings`, `export_filename`), CSV and XLSX, escaped by `install_wagtail_export_escaping`, called once
  from `BackofficeConfig.ready`. A new listing export is one `list_export` line: no view of its own.
- a report that is not a model listing (downloads by app, the business reports) writes its CSV with `csv_writer`.
"""

import csv
import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def escape_cell(value):
    """The value, with text that a spreadsheet would run as a formula turned into plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_row(row):
    return [escape_cell(value) for value in row]


class _EscapingWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row):
        return self._writer.writerow(escape_row(row))

    def writerows(self, rows):
        return self._writer.writerows(escape_row(row) for row in rows)


def csv_writer(stream, **kwargs):
    """`csv.writer(stream)` whose every cell goes through `escape_cell`."""
    return _EscapingWriter(csv.writer(stream, **kwargs))


def install_wagtail_export_escaping():
    """Make every Wagtail listing export (SpreadsheetExportMixin: CSV and XLSX) escape its cells.

    Wagtail writes each cell through `preprocess_field_value`, so wrapping it once covers every viewset's
    `list_export`, present and future, in both formats.
    """
    from wagtail.admin.views.mixins import SpreadsheetExportMixin

    original = SpreadsheetExportMixin.preprocess_field_value
    if getattr(original, "escapes_formulae", False):
        return

    def preprocess_field_value(self, field, value, export_format):
        return escape_cell(original(self, field, value, export_format))

    preprocess_field_value.escapes_formulae = True
    SpreadsheetExportMixin.preprocess_field_value = preprocess_field_value
