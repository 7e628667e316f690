"""Tenant isolation matrix, generated from the template's route table (new routes are covered
automatically). Tenant A owns one object of every kind (see ``world.py``); every route is called

- without credentials (tenant routes: 401),
- with B's credentials on A's path and A's ids (404, exactly as if A did not exist),
- with A's credentials on B's path (404),
- with B's credentials on B's own path but A's object ids (404 for a route that names an object),

and no answer may contain A's data (a canary string only A's stored objects hold, or A's key).
Calls that could change data are followed by a check that A's object is still there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from mao_local.template import Route, Template
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Tenant, fresh_ip, make_tenant
from tests.reliability import world as world_mod
from tests.reliability.reference_public import public_endpoints

pytestmark = pytest.mark.e2e

ROUTES: list[Route] = Template.load(Path(REPO_ROOT) / "template.yaml").routes()
PARAM = re.compile(r"\{([^}+]+)\+?\}")

# Valid bodies for routes that name an object, so the object lookup (not body validation) answers.
BODIES: list[tuple[str, str, Any]] = [
    ("POST", r"/validate$", {"is_valid": True}),
    ("POST", r"/reject$", {"reason": "no"}),
    ("PUT", r"/workflow-groups/\{group_id\}$", {"name": "renamed"}),
    ("POST", r"/workflow-groups/\{group_id\}/workflows$", {"workflow_ids": ["wf"]}),
    ("PUT", r"/agent-configs/\{agent_id\}$", {"config": {"prompt": "overwritten"}}),
]


def body_for(route: Route) -> Any:
    for method, pattern, body in BODIES:
        if route.method == method and re.search(pattern, route.path):
            return body
    return {} if route.method in ("POST", "PUT", "PATCH") else None


def params_of(route: Route) -> list[str]:
    return PARAM.findall(route.path)


def concrete(route: Route, tenant_id: str, ids: dict[str, str]) -> str:
    return PARAM.sub(lambda m: tenant_id if m.group(1) == "tenant_id" else ids[m.group(1)], route.path)


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


@pytest.fixture(scope="module")
def world(stack) -> world_mod.World:
    a = make_tenant(stack, "isolation-a")
    return world_mod.build(stack.api_url, a, fresh_ip())


@pytest.fixture(scope="module")
def tenant_b(stack) -> Tenant:
    return make_tenant(stack, "isolation-b")


@pytest.fixture
def call(stack):
    with httpx.Client(base_url=stack.api_url, headers={"X-Forwarded-For": fresh_ip()}, timeout=60) as c:
        def _call(route: Route, path: str, headers: dict[str, str]) -> httpx.Response:
            body = body_for(route)
            kwargs: dict[str, Any] = {"headers": headers}
            if body is not None:
                kwargs["json"] = body
            return c.request(route.method, path, **kwargs)
        yield _call


def ids_for(route: Route, w: world_mod.World) -> dict[str, str]:
    return {p: w.id_for(p, route.path) for p in params_of(route) if p != "tenant_id"}


def assert_no_leak(resp: httpx.Response, w: world_mod.World, case: str) -> None:
    text = resp.text
    for secret in w.secrets_of_a():
        assert secret not in text, f"{case}: the answer contains tenant A's data: {text[:500]}"
    assert resp.status_code < 500, f"{case}: {resp.status_code} {text[:500]}"


def assert_refused(resp: httpx.Response, allowed: set[int], case: str) -> None:
    assert resp.status_code in allowed, f"{case}: expected {sorted(allowed)}, got {resp.status_code} {resp.text[:300]}"
    if resp.status_code != 204 and resp.content:
        assert "error" in resp.json(), f"{case}: a refusal without the error shape: {resp.text[:300]}"


def assert_a_still_has_it(stack, route: Route, w: world_mod.World) -> None:
    """After a call that could change data, A still reads the object the call named."""
    if route.method == "GET" or "tenant_id" not in params_of(route):
        return
    readable = [r for r in ROUTES if r.method == "GET" and route.path.startswith(r.path)
                and params_of(r) and params_of(r)[-1] != "tenant_id" and params_of(r)[-1] in params_of(route)
                and params_of(r)[-1] in w.ids]
    with httpx.Client(base_url=stack.api_url, headers={"X-Forwarded-For": fresh_ip()}, timeout=60) as c:
        assert c.get(f"/api/v1/tenants/{w.tenant.tenant_id}/api-keys", headers=w.tenant.headers).status_code == 200
        for r in readable:
            resp = c.get(concrete(r, w.tenant.tenant_id, ids_for(r, w)), headers=w.tenant.headers)
            assert resp.status_code == 200, f"after {route_id(route)}, A lost {r.path}: {resp.text[:300]}"


def authenticated(route: Route) -> bool:
    """Tenant routes need credentials unless the reference documents them as public."""
    return "tenant_id" in params_of(route) and (route.method, route.path) not in public_endpoints()


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_anonymous_calls_never_see_tenant_data(route, world, call):
    path = concrete(route, world.tenant.tenant_id, ids_for(route, world))
    resp = call(route, path, {})
    assert_no_leak(resp, world, f"anonymous {route_id(route)}")
    if authenticated(route):
        assert_refused(resp, {401}, f"anonymous {route_id(route)}")


TENANT_ROUTES = [r for r in ROUTES if authenticated(r)]


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=route_id)
def test_b_on_a_path_is_404(stack, route, world, tenant_b, call):
    path = concrete(route, world.tenant.tenant_id, ids_for(route, world))
    resp = call(route, path, tenant_b.headers)
    case = f"B on A's path: {route.method} {path}"
    assert_no_leak(resp, world, case)
    assert_refused(resp, {404}, case)
    assert_a_still_has_it(stack, route, world)


@pytest.mark.parametrize("route", TENANT_ROUTES, ids=route_id)
def test_a_on_b_path_is_404(route, world, tenant_b, call):
    path = concrete(route, tenant_b.tenant_id, ids_for(route, world))
    resp = call(route, path, world.tenant.headers)
    case = f"A on B's path: {route.method} {path}"
    assert_refused(resp, {404}, case)


# Names a tenant chooses itself (not ids the server issues): B's own path names B's own object.
TENANT_CHOSEN_NAMES = {"agent_id"}
ID_ROUTES = [r for r in ROUTES if set(params_of(r)) - {"tenant_id"} - TENANT_CHOSEN_NAMES]


@pytest.mark.parametrize("route", ID_ROUTES, ids=route_id)
def test_b_with_a_object_ids_is_404(stack, route, world, tenant_b, call):
    path = concrete(route, tenant_b.tenant_id, ids_for(route, world))
    resp = call(route, path, tenant_b.headers)
    case = f"B with A's ids: {route.method} {path}"
    assert_no_leak(resp, world, case)
    assert_refused(resp, {404}, case)
    assert_a_still_has_it(stack, route, world)


LISTING_ROUTES = [r for r in ROUTES if r.method == "GET" and not (set(params_of(r)) - {"tenant_id"})]


@pytest.mark.parametrize("route", LISTING_ROUTES, ids=route_id)
def test_b_own_lists_and_views_hold_nothing_of_a(route, world, tenant_b, call):
    path = concrete(route, tenant_b.tenant_id, {})
    resp = call(route, path, tenant_b.headers)
    assert_no_leak(resp, world, f"B's own {route.method} {path}")
    for name, ident in world.ids.items():
        if name not in ("agent_id",) and len(ident) >= 8:
            assert ident not in resp.text, f"B's {path} names A's {name} {ident}"


def test_the_world_has_an_object_for_every_kind_of_id(world):
    """Every id parameter of the route table is created for real (a made-up id proves less)."""
    needed = {p for r in ROUTES for p in params_of(r)} - {"tenant_id"}
    known = world_mod.PARAMS_WITH_CREATORS
    assert needed <= known, f"routes name ids the isolation world cannot create: {sorted(needed - known)}"
    assert not world.made_up, f"could not create: {sorted(world.made_up)}: {world.notes}"
