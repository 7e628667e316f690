"""Pagination over a real (emulated) DynamoDB query: pages, cursors and totals agree."""

import boto3
import pytest
from moto import mock_aws
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from mao.api.errors import ApiError
from mao.api.pagination import PageParams, decode_cursor, paginate


class Item(Model):
    class Meta:
        table_name = "pagination-items"
        region = "us-east-1"

    tenant_id = UnicodeAttribute(hash_key=True)
    item_id = UnicodeAttribute(range_key=True)


@pytest.fixture
def items(monkeypatch):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(k, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        Item._connection = None
        Item.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        for i in range(23):
            Item("t1", item_id=f"i{i:02d}").save()
        Item("t2", item_id="other").save()
        yield
        Item._connection = None
    boto3.DEFAULT_SESSION = None


def query(limit, start):
    return Item.query("t1", limit=limit, last_evaluated_key=start)


def page(params):
    return paginate(query, params, lambda i: {"id": i.item_id}, key_attributes=("tenant_id", "item_id"),
                    count=lambda: Item.count("t1"))


def test_pages_cover_every_item_once_in_order(items):
    seen = []
    for n in (1, 2, 3):
        result = page(PageParams(n, 10, None))
        seen += [i["id"] for i in result["items"]]
        assert result["total"] == 23
        assert result["has_more"] == (n < 3)
    assert seen == [f"i{i:02d}" for i in range(23)]


def test_a_cursor_resumes_exactly_after_the_last_item(items):
    first = page(PageParams(1, 10, None))
    second = page(PageParams(1, 10, first["next_cursor"]))
    assert second["items"][0]["id"] == "i10"
    third = page(PageParams(1, 10, second["next_cursor"]))
    assert [i["id"] for i in third["items"]] == ["i20", "i21", "i22"]
    assert third["next_cursor"] is None


def test_a_page_past_the_end_is_empty_not_an_error(items):
    result = page(PageParams(9, 10, None))
    assert result["items"] == [] and result["has_more"] is False


def test_a_garbage_cursor_is_a_400():
    with pytest.raises(ApiError) as err:
        decode_cursor("!!!not-base64")
    assert err.value.status == 400
