from datetime import UTC, datetime

from mao.domain import plans


def test_the_four_plans_grow_in_limits_and_price():
    names = list(plans.PLAN_ORDER)
    assert names == ["free", "pro", "team", "enterprise"]
    spans = [plans.PLANS[n].limits.spans_per_month for n in names]
    assert spans[0] < spans[1] < spans[2] and spans[3] is None
    retention = [plans.PLANS[n].limits.retention_days for n in names]
    assert retention == sorted(retention)
    assert plans.PLANS["free"].price_usd_month == 0 and not plans.PLANS["free"].self_serve


def test_usage_within_the_limit_is_allowed_and_counted():
    now = datetime(2025, 6, 10, tzinfo=UTC)
    free = plans.PLANS["free"]
    limit = free.limits.spans_per_month
    verdict = plans.evaluate(free, "spans", limit - 10, 10, now)
    assert verdict.allowed and verdict.used == limit and verdict.remaining == 0


def test_a_request_that_would_pass_the_limit_is_refused_until_next_month():
    now = datetime(2025, 6, 30, 23, 0, tzinfo=UTC)
    free = plans.PLANS["free"]
    verdict = plans.evaluate(free, "spans", free.limits.spans_per_month - 5, 6, now)
    assert not verdict.allowed
    assert verdict.retry_after == 3600
    assert "quota" in verdict.message() and "free" in verdict.message()


def test_unlimited_plans_never_refuse():
    verdict = plans.evaluate(plans.PLANS["enterprise"], "spans", 10**12, 10**6, datetime.now(UTC))
    assert verdict.allowed and verdict.limit is None and verdict.remaining is None


def test_periods_are_calendar_months_in_utc_across_the_year_end():
    start, end = plans.period_bounds(datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    assert start == datetime(2025, 12, 1, tzinfo=UTC) and end == datetime(2026, 1, 1, tzinfo=UTC)
    assert plans.period_of(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01"


def test_a_paid_plan_holds_only_while_the_subscription_is_in_good_standing():
    assert plans.effective_plan("active", "pro") == "pro"
    assert plans.effective_plan("past_due", "team") == "team"
    assert plans.effective_plan("canceled", "pro") == "free"
    assert plans.effective_plan("incomplete", "pro") == "free"
    assert plans.effective_plan("active", "platinum") == "free"


def test_usage_report_shows_percent_of_each_limit():
    report = plans.usage_report(plans.PLANS["pro"], {"spans": 250_000})
    assert report["spans"]["percent"] == 25.0 and report["spans"]["remaining"] == 750_000
    assert report["traces"]["used"] == 0
    assert plans.usage_report(plans.PLANS["enterprise"], {"spans": 5})["spans"]["limit"] is None
