"""Reading an uploaded product file (CSV or XLSX) into a tablib Dataset, refusing anything doubtful up front.

Every refusal is a ValidationError with a message an admin can act on; nothing touches the database.
"""

import csv
import io
from pathlib import PurePath

import tablib
from django.core.exceptions import ValidationError

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


def read_product_file(upload, name=None):
    """Return a Dataset with lower-cased headers from an uploaded .csv or .xlsx file."""
    name = name or getattr(upload, "name", "") or ""
    extension = PurePath(name).suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise ValidationError("Upload a .csv or .xlsx file (this one is '%(name)s').", params={"name": name})
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_PRODUCT_FILE_BYTES:
        raise ValidationError(
            "The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.",
            code="file_too_large",
            params={"size": round(size / 1024 / 1024, 1), "limit": MAX_PRODUCT_FILE_BYTES // 1024 // 1024},
        )
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
    return tablib.Dataset(*rows, headers=headers)


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
    try:
        records = [record for record in csv.reader(io.StringIO(text, newline="")) if "".join(record).strip()]
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
    try:
        dataset = tablib.Dataset().load(io.BytesIO(raw), format="xlsx")
    except Exception as exc:
        raise ValidationError("The Excel workbook could not be read.", code="bad_xlsx") from exc
    if not dataset.headers:
        raise ValidationError("The file is empty.", code="empty_file")
    headers = [str(header or "").strip().lower() for header in dataset.headers]
    rows = [list(row) for row in dataset if any(cell not in (None, "") for cell in row)]
    return headers, rows


def _check_headers(headers):
    expected = ", ".join(PRODUCT_COLUMNS)
    duplicates = sorted({header for header in headers if headers.count(header) > 1})
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
    if b"\x00" in raw[:8192]:
        return "a binary file"
    return None
