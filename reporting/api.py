"""Staff API for a separate dashboard service: the dashboard figures over a date range (read-only)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .forms import default_range, range_problem
from .views import DASHBOARD_PERMISSION


class CanViewDashboard(permissions.BasePermission):
    """Staff members whose role grants the business dashboard (Admins, Marketers)."""

    message = "Only staff allowed to view the business dashboard can use the reports API."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and user.has_perm(DASHBOARD_PERMISSION))


class DateRangeQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day, YYYY-MM-DD (default: 29 days before end).")
    end = serializers.DateField(required=False, help_text="Last day, YYYY-MM-DD (default: today).")

    def validate(self, attrs):
        default_start, default_end = default_range()
        if ("start" in attrs) != ("end" in attrs):
            missing = "end" if "start" in attrs else "start"
            raise serializers.ValidationError({missing: "Give both start and end, or neither (the last 30 days)."})
        start, end = attrs.get("start", default_start), attrs.get("end", default_end)
        if problem := range_problem(start, end):
            raise serializers.ValidationError({"end": problem})
        return {**attrs, "start": start, "end": end}


class TopAppsQuery(DateRangeQuery):
    limit = serializers.IntegerField(required=False, default=selectors.TOP_APPS, min_value=1, max_value=100)


def _figure_fields():
    return {
        name: serializers.DecimalField(max_digits=14, decimal_places=2, help_text=label)
        if name == "discount_given"
        else serializers.IntegerField(help_text=label)
        for name, label in selectors.FIGURES.items()
    }


FiguresSerializer = type("Figures", (serializers.Serializer,), _figure_fields())
DaySerializer = type("DayFigures", (serializers.Serializer,), {"date": serializers.DateField(), **_figure_fields()})


class FunnelStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    step = serializers.CharField()
    count = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Share of the previous step; null for the first.")


class QueueSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    oldest_submitted_at = serializers.DateTimeField(allow_null=True)
    oldest_age_seconds = serializers.FloatField(allow_null=True)
    median_age_seconds = serializers.FloatField(allow_null=True)


class SummarySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    totals = FiguresSerializer()
    funnel = FunnelStepSerializer(many=True)
    queue = QueueSerializer()


class TopAppSerializer(serializers.Serializer):
    app_id = serializers.IntegerField()
    name = serializers.CharField()
    downloads = serializers.IntegerField()
    proofs_approved = serializers.IntegerField()
    purchases = serializers.IntegerField()
    credits = serializers.IntegerField(help_text="Credits paid for the app (purchases made in the range).")


class TopAppsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    by_downloads = TopAppSerializer(many=True)
    by_approved_proofs = TopAppSerializer(many=True)
    by_purchases = TopAppSerializer(many=True)
    by_credits = TopAppSerializer(many=True)


class DailySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    days = DaySerializer(many=True)


RANGE_PARAMETERS = [
    OpenApiParameter("start", str, description="First day (YYYY-MM-DD); give both or neither."),
    OpenApiParameter("end", str, description="Last day (YYYY-MM-DD); at most 366 days after start."),
]


def _seconds(delta):
    return None if delta is None else delta.total_seconds()


def report_schema(*, operation_id, summary, serializer, parameters=RANGE_PARAMETERS):
    """The OpenAPI description of a ReportView's GET."""
    return extend_schema_view(
        get=extend_schema(
            operation_id=operation_id,
            summary=summary,
            parameters=parameters,
            responses=serializer,
            tags=["reports"],
        )
    )


# One report over a date range: the query checked, the dashboard read once, and `figures(board)` answered with the
# range in `serializer_class`. (A comment, not a docstring: the schema would show a docstring on every report.)
class ReportView(APIView):
    permission_classes = [CanViewDashboard]
    query_serializer = DateRangeQuery
    serializer_class = None

    def query(self, request):
        query = self.query_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def figures(self, board):
        raise NotImplementedError

    def get(self, request):
        query = self.query(request)
        board = selectors.dashboard(query["start"], query["end"], top=query.get("limit", 0))
        return Response(self.serializer_class({"start": board.start, "end": board.end, **self.figures(board)}).data)


@report_schema(
    operation_id="reports_summary",
    summary="Totals, referral funnel and moderation queue over a date range",
    serializer=SummarySerializer,
)
class SummaryView(ReportView):
    serializer_class = SummarySerializer

    def figures(self, board):
        queue = board.queue
        return {
            "totals": board.totals,
            "funnel": board.funnel,
            "queue": {
                "pending": queue.pending,
                "oldest_submitted_at": queue.oldest_submitted_at,
                "oldest_age_seconds": _seconds(queue.oldest_age),
                "median_age_seconds": _seconds(queue.median_age),
            },
        }


@report_schema(
    operation_id="reports_top_apps",
    summary="Top apps by downloads, approved proofs, purchases and credits over a date range",
    serializer=TopAppsSerializer,
    parameters=[*RANGE_PARAMETERS, OpenApiParameter("limit", int, description="How many apps (1-100, default 10).")],
)
class TopAppsView(ReportView):
    query_serializer = TopAppsQuery
    serializer_class = TopAppsSerializer

    def figures(self, board):
        return {
            "by_downloads": board.top_by_downloads,
            "by_approved_proofs": board.top_by_approved,
            "by_purchases": board.top_by_purchases,
            "by_credits": board.top_by_credits,
        }


@report_schema(
    operation_id="reports_daily", summary="Every figure, day by day, over a date range", serializer=DailySerializer
)
class DailyView(ReportView):
    serializer_class = DailySerializer

    def figures(self, board):
        return {"days": board.days}
