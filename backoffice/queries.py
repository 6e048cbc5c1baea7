"""Query shapes that several apps need: one spelling each."""

from django.db.models import OuterRef, Sum


def sum_per_row(rows, field, *, per):
    """SUM(`field`) over the `rows` that point at the outer query's row through the foreign key `per`: a correlated
    subquery for `Subquery(...)` in annotate() or update(), so totals come in one statement, not a query per row.
    NULL (no such rows) when nothing points at it; wrap it in Coalesce where 0 is meant."""
    return rows.filter(**{per: OuterRef("pk")}).order_by().values(per).annotate(total=Sum(field)).values("total")
