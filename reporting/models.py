from django.db import models


class Dashboard(models.Model):
    """No rows: carries the `view_dashboard` permission for the reports pages."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the business dashboard")]

    def __str__(self):
        return "Dashboard"


class DailyStat(models.Model):
    """One day's business figures, written by `services.rollup_day`; the dashboard sums these instead of raw tables.

    Day boundaries are midnight to midnight in the project's time zone. Event counts are by the day the event
    happened (proofs by the day they were reviewed), so re-running any past day reproduces the same row.
    """

    date = models.DateField(unique=True)
    apps_created = models.PositiveIntegerField(default=0)
    users_signed_up = models.PositiveIntegerField(default=0)
    users_verified = models.PositiveIntegerField(default=0)
    downloads = models.PositiveIntegerField(default=0)
    proofs_submitted = models.PositiveIntegerField(default=0)
    proofs_approved = models.PositiveIntegerField(default=0)
    proofs_rejected = models.PositiveIntegerField(default=0)
    proofs_invalidated = models.PositiveIntegerField(default=0)
    proofs_reviewed = models.PositiveIntegerField(default=0)
    points_earned = models.BigIntegerField(default=0)
    points_referral = models.BigIntegerField(default=0)
    points_taken_back = models.BigIntegerField(default=0)
    points_adjusted = models.BigIntegerField(default=0)
    points_spent_on_discounts = models.BigIntegerField(default=0)
    purchases = models.PositiveIntegerField(default=0)
    credits_spent_on_apps = models.BigIntegerField(default=0)
    refunds = models.PositiveIntegerField(default=0)
    credits_refunded = models.BigIntegerField(default=0)
    subscriptions = models.PositiveIntegerField(default=0)
    points_spent_on_plans = models.BigIntegerField(default=0)
    redemptions = models.PositiveIntegerField(default=0)
    discount_given = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    referral_visits = models.PositiveIntegerField(default=0)
    referral_signups = models.PositiveIntegerField(default=0)
    referral_verified = models.PositiveIntegerField(default=0)
    referral_credited = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"Figures for {self.date}"


class AppFigures(models.Model):
    """The figures of one app over a period: what DailyAppStat and WeeklyAppStat both count."""

    app = models.ForeignKey("catalog.App", on_delete=models.CASCADE, related_name="+")
    downloads = models.PositiveIntegerField(default=0)
    proofs_approved = models.PositiveIntegerField(default=0)
    purchases = models.PositiveIntegerField(default=0)
    credits = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyAppStat(AppFigures):
    """Per-app figures of one day, for the top-apps tables; only apps with activity that day get a row."""

    date = models.DateField()

    class Meta:
        ordering = ["date", "app"]
        constraints = [models.UniqueConstraint(fields=["date", "app"], name="one_app_stat_per_day")]
        # Covering: summing a range of days reads the index only.
        indexes = [models.Index(fields=["date", "app", "downloads", "proofs_approved"], name="app_stat_day_sums")]

    def __str__(self):
        return f"{self.app_id} on {self.date}"


class WeeklyAppStat(AppFigures):
    """The sum of an app's DailyAppStat rows over one Monday-to-Sunday week (only the days rolled up so far).

    Rewritten from the daily rows whenever a day of the week is rolled up, so ranking apps over a long range
    reads about a seventh of the rows.
    """

    week_start = models.DateField()

    class Meta:
        ordering = ["week_start", "app"]
        constraints = [models.UniqueConstraint(fields=["week_start", "app"], name="one_app_stat_per_week")]
        indexes = [
            models.Index(fields=["week_start", "app", "downloads", "proofs_approved"], name="app_stat_week_sums")
        ]

    def __str__(self):
        return f"{self.app_id} in the week of {self.week_start}"


class DailyListEntry(models.Model):
    """One row of the daily list downloaded from the configured URL; a day's download replaces that day's rows."""

    list_date = models.DateField(db_index=True)
    line_number = models.PositiveIntegerField()
    data = models.JSONField(default=dict)
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-list_date", "line_number"]
        verbose_name_plural = "daily list entries"
        constraints = [models.UniqueConstraint(fields=["list_date", "line_number"], name="one_daily_list_line")]

    def __str__(self):
        return f"{self.list_date} #{self.line_number}"
