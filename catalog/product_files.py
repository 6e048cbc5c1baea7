"""Reading an uploaded product file (CSV or XLSX) into its rows, refusing anything doubtful up front.

Every refusal is a ValidationError with a message an admin can act on; nothing touches the database.
"""

import collections
import csv
import hashlib
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import PurePath

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError

from backoffice.uploads import check_declared_size

from .resources import PRODUCT_COLUMNS, REQUIRED_PRODUCT_COLUMNS

MAX_PRODUCT_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_EXTENSIONS = {".csv", ".xlsx"}
BINARY_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive or Excel workbook",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel/Word document",
}


class ProductFile:
    """A product file's lower-cased headers and its rows (lists of cells), in file order.

    Iterating gives the rows. Not a tablib Dataset: building one checks and wraps every row (0.6 s for 100k
    rows), and the import reads each row once. `all_text`: every cell is a str (a CSV's), so the SQL path copies
    the rows as they are; a spreadsheet's cells may be numbers or empty."""

    def __init__(self, headers, rows, all_text=False):
        self.headers, self.rows, self.all_text = headers, rows, all_text

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)


def check_name_and_size(upload, name=None):
    """The checks that need no reading: a .csv or .xlsx name and a declared size within the limit. Returns the
    extension. (A large file passes these in the request; the background job reads and checks the rest.)"""
    name = name or getattr(upload, "name", "") or ""
    extension = PurePath(name).suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise ValidationError("Upload a .csv or .xlsx file (this one is '%(name)s').", params={"name": name})
    check_declared_size(
        upload,
        max_bytes=MAX_PRODUCT_FILE_BYTES,
        message="The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.",
        code="file_too_large",
    )
    return extension


def file_sha256(upload):
    """The SHA-256 of the bytes read_product_file reads: ties a preview's checked rows to the file they came from."""
    upload.seek(0)
    digest = hashlib.sha256(upload.read(MAX_PRODUCT_FILE_BYTES + 1)).hexdigest()
    upload.seek(0)
    return digest


def read_product_file(upload, name=None):
    """Return a ProductFile (lower-cased headers, rows) from an uploaded .csv or .xlsx file."""
    extension = check_name_and_size(upload, name)
    upload.seek(0)
    raw = upload.read(MAX_PRODUCT_FILE_BYTES + 1)
    upload.seek(0)
    if len(raw) > MAX_PRODUCT_FILE_BYTES:
        raise ValidationError(
            "The file is larger than %(limit)s MB. Split it into smaller files.",
            code="file_too_large",
            params={"limit": MAX_PRODUCT_FILE_BYTES // 1024 // 1024},
        )
    if not raw.strip():
        raise ValidationError("The file is empty.", code="empty_file")
    if extension == ".xlsx":
        headers, rows = _read_xlsx(raw)
    else:
        headers, rows = _read_csv(raw)
    _check_headers(headers)
    if not rows:
        raise ValidationError("The file has a header row but no products.", code="no_rows")
    return ProductFile(headers, rows, all_text=extension == ".csv")


def _check_shape(columns, rows):
    """Refuse a sheet wider or longer than the limits, before any row is turned into Python objects."""
    if columns > settings.PRODUCT_FILE_MAX_COLUMNS:
        raise ValidationError(
            "The sheet has %(found)s columns; a product file has at most %(limit)s.",
            code="too_many_columns",
            params={"found": columns, "limit": settings.PRODUCT_FILE_MAX_COLUMNS},
        )
    if rows > settings.PRODUCT_FILE_MAX_ROWS + 1:
        raise ValidationError(
            "The sheet has %(found)s rows; at most %(limit)s products per file. Split it into smaller files.",
            code="too_many_rows",
            params={"found": rows, "limit": settings.PRODUCT_FILE_MAX_ROWS},
        )


def _read_csv(raw):
    kind = _binary_kind(raw)
    if kind:
        raise ValidationError(
            "This is not a CSV text file (it looks like %(kind)s). Save the sheet as CSV (UTF-8) and upload that.",
            code="not_csv",
            params={"kind": kind},
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            "The file is not UTF-8 text (byte 0x%(byte)s at position %(position)s). "
            "Save it as 'CSV UTF-8' and upload it again.",
            code="wrong_encoding",
            params={"byte": f"{raw[exc.start]:02x}", "position": exc.start},
        ) from exc
    max_columns, max_lines = settings.PRODUCT_FILE_MAX_COLUMNS, settings.PRODUCT_FILE_MAX_ROWS + 1
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        records = []
        for record in reader:
            if len(record) > max_columns or reader.line_num > max_lines:
                _check_shape(len(record), reader.line_num)
            if "".join(record).strip():
                records.append(record)
    except csv.Error as exc:
        raise ValidationError(
            "The CSV file could not be read: %(error)s.", code="bad_csv", params={"error": exc}
        ) from exc
    if not records:
        raise ValidationError("The file is empty.", code="empty_file")
    headers = [cell.strip().lower() for cell in records[0]]
    rows = records[1:]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(headers):
            raise ValidationError(
                "Row %(row)s has %(found)s values but the header has %(expected)s columns.",
                code="ragged_row",
                params={"row": number, "found": len(row), "expected": len(headers)},
            )
    return headers, rows


def _read_xlsx(raw):
    if not raw.startswith(b"PK\x03\x04"):
        raise ValidationError(
            "This is not a real Excel .xlsx workbook. Save the sheet as .xlsx or CSV (UTF-8) and upload that.",
            code="not_xlsx",
        )
    _check_xlsx_before_loading(raw)
    try:
        dataset = tablib.Dataset().load(io.BytesIO(raw), format="xlsx")
    except Exception as exc:
        raise ValidationError("The Excel workbook could not be read.", code="bad_xlsx") from exc
    if not dataset.headers:
        raise ValidationError("The file is empty.", code="empty_file")
    headers = [str(header or "").strip().lower() for header in dataset.headers]
    rows = [list(row) for row in dataset if any(cell not in (None, "") for cell in row)]
    return headers, rows


CELL_REF = re.compile(r"([A-Z]{1,3})?(\d+)?")
WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")


def _column_number(letters):
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _check_xlsx_before_loading(raw):
    """What the workbook would unpack to, read from the zip directory and a streaming pass over each sheet's
    XML: the declared <dimension>, the highest row and column any cell names, and the row count. openpyxl
    pads every row to the sheet's width, so a 1.6 KB file declaring A1:XFD6000 would make 98 million cells."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ValidationError("The Excel workbook could not be read.", code="bad_xlsx") from exc
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > settings.PRODUCT_FILE_MAX_UNPACKED_BYTES or len(entries) > 1000:
        raise ValidationError(
            "The workbook unpacks to %(size)s MB; the limit is %(limit)s MB. Save it as CSV or split it.",
            code="unpacked_too_large",
            params={
                "size": round(unpacked / 1024 / 1024, 1),
                "limit": settings.PRODUCT_FILE_MAX_UNPACKED_BYTES // 1024 // 1024,
            },
        )
    for entry in entries:
        if WORKSHEET.fullmatch(entry.filename):
            try:
                with archive.open(entry) as sheet:
                    _check_sheet_xml(sheet)
            except (ET.ParseError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
                raise ValidationError("The Excel workbook could not be read.", code="bad_xlsx") from exc


def _cell_position(ref):
    """(column, row) of a cell reference like "XFD6000"; 0 for a part it does not name."""
    match = CELL_REF.fullmatch(ref.strip().upper())
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    letters, digits = match.groups()
    return _column_number(letters or ""), int(digits or 0)


def _check_sheet_xml(sheet):
    rows = 0
    context = ET.iterparse(sheet, events=("start", "end"))
    _, root = next(context)
    for event, element in context:
        tag = element.tag.rpartition("}")[2]
        if event == "end":
            if tag == "row":
                root.clear()  # keep memory flat: rows already checked are dropped
            continue
        if tag == "dimension":
            for corner in element.get("ref", "").split(":"):
                _check_shape(*_cell_position(corner))
        elif tag == "row":
            rows += 1
            _check_shape(0, max(rows, int(element.get("r") or 0)))
        elif tag == "c" and element.get("r"):
            _check_shape(*_cell_position(element.get("r")))


def _check_headers(headers):
    expected = ", ".join(PRODUCT_COLUMNS)
    counts = collections.Counter(headers)
    duplicates = sorted(header for header, count in counts.items() if count > 1)
    if duplicates:
        raise ValidationError(
            "Columns appear more than once: %(columns)s.",
            code="duplicate_columns",
            params={"columns": ", ".join(duplicates)},
        )
    missing = [column for column in REQUIRED_PRODUCT_COLUMNS if column not in headers]
    unknown = [header or "(blank)" for header in headers if header not in PRODUCT_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(unknown)}")
        raise ValidationError(
            "Wrong columns (%(problems)s). The columns are: %(expected)s (stock and active are optional).",
            code="wrong_columns",
            params={"problems": "; ".join(problems), "expected": expected},
        )


def _binary_kind(raw):
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text, not UTF-8"
    for signature, kind in BINARY_SIGNATURES.items():
        if raw.startswith(signature):
            return kind
    if b"\x00" in raw:  # anywhere: no text column may hold a NUL (PostgreSQL refuses one in text)
        return "a binary file"
    return None
