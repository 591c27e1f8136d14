"""vre.yaml: the schema, its error messages, quotas, and the two modes side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from vre_testing import REPO, TEST_CONFIG

from odatis_vre import config
from odatis_vre.config import ConfigError
from odatis_vre.hub import modes
from odatis_vre.users import quotas

PROFILE = {"name": "p", "display_name": "P", "image": "img:1"}


def test_repository_config_is_valid() -> None:
    cfg = config.load(REPO / "vre.yaml")
    assert cfg.mode == "local"
    assert [p["name"] for p in cfg.profiles] == ["ocean", "ocean-large", "ml"]
    assert cfg.catalog_path == REPO / "catalog" / "odatis.yaml"


# (content of vre.yaml, words the error must contain: the key and what is allowed)
MALFORMED = [
    ({"profiles": [PROFILE], "mode": "cloud"}, ["mode", "'local'", "'kubernetes'"]),
    ({"profiles": [PROFILE], "hub": {"prot": 8000}}, ["hub.prot", "unknown key", "port"]),
    ({"profiles": [PROFILE], "hub": {"port": "eight"}}, ["hub.port", "integer"]),
    ({"profiles": [PROFILE | {"memory": {"limit": "lots"}}]}, ["profiles[0].memory.limit", "K, M, G or T"]),
    ({"profiles": [{"name": "p", "image": "i"}]}, ["profiles[0]", "display_name"]),
    ({"profiles": []}, ["profiles", "non-empty"]),
    ({"profiles": [PROFILE], "groups": {"Bad Name": {}}}, ["groups", "Bad Name"]),
    (
        {"profiles": [PROFILE], "groups": {"g": {"quota": {"dask": {"workers": -1}}}}},
        ["groups.g.quota.dask.workers", "minimum"],
    ),
    ({"profiles": [PROFILE], "groups": {"g": {"quota": {"gpu": 1}}}}, ["groups.g.quota.gpu", "unknown key", "cpu"]),
    ({"profiles": [PROFILE, PROFILE]}, ["profiles", "'p' is used twice"]),
    ({"profiles": [PROFILE | {"groups": ["nope"]}]}, ["profiles[0].groups", "unknown group 'nope'"]),
    (
        {"profiles": [PROFILE | {"cpu": {"guarantee": 4, "limit": 2}}]},
        ["profiles[0].cpu", "guarantee 4 is above limit 2"],
    ),
    ({"profiles": [PROFILE], "mode": "kubernetes"}, ["auth.type", "needs 'oauth'"]),
    ({"profiles": [PROFILE], "auth": {"type": "oauth", "oauth": {"client_id": "x"}}}, ["auth.oauth", "authorize_url"]),
    (
        {"profiles": [PROFILE], "services": {"repository": {"registrar": "crossref"}}},
        ["services.repository.registrar", "'datacite'"],
    ),
    (
        {"profiles": [PROFILE], "services": {"repository": {"direct_downloads": {"url": "127.0.0.1:9000"}}}},
        ["services.repository.direct_downloads.url", "https?://"],
    ),
    (
        {"profiles": [PROFILE], "services": {"repository": {"direct_downloads": {"ttl": 1}}}},
        ["services.repository.direct_downloads.ttl", "minimum"],
    ),
    (
        {"profiles": [PROFILE], "services": {"repository": {"direct_downloads": {"min_size": "big"}}}},
        ["services.repository.direct_downloads.min_size", "K, M, G or T"],
    ),
]


@pytest.mark.parametrize("content,words", MALFORMED, ids=[w[0] for _, w in MALFORMED])
def test_malformed_config_names_the_key(tmp_path: Path, content: dict, words: list[str]) -> None:
    path = tmp_path / "vre.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert str(path) in message, message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "vre.yaml"
    path.write_text("profiles:\n  - name: p\n   display_name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        config.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        config.load(tmp_path / "absent.yaml")


def test_cli_config_check(tmp_path: Path) -> None:
    good = subprocess.run(
        [sys.executable, "-m", "odatis_vre", "config", "check", str(REPO / "vre.yaml")], capture_output=True, text=True
    )
    assert good.returncode == 0 and "valid (local mode" in good.stdout
    bad = tmp_path / "vre.yaml"
    bad.write_text(yaml.safe_dump({"profiles": [PROFILE], "hub": {"prot": 1}}))
    out = subprocess.run(
        [sys.executable, "-m", "odatis_vre", "config", "check", str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "hub.prot: unknown key" in out.stderr


def test_save_is_atomic_and_validated(tmp_path: Path) -> None:
    path = tmp_path / "vre.yaml"
    path.write_text(yaml.safe_dump({"profiles": [PROFILE]}))
    before = path.read_text()
    with pytest.raises(ConfigError):
        config.save({"profiles": [PROFILE], "mode": "nope"}, path)
    assert path.read_text() == before  # a refused change leaves the file as it was
    assert not list(tmp_path.glob(".vre.yaml.*"))  # no temporary file left behind
    config.save({"profiles": [PROFILE], "hub": {"port": 9}}, path)
    assert config.load(path).hub["port"] == 9


def test_quantities() -> None:
    assert config.parse_quantity("4G") == 4 * 1024**3
    assert config.parse_quantity("512M") == 512 * 1024**2
    assert config.parse_quantity(3) == 3.0
    assert config.format_bytes(4 * 1024**3) == "4G"
    assert config.format_bytes(1.5 * 1024**3) == "1.5G"


def _cfg(groups: dict, **extra) -> config.VREConfig:
    return config.from_dict({"profiles": [PROFILE], "groups": groups, **extra})


def test_quota_is_most_generous_of_groups() -> None:
    cfg = _cfg(
        {
            "default": {"quota": {"cpu": 1, "servers": 1}},
            "a": {"users": ["ann"], "quota": {"cpu": 4, "memory": "8G", "dask": {"workers": 2}}},
            "b": {"quota": {"cpu": 2, "memory": "16G", "dask": {"workers": 8}}},
        }
    )
    q = quotas.for_user(cfg, "ann", ["b"])
    assert (q.cpu, q.memory, q.dask_workers) == (4, 16 * 1024**3, 8)
    assert q.servers == quotas.UNLIMITED  # neither group limits servers
    assert quotas.for_user(cfg, "zoe", []).cpu == 1  # default group
    assert quotas.for_user(_cfg({}), "zoe", []).cpu == quotas.UNLIMITED


def test_quota_messages_name_the_limit() -> None:
    q = quotas.Quota.from_config(
        {
            "cpu": 2,
            "memory": "4G",
            "servers": 1,
            "dask": {"cores": 4, "workers": 2, "worker_memory": "2G", "clusters": 1},
        },
        "group 'x'",
    )
    with pytest.raises(quotas.QuotaExceeded, match=r"asks for 8 CPU.*limit of 2.*group 'x'"):
        quotas.check_profile(q, {"name": "big", "cpu": {"limit": 8}})
    with pytest.raises(quotas.QuotaExceeded, match=r"quota 'servers'"):
        quotas.check_servers(q, running=1)
    with pytest.raises(quotas.QuotaExceeded, match=r"quota 'dask.clusters'"):
        quotas.check_cluster(q, running_clusters=1)
    with pytest.raises(quotas.QuotaExceeded, match=r"quota 'dask.worker_memory'"):
        quotas.check_cluster(q, worker_memory=4 * 1024**3)
    with pytest.raises(quotas.QuotaExceeded, match=r"quota 'dask.cores'"):
        quotas.check_cluster(q, workers=2, worker_cores=4)
    quotas.check_cluster(q, running_clusters=0, workers=2, worker_cores=2, worker_memory=1024**3)


def test_modes_differ_only_where_declared(tmp_path: Path) -> None:
    """The local/Kubernetes differences come from odatis_vre.hub.modes; the rest of the hub config is shared."""
    from traitlets.config import Config

    from odatis_vre.hub import hubconfig

    local_raw = config.deep_merge(TEST_CONFIG, {"hub": {"port": 18999, "state_dir": str(tmp_path / "state")}})
    kube_raw = config.deep_merge(
        local_raw,
        {
            "mode": "kubernetes",
            "auth": {
                "type": "oauth",
                "oauth": {
                    "client_id": "vre",
                    "authorize_url": "https://sso.example.org/auth",
                    "token_url": "https://sso.example.org/token",
                    "userdata_url": "https://sso.example.org/userinfo",
                },
            },
        },
    )
    env = {"ODATIS_VRE_OAUTH_CLIENT_SECRET": "s3cret", "PATH": str(REPO / ".tools" / "node_modules" / ".bin")}
    configs = {}
    for name, raw in (("local", local_raw), ("kubernetes", kube_raw)):
        c = Config()
        hubconfig.apply(c, config.from_dict(raw, path=tmp_path / "vre.yaml"), environ=env)
        configs[name] = c
    loc, kub = configs["local"], configs["kubernetes"]
    assert loc.JupyterHub.spawner_class == "odatis_vre.hub.spawners.VRELocalSpawner"
    assert kub.JupyterHub.spawner_class == "odatis_vre.hub.spawners.VREKubeSpawner"
    assert "db_url" in loc.JupyterHub and "db_url" not in kub.JupyterHub  # z2jh owns the database there
    # local SQLite commits through the write-ahead log (hubdb); a PVC database is left as z2jh makes it
    assert loc.JupyterHub.db_kwargs["connect_args"]["factory"].__name__ == "TunedConnection"
    assert "db_kwargs" not in kub.JupyterHub
    # shared: groups, roles, server token scopes, default URL
    for key in ("load_groups", "load_roles"):
        assert loc.JupyterHub[key] == kub.JupyterHub[key]
    assert loc.Spawner.server_token_scopes == kub.Spawner.server_token_scopes
    assert loc.Spawner.default_url == kub.Spawner.default_url == "/lab"
    # local services are started by the hub, Kubernetes ones are Deployments reached by URL
    # (the idle culler runs inside the hub's pod in both modes, as in zero-to-jupyterhub; in Kubernetes so does
    # the recorder of Dask usage, which the local gateway's database makes unneeded there)
    assert all("command" in s for s in loc.JupyterHub.services if s["name"] != "odatis-cli")
    assert [s["name"] for s in kub.JupyterHub.services if "command" in s] == ["dask-usage", "idle-culler"]
    assert {s["name"] for s in loc.JupyterHub.services} == {s["name"] for s in kub.JupyterHub.services} - {"dask-usage"}
    # the user environment points at the right gateway and catalogue in each mode
    assert loc.Spawner.environment["DASK_GATEWAY__ADDRESS"].startswith("http://127.0.0.1:18999/")
    assert kub.Spawner.environment["ODATIS_VRE_CATALOG"] == modes.K8S_CATALOG
    # the OAuth secret comes from the environment, never from the file
    assert kub.GenericOAuthenticator.client_secret == "s3cret"
    with pytest.raises(ConfigError, match="ODATIS_VRE_OAUTH_CLIENT_SECRET"):
        hubconfig.apply(Config(), config.from_dict(kube_raw, path=tmp_path / "vre.yaml"), environ={})
