"""The shape of the command line (issue 18): global options, `-o` on listings, `list` verbs, completion, examples.

Runs the real ``odatis-vre`` group (click's runner, or the installed entry point in a real bash/zsh).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from vre_testing import TEST_CONFIG

from odatis_vre.cli import main

EXE = Path(sys.executable).with_name("odatis-vre")


def run(*args: str, ok: bool = True, **kw: object) -> Result:
    result = CliRunner().invoke(main, list(args), prog_name="odatis-vre", catch_exceptions=False, **kw)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def walk(
    cmd: click.Command, path: tuple[str, ...] = ("odatis-vre",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            if not sub.hidden:
                yield from walk(sub, path + (name,))


@pytest.fixture()
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "vre.yaml"
    path.write_text(yaml.safe_dump(TEST_CONFIG | {"hub": {"ip": "127.0.0.1", "port": 8765, "state_dir": ".vre"}}))
    return path


# ----------------------------------------------------------------------------- examples in every --help


def _example_lines(help_text: str) -> list[str]:
    block = help_text.split("Examples:", 1)[1].split("\nOptions:", 1)[0]
    return [line.strip() for line in block.splitlines() if "odatis-vre " in line]


def _parses(line: str) -> None:
    """The example names a real command with real options (values are not checked: files may not exist)."""
    if "<(" in line:  # source <(odatis-vre ...)
        line = line.split("<(", 1)[1].replace(")", " ", 1)
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"\w+=\S*", words[0]):  # VAR=value before the command
        words.pop(0)
    if "|" in words:
        words = words[: words.index("|")]
    assert words[0] == "odatis-vre", line
    words = [
        w for i, w in enumerate(words[1:], 1) if w not in (">", ">>", "<") and words[i - 1] not in (">", ">>", "<")
    ]
    cmd: click.Command = main
    ctx = click.Context(main, info_name="odatis-vre")
    while isinstance(cmd, click.Group):
        opts = {o: p for p in cmd.params for o in p.opts + p.secondary_opts}
        while words and words[0].startswith("-"):
            param = opts.get(words[0])
            assert param is not None, f"{line}: {words[0]} is not an option of {ctx.command_path}"
            words = words[2:] if isinstance(param, click.Option) and not param.is_flag else words[1:]
        if not words:
            return
        sub = cmd.get_command(ctx, words[0])
        assert sub is not None, f"{line}: {words[0]!r} is not a command of {ctx.command_path}"
        ctx, cmd, words = click.Context(sub, info_name=words[0], parent=ctx), sub, words[1:]
    try:
        cmd.make_context(ctx.info_name, list(words), parent=ctx.parent)
    except (click.NoSuchOption, click.BadOptionUsage) as exc:
        raise AssertionError(f"{line}: {exc.format_message()}") from None
    except click.UsageError as exc:
        if "unexpected extra argument" in exc.format_message():
            raise AssertionError(f"{line}: {exc.format_message()}") from None
        # a file that does not exist here, a missing value: the shape is right


def test_every_command_has_examples_that_name_real_commands_and_options() -> None:
    checked = 0
    for path, cmd in walk(main):
        ctx = click.Context(cmd, info_name=" ".join(path))
        text = cmd.get_help(ctx)
        assert "Examples:" in text, f"`{' '.join(path)} --help` shows no example"
        lines = _example_lines(text)
        assert lines, f"`{' '.join(path)} --help` has an empty Examples block"
        for line in lines:
            _parses(line)
            checked += 1
    assert checked > 60


# ----------------------------------------------------------------------------- global options


def test_global_options_go_before_or_after_the_command(cfg: Path, tmp_path: Path) -> None:
    before = run("--config", str(cfg), "config", "show").output
    after = run("config", "show", "--config", str(cfg)).output
    assert before == after and yaml.safe_load(before)["hub"]["port"] == 8765
    # the command's own value wins over the global one
    other = tmp_path / "other.yaml"
    other.write_text(cfg.read_text().replace("8765", "8766"))
    both = run("--config", str(cfg), "config", "show", "-c", str(other)).output
    assert yaml.safe_load(both)["hub"]["port"] == 8766
    # --hub-url and --token reach the admin commands from the group: the hub named there is the one asked
    out = run(
        "--config", str(cfg), "--hub-url", "http://127.0.0.1:9", "--token", "t", "admin", "users", "list", ok=False
    )
    assert out.exit_code == 1 and "The hub at http://127.0.0.1:9 does not answer" in out.output
    # and the token from $ODATIS_VRE_TOKEN, as before
    out = run(
        "--config",
        str(cfg),
        "--hub-url",
        "http://127.0.0.1:9",
        "admin",
        "users",
        "list",
        ok=False,
        env={"ODATIS_VRE_TOKEN": "t"},
    )
    assert "does not answer" in out.output


def test_publish_derives_the_repository_from_the_global_hub_url(tmp_path: Path) -> None:
    """`odatis-vre --hub-url H publish ...` sends to H/services/repository/ (here nothing answers there)."""
    from test_repository import META

    from odatis_vre.data import samples
    from odatis_vre.publishing import conventions, datafacts, metadata

    # a file publication would accept (ACDD attributes as a deposit writes them): only the address is wrong
    nc = conventions.to_netcdf(
        datafacts.annotate(
            samples.sst_dataset(days=2),
            metadata.load_metadata(META),
            doi="10.5072/cli",
            landing_url="https://vre.example.org/cli/",
            publisher_email="repository@vre.example.org",
        ),
        tmp_path / "sst.nc",
    )
    meta = tmp_path / "meta.yaml"
    meta.write_text(
        yaml.safe_dump(
            {
                "title": "SST for the CLI test",
                "creators": [{"name": "Doe, Jane"}],
                "licence": "CC-BY-4.0",
                "keywords": ["sst"],
                "abstract": "Two days of synthetic SST for a test of the command line.",
            }
        )
    )
    env = {"ODATIS_VRE_REPOSITORY_URL": None, "ODATIS_VRE_DEPOSIT_DIR": str(tmp_path / "cache")}
    out = CliRunner().invoke(
        main,
        ["--hub-url", "http://127.0.0.1:9", "--token", "t", "publish", str(nc), "-m", str(meta), "-q"],
        env=env,
        prog_name="odatis-vre",
    )
    assert out.exit_code == 1 and "http://127.0.0.1:9/services/repository/" in out.output, out.output
    assert "Traceback" not in out.output


# ----------------------------------------------------------------------------- -o on every listing, list verbs


LISTINGS = [
    ("catalog", "list"),
    ("catalog", "search", "temperature"),
    ("admin", "images", "list"),
    ("admin", "quotas", "list"),
    ("admin", "groups", "list"),
    ("workshop", "list"),
    ("repository", "list"),
    ("status",),
]


@pytest.mark.parametrize("words", LISTINGS, ids=" ".join)
def test_every_listing_speaks_table_json_and_yaml(words: tuple[str, ...], cfg: Path) -> None:
    env = {"ODATIS_VRE_CONFIG": str(cfg)}
    as_json = json.loads(run(*words, "-o", "json", env=env).stdout)
    as_yaml = yaml.safe_load(run(*words, "--output", "yaml", env=env).stdout)
    assert as_json == as_yaml
    assert run(*words, "--json", env=env).stdout == run(*words, "-o", "json", env=env).stdout  # the older flag
    table = run(*words, env=env, ok=False)
    assert table.exit_code in (0, 3) and not table.stdout.lstrip().startswith(("[", "{"))  # status: 3 = not running


def test_every_list_command_takes_output() -> None:
    for path, cmd in walk(main):
        if path[-1] == "list":
            assert any(p.name == "output" for p in cmd.params), f"`{' '.join(path)}` has no -o"


def test_older_verbs_still_work_but_are_hidden(cfg: Path) -> None:
    env = {"ODATIS_VRE_CONFIG": str(cfg)}
    assert (
        run("admin", "quotas", "show", "default", "--json", env=env).stdout
        == run("admin", "quotas", "list", "default", "-o", "json", env=env).stdout
    )
    assert "show" not in run("admin", "quotas", "--help").output.split("Commands:")[1]
    # `admin groups` alone lists, as before
    assert json.loads(run("admin", "groups", "--json", env=env).stdout) == json.loads(
        run("admin", "groups", "list", "-o", "json", env=env).stdout
    )


# ----------------------------------------------------------------------------- completion in real shells


def _shell_env() -> dict[str, str]:
    return os.environ | {"PATH": f"{EXE.parent}{os.pathsep}{os.environ['PATH']}"}


def test_bash_completion_completes_commands_options_and_choices() -> None:
    script = subprocess.run([str(EXE), "completion", "bash"], capture_output=True, text=True, check=True).stdout
    probe = (
        script + "\n"
        "complete -p odatis-vre\n"
        "for line in 'odatis-vre adm' 'odatis-vre admin quotas ' 'odatis-vre catalog list --theme ' "
        "'odatis-vre catalog search --ti'; do\n"
        "  COMP_WORDS=($line); [[ \"$line\" == *' ' ]] && COMP_WORDS+=('')\n"
        "  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()\n"
        "  _odatis_vre_completion odatis-vre\n"
        '  echo "$line => ${COMPREPLY[*]}"\n'
        "done\n"
    )
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=_shell_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" => ", 1) for line in out.stdout.splitlines() if " => " in line)
    assert "complete -o nosort -F _odatis_vre_completion odatis-vre" in out.stdout
    assert lines["odatis-vre adm"].split() == ["admin"]
    assert {"list", "set"} <= set(lines["odatis-vre admin quotas "].split())
    assert "show" not in lines["odatis-vre admin quotas "].split()  # hidden aliases are not offered
    assert set(lines["odatis-vre catalog list --theme "].split()) == {
        "physics",
        "biogeochemistry",
        "in_situ",
        "biology_imaging",
    }
    assert lines["odatis-vre catalog search --ti"].split() == ["--time"]


def test_zsh_completion_loads_in_zsh_and_answers() -> None:
    script = subprocess.run([str(EXE), "completion", "zsh"], capture_output=True, text=True, check=True).stdout
    out = subprocess.run(
        [
            "zsh",
            "-f",
            "-c",
            'autoload -Uz compinit && compinit -u -D && eval "$(cat)" && whence -w _odatis_vre_completion',
        ],
        input=script,
        capture_output=True,
        text=True,
        env=_shell_env(),
        timeout=120,
    )
    assert out.returncode == 0 and "_odatis_vre_completion: function" in out.stdout, out.stderr
    # what the zsh function asks the program (the same protocol, answered in zsh's format)
    answer = subprocess.run(
        [str(EXE)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_shell_env()
        | {"_ODATIS_VRE_COMPLETE": "zsh_complete", "COMP_WORDS": "odatis-vre admin qu", "COMP_CWORD": "2"},
    )
    assert answer.returncode == 0 and "quotas" in answer.stdout.split()
