"""Hostile product files are refused quickly, before the workbook or the sheet is parsed into rows."""

import io
import re
import time
import tracemalloc
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from catalog import product_files

HEADER = "store,sku,name,price,stock"


def xlsx_bytes(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_sheet(raw, transform):
    """The same workbook with sheet1.xml passed through `transform` (text -> text)."""
    source, out = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                data = transform(data.decode()).encode()
            target.writestr(entry, data)
    return out.getvalue()


def upload(raw, name):
    return SimpleUploadedFile(name, raw)


def refused(raw, name, code, seconds=2.0):
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as error:
            product_files.read_product_file(upload(raw, name))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert error.value.code == code, error.value
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < 60 * 1024 * 1024, f"peaked at {peak // 1024 // 1024} MB"
    return error.value


def test_a_tiny_xlsx_declaring_a_huge_dimension_is_refused_before_loading():
    raw = rewrite_sheet(
        xlsx_bytes([HEADER.split(","), ["main", "A1", "Thing", 1, 1]]),
        lambda xml: re.sub(r'<dimension ref="[^"]*" ?/>', '<dimension ref="A1:XFD6000"/>', xml),
    )
    assert len(raw) < 8 * 1024
    error = refused(raw, "products.xlsx", "too_many_columns")
    assert "16384 columns" in " ".join(error.messages)


def test_cells_far_to_the_right_are_refused_even_with_a_small_dimension():
    raw = rewrite_sheet(
        xlsx_bytes([HEADER.split(","), ["main", "A1", "Thing", 1, 1]]),
        lambda xml: xml.replace('r="E2"', 'r="XFD2"'),
    )
    refused(raw, "products.xlsx", "too_many_columns")


def test_a_sheet_with_more_rows_than_the_limit_is_refused(settings):
    settings.PRODUCT_FILE_MAX_ROWS = 10
    raw = xlsx_bytes([HEADER.split(","), *[["main", f"S{n}", "Thing", 1, 1] for n in range(20)]])
    refused(raw, "products.xlsx", "too_many_rows")


def test_a_row_number_far_down_is_refused():
    raw = rewrite_sheet(
        xlsx_bytes([HEADER.split(","), ["main", "A1", "Thing", 1, 1]]),
        lambda xml: xml.replace('<row r="2"', '<row r="1048576"').replace('r="A2"', 'r="A1048576"'),
    )
    refused(raw, "products.xlsx", "too_many_rows")


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        bomb.writestr("[Content_Types].xml", "<Types/>")
        with bomb.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1024 * 1024)
            for _ in range(300):
                sheet.write(chunk)
    raw = out.getvalue()
    assert len(raw) < 1024 * 1024
    error = refused(raw, "products.xlsx", "unpacked_too_large")
    assert "unpacks to 300" in " ".join(error.messages)


def test_a_broken_workbook_is_refused_with_a_clear_message():
    raw = rewrite_sheet(xlsx_bytes([HEADER.split(",")]), lambda xml: xml[: len(xml) // 2])
    refused(raw, "products.xlsx", "bad_xlsx")


def test_a_csv_with_50000_columns_is_refused_fast():
    raw = (",".join(f"c{n}" for n in range(50_000)) + "\n" + ",".join("1" for _ in range(50_000)) + "\n").encode()
    error = refused(raw, "products.csv", "too_many_columns", seconds=1.0)
    assert "50000 columns" in " ".join(error.messages)


def test_a_csv_with_more_rows_than_the_limit_is_refused(settings):
    settings.PRODUCT_FILE_MAX_ROWS = 10
    raw = (HEADER + "\n" + "".join(f"main,S{n},Thing,1,1\n" for n in range(20))).encode()
    refused(raw, "products.csv", "too_many_rows")


def test_the_duplicate_header_check_is_linear():
    headers = [f"c{n}" for n in range(200_000)] + ["c7"]
    started = time.monotonic()
    with pytest.raises(ValidationError) as error:
        product_files._check_headers(headers)
    assert time.monotonic() - started < 1.0
    assert error.value.code == "duplicate_columns" and "c7" in " ".join(error.value.messages)


def test_a_normal_workbook_still_reads():
    raw = xlsx_bytes([HEADER.split(","), ["main", "A1", "Thing", 1, 1]])
    dataset = product_files.read_product_file(upload(raw, "products.xlsx"))
    assert dataset.headers == HEADER.split(",") and len(dataset) == 1
