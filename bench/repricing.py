"""Benchmark: a repricing run over 100,000 products with 10 competitor offers each, and the monitoring page.

Generates (once) one store with N products, 10 competitor shops each listing every product (some stale, some
out of stock, a few absurdly low), and a live store-default rule. Each timed run starts from the same prices.
Prints the run's products/s beside a plain `UPDATE ... FROM` writing the same new prices in the same run
(ratio of the medians of several runs of each, goal <= 10x), the process's peak memory (goal < 500 MB), and
the price monitoring page over all products: its time and its query count (goal: the same small count as the
50-product test, <= 12).

Why 10x and not less: per product the run reads 10 offers and writes four rows (its decision, the price, the
ProductPriceChange, the product's history row) where the plain UPDATE writes one precomputed price; the
foreign keys of the rows it inserts are checked at commit.

    .venv/bin/python bench/repricing.py [--scale 0.05]
"""

import argparse
import os
import resource
import statistics
import sys
import time

from _common import Goal, finish, prepare_django

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_repricing"
FULL_PRODUCTS = 100_000
SHOPS = 10
GOAL_RATIO = 10.0
GOAL_MEMORY_MB = 500
GOAL_QUERIES = 12


def generate(products, regenerate=False):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM catalog_product WHERE store_id = (SELECT id FROM catalog_store WHERE slug = 'bench')"
        )
        if cursor.fetchone()[0] == products and not regenerate:
            return 0.0
        started = time.perf_counter()
        cursor.execute(
            "TRUNCATE stores_repricingdecision, stores_repricingrun, stores_repricingrule_excluded_competitors, "
            "stores_repricingrule, stores_historicalrepricingrule, stores_competitorlisting, stores_competitorstore, "
            "stores_historicalcompetitorstore, catalog_competitoroffer, catalog_competitor, "
            "catalog_productpricechange, catalog_historicalproduct, catalog_product, catalog_store "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute("INSERT INTO catalog_store (name, slug) VALUES ('Bench', 'bench')")
        cursor.execute(
            f"""
            INSERT INTO catalog_product (store_id, sku, name, price, stock, active, updated_at)
            SELECT 1, 'B-' || lpad(g::text, 7, '0'), 'Bench product ' || g, 100 + g % 50, 10, true, now()
            FROM generate_series(1, {products}) AS g
            """
        )
        cursor.execute(
            f"INSERT INTO catalog_competitor (name, feed_url, feed_format, active) "
            f"SELECT 'Rival ' || g, '', 'csv', true FROM generate_series(1, {SHOPS}) AS g"
        )
        cursor.execute(
            "INSERT INTO stores_competitorstore (competitor_id, store_id, name, shop_url, feed_url, feed_format, "
            "active, last_import_error) SELECT id, 1, name || ' shop', '', '', 'csv', true, '' FROM catalog_competitor"
        )
        # Offers around our price; 1 in 10 out of stock, 1 in 8 stale (3 days), 1 in 500 absurdly low.
        cursor.execute(
            """
            INSERT INTO stores_competitorlisting (competitor_store_id, external_id, sku, name, product_id, price,
                                                  in_stock, first_seen_at, seen_at)
            SELECT s.id, p.sku || '-' || s.id, p.sku, p.name, p.id,
                   CASE WHEN (p.id + s.id) % 500 = 7 THEN 1
                        ELSE round((p.price * (0.85 + ((p.id * 7 + s.id * 13) % 35) / 100.0))::numeric, 2) END,
                   (p.id + s.id) % 10 <> 0, now() - interval '1 hour',
                   CASE WHEN (p.id * 3 + s.id) % 8 = 0 THEN now() - interval '3 days' ELSE now() - interval '1 hour' END
            FROM catalog_product p CROSS JOIN stores_competitorstore s
            """
        )
        cursor.execute(
            "INSERT INTO stores_repricingrule (store_id, product_id, floor, ceiling, strategy, beat_by, "
            "ceiling_when_alone, step, mode, active) "
            "VALUES (1, NULL, 90, 160, 'beat_amount', 0.50, true, 0.01, 'live', true)"
        )
        for table in ["catalog_product", "stores_competitorlisting"]:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def reset_prices():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET price = 100 + id % 50")
        cursor.execute(
            "TRUNCATE catalog_productpricechange, catalog_historicalproduct, stores_repricingdecision, "
            "stores_repricingrun CASCADE"
        )
        cursor.execute("VACUUM ANALYZE catalog_product")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (default 1.0)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data even if the sizes match")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--runs", type=int, default=3, help="repricing runs; the median counts (default 3)")
    parser.add_argument("--baseline-runs", type=int, default=5, help="plain UPDATE runs; the median counts")
    args = parser.parse_args()
    prepare_django(args.database)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from backoffice.roles import ADMINS
    from backoffice.tests.factories import StaffFactory
    from stores import repricing

    products = max(int(FULL_PRODUCTS * args.scale), 1000)
    print(f"scale {args.scale}: {products:,} products, {products * SHOPS:,} competitor offers")
    generated = generate(products, args.regenerate)
    print(f"generated in {generated:.1f} s" if generated else "data already there")

    run_times = []
    for _ in range(args.runs):
        reset_prices()
        started = time.perf_counter()
        run = repricing.run_repricing()
        run_times.append(time.perf_counter() - started)
        assert run.products_checked == products, run.products_checked
    run_seconds = statistics.median(run_times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The same new prices, written by the plainest statement there is (from the same starting prices each time).
    plain_times = []
    with connection.cursor() as cursor:
        for _ in range(args.baseline_runs):
            cursor.execute("UPDATE catalog_product SET price = 100 + id % 50")
            cursor.execute("VACUUM ANALYZE catalog_product")
            started = time.perf_counter()
            cursor.execute(
                "UPDATE catalog_product p SET price = d.new_price FROM stores_repricingdecision d "
                "WHERE d.run_id = %s AND d.product_id = p.id",
                [run.pk],
            )
            plain_times.append(time.perf_counter() - started)
    plain_seconds = statistics.median(plain_times)

    admin = StaffFactory(email=f"bench-admin-{time.time_ns()}@bench.test", phone="", role=ADMINS)
    client = Client()
    client.force_login(admin)
    pages = {}
    for label, url in [
        ("every product", "/admin/price-monitoring/"),
        ("undercut only", "/admin/price-monitoring/?show=undercut"),
        ("at floor only", "/admin/price-monitoring/?show=at_floor"),
    ]:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            pages[label] = (time.perf_counter() - started, len(queries.captured_queries))
        assert response.status_code == 200

    ratio = run_seconds / plain_seconds if plain_seconds else float("inf")
    rate = products / run_seconds
    queries_max = max(count for _seconds, count in pages.values())
    print()
    print(
        f"repricing run:                 {run_seconds:8.2f} s  {rate:10,.0f} products/s "
        f"({run.prices_changed:,} prices changed, {run.suspicious_offers:,} suspicious offers flagged)"
    )
    print(f"plain UPDATE ... FROM:         {plain_seconds:8.2f} s  {products / plain_seconds:10,.0f} products/s")
    print(
        f"  (medians; repricing runs {', '.join(f'{t:.2f}' for t in run_times)} s, "
        f"plain runs {', '.join(f'{t:.2f}' for t in plain_times)} s)"
    )
    print(f"ratio:                         {ratio:8.1f}x   (goal <= {GOAL_RATIO:.0f}x)")
    print(f"peak memory (process RSS):     {peak_mb:8.0f} MB  (goal < {GOAL_MEMORY_MB} MB)")
    for label, (seconds, count) in pages.items():
        print(f"monitoring page, {label:<14}{seconds * 1000:8.0f} ms  {count} queries (goal <= {GOAL_QUERIES})")
    result = {
        "scale": args.scale,
        "products": products,
        "offers": products * SHOPS,
        "run_s": round(run_seconds, 2),
        "run_s_each": [round(t, 2) for t in run_times],
        "plain_update_s_each": [round(t, 3) for t in plain_times],
        "products_per_s": round(rate),
        "plain_update_s": round(plain_seconds, 3),
        "ratio": round(ratio, 1),
        "goal_ratio": GOAL_RATIO,
        "peak_mb": round(peak_mb),
        "goal_peak_mb": GOAL_MEMORY_MB,
        "monitoring_ms": {label: round(seconds * 1000) for label, (seconds, _c) in pages.items()},
        "monitoring_queries": queries_max,
        "goal_queries": GOAL_QUERIES,
    }
    goals = [
        Goal(
            "repricing run vs plain UPDATE ... FROM (medians)",
            f"{ratio:.1f}x slower",
            f"<= {GOAL_RATIO:g}x",
            ratio <= GOAL_RATIO,
        ),
        Goal("peak memory (process RSS)", f"{peak_mb:.0f} MB", f"< {GOAL_MEMORY_MB} MB", peak_mb < GOAL_MEMORY_MB),
        Goal(
            "monitoring page queries (most of 3 views)",
            str(queries_max),
            f"<= {GOAL_QUERIES}",
            queries_max <= GOAL_QUERIES,
        ),
    ]
    return finish("repricing", result, goals)


if __name__ == "__main__":
    sys.exit(main())
