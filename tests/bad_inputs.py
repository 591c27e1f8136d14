"""The bad-input corpus (``tests/bad_inputs.yaml``): loading, checking, and the page generated from it.

Each case of the table gives a *surface* (a command-line group, an HTTP API, a Python function,
the explorer page, ``vre.yaml``), the input, the expected answer (exit status, HTTP status or
exception), three phrases the message must contain — one naming the input, one saying what is
wrong, one saying what to do — and the state that must stay as it was (``unchanged``).
``tests/test_bad_inputs.py`` runs them; this module also writes ``docs/errors.md`` from the table::

    .venv/bin/python tests/bad_inputs.py          # rewrite docs/errors.md (make errors-page)

and ``test_errors_page_is_generated_from_the_corpus`` fails when the page is stale.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "bad_inputs.yaml"
PAGE = HERE.parent / "docs" / "errors.md"

#: where a bad input can come in, in the order of the page
SURFACES = {
    "vre.yaml": "The configuration file, vre.yaml",
    "cli config": "odatis-vre config",
    "cli catalog": "odatis-vre catalog",
    "cli data": "odatis-vre data",
    "cli admin": "odatis-vre admin",
    "cli workshop": "odatis-vre workshop",
    "cli publish": "odatis-vre publish",
    "cli repository": "odatis-vre repository",
    "cli explorer": "odatis-vre explorer",
    "cli timeseries": "odatis-vre timeseries",
    "cli up/down/status": "odatis-vre up, down and status",
    "cli completion": "odatis-vre completion",
    "hub accounts API": "The hub's accounts API (/hub/api/accounts/NAME)",
    "hub servers API": "Starting a server (the hub's REST API and the spawn page): quotas",
    "repository API": "The repository's REST API (/services/repository/api/...)",
    "publish.deposit": "Python: odatis_vre.publish.deposit",
    "catalog.search": "Python: odatis_vre.catalog.search",
    "catalog.load": "Python: odatis_vre.catalog.load",
    "compute.cluster": "Python: odatis_vre.compute.cluster (Dask Gateway quotas)",
    "explorer": "The data explorer (/services/explorer/ and the Data explorer tile)",
}
KINDS = ("cli", "python", "http", "explorer")
#: names of the state snapshots a case may ask to be unchanged (implemented in test_bad_inputs.py)
SNAPSHOTS = ("work", "config", "stack_config", "cache", "deposits", "accounts", "servers", "clusters", "home")
#: placeholders only a running stack can fill: a case using one needs ``stack: true``
STACK_PLACEHOLDERS = ("repo", "hub", "draft", "published", "token", "stack_config", "gateway")


@dataclass
class Case:
    """One row of the corpus."""

    id: str
    surface: str
    title: str
    expect: dict[str, Any]
    names: str
    wrong: str
    next: str
    unchanged: list[str]
    kind: str
    action: dict[str, Any]
    setup: str | None = None
    stack: bool = False
    note: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def phrases(self) -> list[str]:
        return [self.names, self.wrong, self.next]


def _placeholders(value: Any) -> set[str]:
    text = yaml.safe_dump(value)
    return {m.group(1) for m in re.finditer(r"\{(\w+)(?::\w+)?\}", text)}


def load(path: Path = CORPUS) -> list[Case]:
    """The cases of the corpus, checked for shape (a malformed row fails here, naming its id)."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases, seen = [], set()
    for i, row in enumerate(rows):
        where = f"{path.name} case {row.get('id', i)!r}"
        kinds = [k for k in KINDS if k in row]
        assert len(kinds) == 1, f"{where}: give exactly one of {', '.join(KINDS)}"
        missing = [
            k for k in ("id", "surface", "title", "expect", "names", "wrong", "next", "unchanged") if k not in row
        ]
        assert not missing, f"{where}: missing {', '.join(missing)}"
        assert row["id"] not in seen, f"{where}: the id is used twice"
        seen.add(row["id"])
        assert row["surface"] in SURFACES, f"{where}: unknown surface {row['surface']!r} (known: {', '.join(SURFACES)})"
        assert set(row["expect"]) <= {"exit", "status", "error"} and len(row["expect"]) == 1, (
            f"{where}: expect is one of exit, status, error"
        )
        assert row["unchanged"] and set(row["unchanged"]) <= set(SNAPSHOTS), (
            f"{where}: unchanged lists one or more of {', '.join(SNAPSHOTS)}"
        )
        used = _placeholders(row[kinds[0]]) | ({"draft"} if row.get("setup") else set())
        if used & set(STACK_PLACEHOLDERS) or set(row["unchanged"]) & {
            "deposits",
            "accounts",
            "servers",
            "clusters",
            "stack_config",
            "home",
        }:
            assert row.get("stack"), f"{where}: it uses the running stack: add `stack: true`"
        cases.append(
            Case(
                id=row["id"],
                surface=row["surface"],
                title=row["title"],
                expect=row["expect"],
                names=str(row["names"]),
                wrong=str(row["wrong"]),
                next=str(row["next"]),
                unchanged=list(row["unchanged"]),
                kind=kinds[0],
                action=row[kinds[0]],
                setup=row.get("setup"),
                stack=bool(row.get("stack")),
                note=row.get("note", ""),
                raw=row,
            )
        )
    return cases


# ----------------------------------------------------------------------------- the page


def _short(value: Any) -> str:
    """A placeholder-filled value as a reader sees it: file names without the test folder."""
    text = str(value)
    text = re.sub(r"\{work\}/", "", text)
    text = text.replace("{repo}", "<repository>/").replace("{hub}", "<hub>").replace("{draft}", "<id>")
    text = text.replace("{published}", "<id>").replace("{stack_config}", "vre.yaml")
    text = re.sub(r"\{token:\w+\}", "<token>", text)
    # very long values (a 300-character key) as their start and length
    return re.sub(r"(\w{12})\w{48,}", lambda m: f"{m.group(1)}…({len(m.group(0))} characters)", text)


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./:=,+@%<>-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def given(case: Case) -> str:
    """The input, written the way a user would type or send it."""
    a = case.action
    if case.kind == "cli":
        env = " ".join(
            f"{k}={_short(v)}" for k, v in (a.get("env") or {}).items() if "TOKEN" not in k and "URL" not in k
        )
        args = " ".join(_quote(_short(x)) for x in a["argv"])
        return (env + " " if env else "") + "odatis-vre " + args
    if case.kind == "python":
        args = [
            repr(_obj_repr(x)) if not (isinstance(x, str) and x.startswith("@")) else x[1:] for x in a.get("args", [])
        ]
        args += [
            f"{k}={_obj_repr(v)!r}" if not (isinstance(v, str) and v.startswith("@")) else f"{k}={v[1:]}"
            for k, v in (a.get("kwargs") or {}).items()
        ]
        call = f"{a['call']}({', '.join(args)})"
        if a.get("method"):
            margs = ", ".join(repr(_obj_repr(x)) for x in a.get("method_args", []))
            call += f".{a['method']}({margs})"
        return call.replace("'{work}/", "'")
    if case.kind == "http":
        body = a.get("json", a.get("data"))
        shown = (
            ""
            if body is None
            else " "
            + (
                yaml.safe_dump(body, default_flow_style=True, width=10_000, allow_unicode=True).strip()
                if "json" in a
                else repr(body)
            )
        )
        hdr = "".join(f" [{k}: {v}]" for k, v in (a.get("headers") or {}).items())
        who = {"none": " (no token)", "admin": " (admin)"}.get(a.get("user", "alice"), "")
        return f"{a['method']} {_short(a['url'])}{hdr}{who}{_short(shown)}"
    return f"open the explorer at <explorer>/?dataset={a['dataset']}"


def _obj_repr(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_obj_repr(v) for v in value)
    return _short(value) if isinstance(value, str) else value


def answer(case: Case) -> str:
    e = case.expect
    if "exit" in e:
        return f"exit {e['exit']}"
    if "status" in e:
        return f"HTTP {e['status']}" if case.kind != "explorer" else "page: warning"
    return e["error"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def page(cases: list[Case]) -> str:
    """``docs/errors.md``: the corpus as a reader's page, grouped by surface."""
    out = [
        "# Errors you may see",
        "",
        "<!-- Generated from tests/bad_inputs.yaml by tests/bad_inputs.py (make errors-page): do not edit by hand. -->",
        "",
        "Every input below is refused with one message that names the input, says what is wrong and what",
        "to do next; nothing is left half-written (no draft, no account, no file, no configuration change).",
        "Each row is a case of the test corpus (`tests/bad_inputs.yaml`, run by `tests/test_bad_inputs.py`):",
        "the quoted words are checked to be in the message.",
        "",
        "On the command line a refused input exits with status **1** (`Error: ...`), a wrong command line",
        "(unknown option, a value of the wrong kind) with **2**, and a bug of odatis-vre with **70**, saying",
        "so. No traceback is printed unless you ask for one: `odatis-vre --debug COMMAND ...`.",
        'HTTP APIs answer JSON: the repository `{"error": ..., "status": ...}`, the hub',
        '`{"status": ..., "message": ...}`. In Python the exception\'s message is the same text.',
        "",
        f"{len(cases)} cases over {len({c.surface for c in cases})} surfaces.",
        "",
    ]
    for surface, heading in SURFACES.items():
        rows = [c for c in cases if c.surface == surface]
        if not rows:
            continue
        out += [f"## {heading}", "", "| what was given | answer | the message says | what to do |", "|---|---|---|---|"]
        for c in rows:
            out.append(
                f"| {_cell(c.title)}: `{_cell(given(c))}` | {answer(c)} | “{_cell(_short(c.names))}” … "
                f"“{_cell(_short(c.wrong))}” | “{_cell(_short(c.next))}” |"
            )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write docs/errors.md from the corpus (``--check``: exit 1 if the page is not up to date)."""
    argv = sys.argv[1:] if argv is None else argv
    text = page(load())
    if "--check" in argv:
        fresh = PAGE.exists() and PAGE.read_text(encoding="utf-8") == text
        print(f"{PAGE}: {'up to date' if fresh else 'stale: run `make errors-page`'}")
        return 0 if fresh else 1
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE} ({len(load())} cases)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
