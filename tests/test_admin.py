"""`odatis-vre admin` against a real running hub: users, groups, images, quotas (spawn page, servers, clusters)."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner, Result
from dask_gateway import Gateway
from dask_gateway.auth import JupyterHubAuth
from vre_testing import VRETestStack, start_stack

from odatis_vre.cli import main
from odatis_vre.hub.modes import local_ports

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> VRETestStack:
    # our own hub: these tests change the configuration (profiles, quotas) under it
    st = start_stack(tmp_path_factory.mktemp("admin"))
    yield st
    st.stop()


def cli(stack: VRETestStack, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, [*args, "-c", str(stack.config_path)], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result


def raw_config(stack: VRETestStack) -> dict:
    return yaml.safe_load(stack.config_path.read_text())


def password_from(output: str) -> str:
    return output.split("password (shown once):")[1].split()[0]


def gateway(stack: VRETestStack, user: str) -> Gateway:
    return Gateway(
        address=f"{stack.url}/services/dask-gateway",
        auth=JupyterHubAuth(api_token=stack.user_token(user)),
        proxy_address=f"gateway://127.0.0.1:{local_ports(stack.stack.cfg)['gateway_tcp']}",
    )


def test_users_and_groups(stack: VRETestStack) -> None:
    out = cli(stack, "admin", "groups", "add", "trainees", "--description", "Summer school", "--quota-from", "default")
    assert "created" in out.output
    assert stack.api("GET", "/groups/trainees").status_code == 200
    assert raw_config(stack)["groups"]["trainees"]["quota"] == raw_config(stack)["groups"]["default"]["quota"]

    out = cli(stack, "admin", "users", "add", "carla", "--group", "trainees")
    password = password_from(out.output)
    stack.login("carla", password)  # the printed password works
    assert stack.api("GET", "/users/carla").json()["groups"] == ["trainees"]
    assert raw_config(stack)["groups"]["trainees"]["users"] == ["carla"]

    listed = yaml.safe_load(cli(stack, "admin", "users", "list", "--group", "trainees", "--json").output)
    assert [u["name"] for u in listed] == ["carla"]
    groups = {g["name"]: g for g in yaml.safe_load(cli(stack, "admin", "groups", "--json").output)}
    assert groups["trainees"]["members"] == ["carla"] and groups["trainees"]["in_hub"]

    # a wrong group: a clear message, nothing created anywhere
    before = stack.config_path.read_bytes()
    bad = cli(stack, "admin", "users", "add", "dora", "--group", "nosuch", ok=False)
    assert "No group(s) nosuch" in bad.output and "groups add nosuch" in bad.output
    assert stack.api("GET", "/users/dora").status_code == 404
    assert stack.config_path.read_bytes() == before

    cli(stack, "admin", "users", "remove", "carla", "--yes")
    with pytest.raises(AssertionError, match="login of carla failed"):
        stack.login("carla", password)
    assert stack.api("GET", "/users/carla").status_code == 404
    assert raw_config(stack)["groups"]["trainees"]["users"] == []

    cli(stack, "admin", "groups", "remove", "trainees")
    assert stack.api("GET", "/groups/trainees").status_code == 404
    assert "trainees" not in raw_config(stack)["groups"]
    assert "cannot be removed" in cli(stack, "admin", "groups", "remove", "default", ok=False).output


def test_images_spawn_page_and_retire(stack: VRETestStack) -> None:
    cli(
        stack,
        "admin",
        "images",
        "add",
        "extra",
        "--image",
        "ghcr.io/odatis/vre-extra:1",
        "--display-name",
        "Extra tools",
        "--description",
        "The ocean image plus extra tools",
        "--environment",
        "current",
        "--cpu",
        "1",
        "--memory",
        "1G",
    )
    out = cli(stack, "admin", "users", "add", "erin")
    erin = stack.login("erin", password_from(out.output))
    page = erin.get(f"{stack.url}/hub/spawn").text
    # every offered profile with its description, the one above the quota disabled with the reason, the quota left
    assert "Extra tools" in page and "The ocean image plus extra tools" in page and "Standard" in page
    assert "asks for 8 CPU" in page
    assert "servers left: 1" in page and "up to 2 CPU and 4G memory per server" in page

    r = erin.post(f"{stack.url}/hub/spawn", data={"profile": "extra", "_xsrf": erin.cookies.get("_xsrf")})
    assert r.status_code == 200
    stack.wait_server("erin")
    server = stack.api("GET", "/users/erin").json()["servers"][""]
    assert server["user_options"] == {"profile": "extra"}

    out = cli(stack, "admin", "images", "retire", "extra")
    assert "running servers keep it" in out.output
    images = {i["name"]: i for i in yaml.safe_load(cli(stack, "admin", "images", "list", "--json").output)}
    assert images["extra"]["retired"] is True
    # no new server gets it, and the spawn page no longer offers it (so the hub has seen the change)...
    out = cli(stack, "admin", "users", "add", "frank")
    frank = stack.login("frank", password_from(out.output))
    assert "Extra tools" not in frank.get(f"{stack.url}/hub/spawn").text
    r = stack.start_server("frank", profile="extra")
    assert r.status_code == 403 and "'extra' is not offered to you" in r.json()["message"]
    # ...but the running server, started before, keeps its image
    after = stack.api("GET", "/users/erin").json()["servers"][""]
    assert after["ready"] and after["started"] == server["started"]
    assert "already retired" in cli(stack, "admin", "images", "retire", "extra").output
    assert "No profile named 'nope'" in cli(stack, "admin", "images", "retire", "nope", ok=False).output
    stack.stop_server("erin")


def test_quota_change_applies_to_next_server_and_cluster(stack: VRETestStack) -> None:
    for name in ("gil", "hana"):
        cli(stack, "admin", "users", "add", name)
    assert stack.start_server("gil").status_code in (201, 202)
    started = stack.api("GET", "/users/gil").json()["servers"][""]["started"]
    r = stack.start_server("hana", profile="large")
    assert r.status_code == 403 and "above the cpu limit of 2" in r.json()["message"]
    gw = gateway(stack, "gil")
    first = gw.submit()
    try:
        with pytest.raises(ValueError, match="quota 'dask.clusters'"):
            gw.submit()

        # wrong values are refused whole: the file is not touched
        before = stack.config_path.read_bytes()
        assert "not a size" in cli(stack, "admin", "quotas", "set", "default", "--memory", "4X", ok=False).output
        assert (
            "No group named 'nosuch'" in cli(stack, "admin", "quotas", "set", "nosuch", "--cpu", "1", ok=False).output
        )
        assert stack.config_path.read_bytes() == before

        cli(stack, "admin", "quotas", "set", "default", "--cpu", "8", "--memory", "32G", "--dask-clusters", "2")
        shown = yaml.safe_load(cli(stack, "admin", "quotas", "show", "default", "--json").output)[0]
        assert (shown["cpu"], shown["memory"], shown["dask_clusters"]) == (8, "32G", 2)

        # the next server follows the new quota; the running one is untouched
        assert stack.start_server("hana", profile="large").status_code in (201, 202)
        gil = stack.api("GET", "/users/gil").json()["servers"][""]
        assert gil["ready"] and gil["started"] == started
        # and so does the next Dask cluster (the gateway re-read vre.yaml)
        second = gw.submit()
        gw.stop_cluster(second)
    finally:
        gw.stop_cluster(first)
        gw.close()
    stack.stop_server("gil")
    stack.stop_server("hana")
