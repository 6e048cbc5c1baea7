"""Benchmark: a 100,000-row product CSV through the admin's upload path vs a plain COPY of the same rows.

    .venv/bin/python bench/bulk_upload.py [--scale 0.05] [--database-url postgres://...]

The import goes through exactly what the admin runs: catalog.services.preview_product_upload (file checks +
dry run) then confirm_product_upload (the real import in one transaction, with history and price changes).
Twice: a first upload that creates every product, then a re-upload with every price changed (updates).
Beside it, in the same run, COPY loads the same CSV into a scratch table with no indexes (the issue's baseline),
and, to show where the time goes, two more figures:
- the same rows COPY'd into a scratch copy of the product table (its indexes, checks and store foreign key);
- the import's database writes alone (catalog.resources.PostgresProductWriter given rows already cleaned):
  the products, one history record and one price change per row, and the foreign-key checks of all three.
Targets: import within 5x of COPY's rows/s, peak memory (max RSS) under 500 MB.
"""

import argparse
import json
import os
import resource
import statistics
import time

from _common import prepare_django

FULL_ROWS = 100_000
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_catalog"


def bench_products(rows, price_offset=0):
    """(sku, name, price as text, stock) of every generated product: the same rows for every figure."""
    for i in range(rows):
        yield f"SKU-{i:07d}", f"Bench product {i}", f"{(i % 9000) / 100 + 1 + price_offset:.2f}", i % 500


def product_csv(rows, price_offset=0):
    lines = ["store,sku,name,price,stock,active"]
    products = bench_products(rows, price_offset)
    lines += [f"bench-store,{sku},{name},{price},{stock},yes" for sku, name, price, stock in products]
    return ("\n".join(lines) + "\n").encode()


def reset_catalog(connection):
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE catalog_productpricechange, catalog_competitoroffer, catalog_historicalproduct, "
            "catalog_product, catalog_productupload RESTART IDENTITY CASCADE"
        )


def timed_shaped_copy(connection, rows, store_id):
    """COPY the rows as products into a scratch table with the product table's indexes, checks and foreign key."""
    table = "bench_shaped_products"
    lines = "".join(
        f"{store_id},{sku},{name},{price},{stock},t,2026-01-01T00:00:00Z\n"
        for sku, name, price, stock in bench_products(rows)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (LIKE catalog_product INCLUDING ALL)")
        cursor.execute(f"ALTER TABLE {table} ADD FOREIGN KEY (store_id) REFERENCES catalog_store (id)")
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {table} (store_id, sku, name, price, stock, active, updated_at) FROM STDIN WITH (FORMAT csv)"
        ) as copy,
    ):
        copy.write(lines)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return elapsed


def timed_writes_alone(connection, rows, store_id, user):
    """The import's writes (foreign keys checked) for rows already read and checked, then rolled back."""
    from decimal import Decimal

    from django.db import transaction

    from catalog.resources import PostgresProductWriter

    creates = [(store_id, sku, name, Decimal(price), stock, True) for sku, name, price, stock in bench_products(rows)]
    with transaction.atomic():
        started = time.perf_counter()
        PostgresProductWriter(user, "Benchmark").write(creates, [])
        connection.check_constraints()
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def timed_upload(csv_bytes, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog import services

    started = time.perf_counter()
    upload = services.preview_product_upload(SimpleUploadedFile("bench.csv", csv_bytes), user=user)
    previewed = time.perf_counter()
    assert upload.status == "previewed", upload.row_errors[:3]
    upload = services.confirm_product_upload(upload, user=user)
    confirmed = time.perf_counter()
    assert upload.status == "imported", upload.row_errors[:3]
    return upload, previewed - started, confirmed - previewed


def timed_copy(connection, csv_bytes):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_copy_products "
            "(store text, sku text, name text, price numeric(12, 2), stock integer, active boolean)"
        )
        cursor.execute("TRUNCATE bench_copy_products")
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy("COPY bench_copy_products FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
    ):
        copy.write(csv_bytes)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_copy_products")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_copy_products")
    return copied, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 rows (default 1.0)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    rows = max(10, int(FULL_ROWS * args.scale))

    prepare_django(args.database_url, settings="backoffice.settings.test")
    from django.contrib.auth import get_user_model
    from django.db import connection

    from catalog.models import Product, ProductPriceChange, Store

    reset_catalog(connection)
    store, _ = Store.objects.get_or_create(slug="bench-store", defaults={"name": "Bench store"})
    user, _ = get_user_model().objects.get_or_create(email="bench@example.test", defaults={"is_staff": True})

    first_csv = product_csv(rows)
    second_csv = product_csv(rows, price_offset=1)
    print(f"bulk upload benchmark: {rows:,} rows, {len(first_csv) / 1024 / 1024:.1f} MB CSV, PostgreSQL")

    # The baselines are cheap, so each is the median of three runs: one run swings by half on a shared machine.
    copies = [timed_copy(connection, first_csv) for _ in range(3)]
    assert all(copied == rows for copied, _ in copies)
    copy_seconds = statistics.median(seconds for _, seconds in copies)
    shaped_copy_seconds = statistics.median(timed_shaped_copy(connection, rows, store.pk) for _ in range(3))
    writes_seconds = timed_writes_alone(connection, rows, store.pk, user)
    assert not Product.objects.exists()
    created, create_preview, create_import = timed_upload(first_csv, user)
    assert Product.objects.count() == rows
    updated, update_preview, update_import = timed_upload(second_csv, user)
    assert updated.updated_rows == rows
    assert ProductPriceChange.objects.count() == 2 * rows
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    copy_rate = rows / copy_seconds
    figures = {
        "rows": rows,
        "copy_rows_per_s": round(copy_rate),
        "create_import_rows_per_s": round(rows / create_import),
        "create_preview_rows_per_s": round(rows / create_preview),
        "update_import_rows_per_s": round(rows / update_import),
        "update_preview_rows_per_s": round(rows / update_preview),
        "shaped_copy_rows_per_s": round(rows / shaped_copy_seconds),
        "writes_alone_rows_per_s": round(rows / writes_seconds),
        "writes_alone_vs_copy": round(writes_seconds / copy_seconds, 2),
        "create_import_vs_copy": round(copy_rate / (rows / create_import), 2),
        "create_import_vs_writes_alone": round(create_import / writes_seconds, 2),
        "update_import_vs_copy": round(copy_rate / (rows / update_import), 2),
        "admin_round_trip_vs_copy": round(copy_rate / (rows / (create_preview + create_import)), 2),
        "peak_rss_mb": round(peak_mb),
    }
    print(f"{'path':<56}{'seconds':>9}{'rows/s':>11}{'x COPY':>8}")
    for label, seconds in [
        ("COPY into scratch table (no indexes), median of 3", copy_seconds),
        ("COPY into a copy of the product table, median of 3", shaped_copy_seconds),
        ("import's writes alone (products, history, prices)", writes_seconds),
        ("upload: dry-run preview (creates)", create_preview),
        ("upload: confirm import (creates)", create_import),
        ("upload: dry-run preview (updates)", update_preview),
        ("upload: confirm import (updates)", update_import),
    ]:
        print(f"{label:<56}{seconds:>9.2f}{rows / seconds:>11,.0f}{copy_rate / (rows / seconds):>8.1f}")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB  (target < 500 MB)")
    print(f"import vs COPY: {figures['create_import_vs_copy']}x slower (target within 5x)")
    print(
        f"import vs its own database writes: {figures['create_import_vs_writes_alone']}x "
        f"(the writes alone are {figures['writes_alone_vs_copy']}x COPY)"
    )
    figures["within_5x_of_copy"] = figures["create_import_vs_copy"] <= 5
    figures["memory_under_500mb"] = peak_mb < 500
    print("BENCH_RESULT " + json.dumps({"bench": "bulk_upload", **figures}))


if __name__ == "__main__":
    main()
