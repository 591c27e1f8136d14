"""The catalogue's search index: columns (numpy arrays, postings of a vocabulary), built once per file.

A catalogue of 20 000 entries is searched in a few milliseconds because nothing is done per entry in
Python. At index time the text fields of every entry (name, title, keywords, variables, description,
data centre) are cut into whitespace-separated tokens; one **vocabulary** of the distinct tokens is
kept as one array of UTF-8 bytes, and each field gets **postings** (for each token, the rows holding
it). A query word (a substring: ``temper`` finds ``temperature``) is looked for once in the
vocabulary, far shorter than the text since words repeat, and its tokens' postings give the rows;
boxes, periods, themes and flags are numpy arrays. A term with a space in it (``data_centre="ocean
colour"``) is scanned for in the field's joined text instead.

Each catalogue file is a :class:`Part`: its names, its :class:`Columns`, and its entries read **lazily**
(one JSON line at a known byte offset). The index of a file is found, in order:

1. beside the file, ``<file>.index.bin`` + ``<file>.index.json`` (written by :func:`write_sidecar`,
   e.g. by the harvest): what a new user's first open reads (no parsing at all). It is checked against
   the file's size and modification time, else its SHA-256, so the three files can be copied elsewhere
   (an image) together;
2. in the user's cache (``$ODATIS_VRE_CACHE_DIR``): the index and a JSON-lines copy of the entries,
   used while the file keeps the path, size and modification time it was built for;
3. else the file is parsed (JSON when it is one, else libyaml) and both are written to the cache.

An index file is a JSON header and raw arrays (:func:`write_arrays`), memory-mapped when read: nothing
is pickled, and an open reads only what the first search touches.

>>> cols = Columns.build({"a": {"metadata": {"title": "Sea temperature", "theme": "physics", "bbox": [0, 0, 1, 1]}}})
>>> cols.rows_with("temper", "t").tolist()
[0]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

SEP = "\x1e"  # between entries in a joined text column
VSEP = "\x1f"  # between variables of one entry
FORMAT = 3
THEMES = ("physics", "biogeochemistry", "in_situ", "biology_imaging")
TEXT_FIELDS = ("n", "t", "k", "v", "d", "dc")
FAR_PAST, FAR_FUTURE = "0000-01-01", "9999-12-31"


def _s(x: Any) -> str:
    return str(x) if x is not None else ""


def entry_fields(name: str, raw: Any) -> dict[str, Any]:
    """What the index keeps of one entry (tolerant: fields of the wrong type just match nothing)."""
    if not isinstance(raw, dict):
        return {"ok": False, "name": name}
    md = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    variables = md.get("variables") if isinstance(md.get("variables"), list) else []
    vnames = []
    for v in variables:
        if isinstance(v, dict):
            vnames += [x for x in (_s(v.get("name")), _s(v.get("standard_name")), _s(v.get("long_name"))) if x]
    kw = md.get("keywords") if isinstance(md.get("keywords"), list) else []
    bbox = md.get("bbox")
    try:
        w, s, e, n = (float(x) for x in bbox)  # type: ignore[union-attr]
        box = (w, s, e, n) if -180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90 else None
    except (TypeError, ValueError):
        box = None
    tr = md.get("time_range")
    t0 = t1 = None
    if isinstance(tr, (list, tuple)) and len(tr) == 2:
        t0 = str(tr[0])[:10] if tr[0] else FAR_PAST
        t1 = str(tr[1])[:10] if tr[1] else FAR_FUTURE
    access = md.get("access") if isinstance(md.get("access"), dict) else {}
    return {
        "ok": True,
        "name": name,
        "title": _s(md.get("title")),
        "theme": md.get("theme"),
        "n": name.lower(),
        "t": _s(md.get("title")).lower(),
        "k": " ".join(map(str, kw)).lower(),
        "v": VSEP.join(vnames).lower(),
        "d": " ".join(
            [_s(raw.get("description")), _s(md.get("producer")), _s(md.get("data_centre")), _s(md.get("theme"))]
        ).lower(),
        "dc": _s(md.get("data_centre")).lower(),
        "bbox": box,
        "t0": t0,
        "t1": t1,
        "sample": bool(md.get("sample")),
        "login": bool(access.get("login")),
        "link": access.get("protocol") == "link",
        "driver": _s(raw.get("driver")),
        "doi": md.get("doi"),
    }


class Columns:
    """The search index of one catalogue file, as arrays (see the module's docstring)."""

    def __init__(self, arrays: dict[str, Any], text_loader: Callable[[str], str] | None = None):
        self.names: list[str] = arrays["names"]
        self.titles: list[str] = arrays["titles"]
        self.drivers: list[str] = arrays["drivers"]
        self.starts: dict[str, np.ndarray] = arrays["starts"]
        self.ok: np.ndarray = arrays["ok"]
        self.theme: np.ndarray = arrays["theme"]
        self.bbox: np.ndarray = arrays["bbox"]
        self.t0: np.ndarray = arrays["t0"]
        self.t1: np.ndarray = arrays["t1"]
        self.sample: np.ndarray = arrays["sample"]
        self.login: np.ndarray = arrays["login"]
        self.link: np.ndarray = arrays["link"]
        self.offsets: np.ndarray = arrays.get("offsets", np.zeros((len(self.names), 2), np.int64))
        self.vocab: np.ndarray = arrays["vocab"]  # UTF-8 bytes of the tokens, each followed by SEP
        self.vstarts: np.ndarray = arrays["vstarts"]
        self.pptr: dict[str, np.ndarray] = arrays["pptr"]
        self.prows: dict[str, np.ndarray] = arrays["prows"]
        self.name_rank: np.ndarray = arrays["name_rank"]
        self._text: dict[str, str] = dict(arrays.get("text") or {})
        self._text_loader = text_loader
        self._byte_freq: np.ndarray | None = None
        self._code_cache: dict[str, np.ndarray] = {}
        self._tokens: dict[str, np.ndarray] = {}
        self._masks: dict[tuple[str, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.names)

    def text(self, field: str) -> str:
        """The joined lower-case text of ``field`` (read from the index file the first time it is needed)."""
        if field not in self._text:
            if self._text_loader is None:
                raise KeyError(field)
            self._text[field] = self._text_loader(field)
        return self._text[field]

    def sorted_names(self) -> np.ndarray:
        """The names in sorted order, as a numpy string array (made once)."""
        arr = getattr(self, "_sorted_names", None)
        if arr is None:
            order = np.empty(len(self.names), np.int64)
            order[self.name_rank] = np.arange(len(self.names))
            arr = np.array(self.names, dtype=str)[order] if self.names else np.zeros(0, "U1")
            self._sorted_names = arr
        return arr

    def theme_names(self) -> list[str | None]:
        """Each row's theme as a string (``None`` when it has none), as a list (made once)."""
        out = getattr(self, "_theme_names", None)
        if out is None:
            out = self._theme_names = [THEMES[t] if t >= 0 else None for t in self.theme.tolist()]
        return out

    def forget(self) -> None:
        """Drop the answers remembered for words already searched (a benchmark's "never searched" case)."""
        self._tokens.clear()
        self._masks.clear()

    @classmethod
    def build(cls, sources: dict[str, Any], offsets: np.ndarray | None = None) -> Columns:
        """The index of ``sources`` (name → raw entry); ``offsets`` (n × 2: byte start, length) locate entries.

        Besides the joined texts, each text field gets postings over one vocabulary shared by the fields:
        the whitespace-separated tokens of every entry, and for each token the rows that contain it.
        """
        rows = [entry_fields(str(k), v) for k, v in sources.items()]
        n = len(rows)
        text, starts = {}, {}
        vocab: dict[str, int] = {}
        pairs: dict[str, tuple[list[int], list[int]]] = {}
        for f in TEXT_FIELDS:
            parts = [r.get(f, "").replace(SEP, " ") if r["ok"] else "" for r in rows]
            lens = np.fromiter((len(p) + 1 for p in parts), np.int64, count=n)
            starts[f] = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64) if n else np.zeros(0, np.int64)
            text[f] = SEP.join(parts) + SEP
            toks: list[int] = []
            owners: list[int] = []
            for i, p in enumerate(parts):
                # str.split() cuts at every whitespace character, SEP and VSEP included
                ids = {vocab.setdefault(t, len(vocab)) for t in p.split()}
                toks.extend(ids)
                owners.extend([i] * len(ids))
            pairs[f] = (toks, owners)
        n_tokens = len(vocab)
        pptr, prows = {}, {}
        for f, (toks, owners) in pairs.items():
            t = np.asarray(toks, np.int64)
            order = np.argsort(t, kind="stable")  # stable: each token's rows stay ascending
            prows[f] = np.asarray(owners, np.int32)[order]
            pptr[f] = np.zeros(n_tokens + 1, np.int64)
            np.cumsum(np.bincount(t, minlength=n_tokens), out=pptr[f][1:])
        joined = (SEP.join(vocab) + SEP).encode("utf-8") if vocab else b""
        tok_lens = np.fromiter((len(t.encode("utf-8")) + 1 for t in vocab), np.int64, count=n_tokens)
        vstarts = np.zeros(n_tokens, np.int64)
        if n_tokens:
            np.cumsum(tok_lens[:-1], out=vstarts[1:])
        names = [r["name"] for r in rows]
        rank = np.zeros(n, np.int32)
        if n:
            rank[np.argsort(np.array(names, dtype=str), kind="stable")] = np.arange(n, dtype=np.int32)
        bbox = np.full((n, 4), np.nan)
        for i, r in enumerate(rows):
            if r.get("bbox"):
                bbox[i] = r["bbox"]
        return cls(
            {
                "names": names,
                "titles": [r.get("title", "") for r in rows],
                "drivers": [r.get("driver", "") for r in rows],
                "text": text,
                "starts": starts,
                "ok": np.array([r["ok"] for r in rows], bool),
                "theme": np.array(
                    [THEMES.index(r["theme"]) if r.get("theme") in THEMES else -1 for r in rows], np.int8
                ),
                "bbox": bbox,
                "t0": np.array([r.get("t0") or "" for r in rows], "S10"),
                "t1": np.array([r.get("t1") or "" for r in rows], "S10"),
                "sample": np.array([r.get("sample", False) for r in rows], bool),
                "login": np.array([r.get("login", False) for r in rows], bool),
                "link": np.array([r.get("link", False) for r in rows], bool),
                "offsets": offsets if offsets is not None else np.zeros((n, 2), np.int64),
                "vocab": np.frombuffer(joined, np.uint8),
                "vstarts": vstarts,
                "pptr": pptr,
                "prows": prows,
                "name_rank": rank,
            }
        )

    # -- storage (no pickle)
    def save(self, path: Path, key: str) -> None:
        """Write the index to ``path`` (:func:`write_arrays`, atomically), valid for the file state ``key``."""
        arrays = {
            "names": _blob("\n".join(self.names)),
            "titles": _blob(SEP.join(t.replace(SEP, " ") for t in self.titles)),
            "drivers": _blob("\n".join(d.replace("\n", " ") for d in self.drivers)),
            "ok": self.ok,
            "theme": self.theme,
            "bbox": self.bbox,
            "t0": self.t0,
            "t1": self.t1,
            "sample": self.sample,
            "login": self.login,
            "link": self.link,
            "offsets": self.offsets,
            "vocab": self.vocab,
            "vstarts": self.vstarts,
            "name_rank": self.name_rank,
            "byte_freq": np.bincount(self.vocab, minlength=256).astype(np.int64),
        }
        for f in TEXT_FIELDS:
            arrays[f"text_{f}"] = _blob(self.text(f))
            arrays[f"starts_{f}"] = self.starts[f]
            arrays[f"pptr_{f}"] = self.pptr[f]
            arrays[f"prows_{f}"] = self.prows[f]
        write_arrays(path, arrays, key)

    @classmethod
    def load(cls, path: Path, key: str) -> Columns | None:
        """The index stored at ``path`` if it was built for ``key``, else ``None``.

        The file is memory-mapped: opening reads only the names and titles; the postings, texts and
        flags are read from the page cache as searches touch them.
        """
        arrays = read_arrays(path, key)
        if arrays is None:
            return None
        try:
            n = len(arrays["ok"])
            out = cls(
                {
                    "names": _unblob(arrays["names"]).split("\n") if n else [],
                    "titles": _unblob(arrays["titles"]).split(SEP) if n else [],
                    "drivers": _unblob(arrays["drivers"]).split("\n") if n else [],
                    "starts": {f: arrays[f"starts_{f}"] for f in TEXT_FIELDS},
                    "pptr": {f: arrays[f"pptr_{f}"] for f in TEXT_FIELDS},
                    "prows": {f: arrays[f"prows_{f}"] for f in TEXT_FIELDS},
                    **{
                        k: arrays[k]
                        for k in (
                            "ok",
                            "theme",
                            "bbox",
                            "t0",
                            "t1",
                            "sample",
                            "login",
                            "link",
                            "offsets",
                            "vocab",
                            "vstarts",
                            "name_rank",
                        )
                    },
                },
                text_loader=lambda field: _unblob(arrays[f"text_{field}"]),
            )
        except (KeyError, UnicodeDecodeError):
            return None
        out._byte_freq = arrays.get("byte_freq")
        return out

    # -- queries
    def tokens_with(self, word: str) -> np.ndarray:
        """Ids of the vocabulary's tokens that contain ``word`` (no whitespace in it), sorted.

        Vectorised over the vocabulary's UTF-8 bytes (a substring of code points is a substring of their
        UTF-8 bytes): the positions of the word's rarest byte, narrowed by each other byte (a regular
        expression would hand every match to Python).
        """
        ids = self._tokens.pop(word, None)
        if ids is None:
            arr = self.vocab
            w = np.frombuffer(word.encode("utf-8"), np.uint8)
            if not len(w) or len(w) > len(arr):
                ids = np.zeros(0, np.int64)
            else:
                freq = self._byte_freq
                if freq is None:
                    freq = self._byte_freq = np.bincount(arr, minlength=256)
                j = int(np.argmin(freq[w]))  # the anchor: the word's rarest byte
                cand = np.flatnonzero(arr == w[j]) - j
                cand = cand[(cand >= 0) & (cand <= len(arr) - len(w))]
                for k in range(len(w)):
                    if k == j:
                        continue
                    if not len(cand):
                        break
                    cand = cand[arr[cand + k] == w[k]]
                # tokens end with SEP, which a word never holds: a match lies inside one token
                if len(cand) > 4096:  # many matches (a short word): a lookup table beats a binary search
                    owner = getattr(self, "_byte_token", None)
                    if owner is None:
                        lens = np.diff(np.r_[self.vstarts, len(arr)])
                        owner = self._byte_token = np.repeat(np.arange(len(lens), dtype=np.int32), lens)
                    t = owner[cand]
                else:
                    t = np.searchsorted(self.vstarts, cand, side="right") - 1
                ids = t[np.r_[True, t[1:] != t[:-1]]] if len(t) else t
        self._tokens[word] = ids
        if len(self._tokens) > 256:
            self._tokens.pop(next(iter(self._tokens)))
        return ids

    def _mask_of_tokens(self, ids: np.ndarray, field: str) -> np.ndarray:
        """Which rows' ``field`` holds one of the tokens ``ids`` (sorted token ids), as a new boolean array."""
        ptr, rows = self.pptr[field], self.prows[field]
        n = len(self)
        mask = np.zeros(n, bool)
        if not len(ids) or not len(rows):
            return mask
        if len(ids) <= 2048:
            lo = ptr[ids]
            lens = ptr[ids + 1] - lo
            total = int(lens.sum())
            if total <= len(rows) // 4:  # a few postings: gather them
                if len(ids) == 1:
                    mask[rows[int(lo[0]) : int(lo[0]) + total]] = True
                else:
                    mask[rows[np.repeat(lo - (np.cumsum(lens) - lens), lens) + np.arange(total)]] = True
                return mask
        # many postings (a short word is in many tokens). One of them ("the", "sea") is often in
        # nearly every row: the tokens in at least half the rows first, and stop once every row is found
        heavy = self._heavy(field)
        for t in heavy[np.isin(heavy, ids, assume_unique=True)][:8].tolist():
            mask[rows[ptr[t] : ptr[t + 1]]] = True
        if mask.all():
            return mask
        wanted = np.zeros(len(ptr) - 1, bool)
        wanted[ids] = True
        # postings are sorted by token: the selected runs, then which rows they name
        return np.bincount(rows[np.repeat(wanted, self._plens(field))], minlength=n) > 0

    def _heavy(self, field: str) -> np.ndarray:
        """Tokens of ``field`` found in at least half the rows, the most frequent first (made once)."""
        cache = self.__dict__.setdefault("_heavy_cache", {})
        if field not in cache:
            plens = self._plens(field)
            heavy = np.flatnonzero(plens >= max(1, len(self) // 2))
            cache[field] = heavy[np.argsort(-plens[heavy], kind="stable")]
        return cache[field]

    def _plens(self, field: str) -> np.ndarray:
        """How many rows hold each token in ``field`` (made once)."""
        cache = self.__dict__.setdefault("_plens_cache", {})
        if field not in cache:
            cache[field] = np.diff(self.pptr[field])
        return cache[field]

    def _scan(self, word: str, field: str) -> np.ndarray:
        """Rows whose joined ``field`` text contains ``word`` (any characters, spaces too), sorted, unique."""
        arr = self._code_cache.get(field)
        if arr is None:
            arr = np.frombuffer(self.text(field).encode("utf-32-le"), np.uint32)
            self._code_cache[field] = arr
        w = np.frombuffer(word.encode("utf-32-le"), np.uint32)
        if not len(w) or len(w) > len(arr):
            return np.zeros(0, np.int64)
        cand = np.flatnonzero(arr[: len(arr) - len(w) + 1] == w[0])
        for k in range(1, len(w)):
            if not len(cand):
                break
            cand = cand[arr[cand + k] == w[k]]
        if not len(cand):
            return np.zeros(0, np.int64)
        rows = np.searchsorted(self.starts[field], cand, side="right") - 1  # sorted: drop repeats
        return rows[np.r_[True, rows[1:] != rows[:-1]]]

    def mask_with(self, word: str, field: str) -> np.ndarray:
        """Which rows' ``field`` contains ``word`` (lower-case substring), as a read-only boolean mask.

        A word without whitespace is looked up in the vocabulary (tokens containing it) and its rows
        come from the postings; a phrase (``data_centre="ocean colour"``) is scanned for in the joined
        text. The last 256 (word, field) answers are remembered: the explorer's picker, while one
        types, looks up only the new word.
        """
        key = (word, field)
        m = self._masks.pop(key, None)
        if m is None:
            if any(ch.isspace() for ch in word):
                m = np.zeros(len(self), bool)
                m[self._scan(word, field)] = True
            elif word:
                m = self._mask_of_tokens(self.tokens_with(word), field)
            else:
                m = np.zeros(len(self), bool)
            m.setflags(write=False)
        self._masks[key] = m
        if len(self._masks) > 256:
            self._masks.pop(next(iter(self._masks)))
        return m

    def rows_with(self, word: str, field: str) -> np.ndarray:
        """Rows whose ``field`` contains ``word`` (lower-case substring), sorted, unique."""
        return np.flatnonzero(self.mask_with(word, field))


MAGIC = b"ODATISIX"
_DTYPES = {"|u1", "|i1", "|b1", "<i4", "<i8", "<f8", "|S10"}


def write_arrays(path: Path, arrays: dict[str, np.ndarray], key: str) -> None:
    """Write named arrays to one file, atomically: ``MAGIC``, a JSON header (key, format, and each
    array's dtype, shape and offset), then the arrays' bytes, each 64-byte aligned.

    Not ``.npz``: a zip member is checked (CRC-32) when read, ~70 ms for a 20 000-entry index, and cannot
    be memory-mapped. Nothing is pickled.
    """
    entries, pos = {}, 0
    blobs = []
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype.str not in _DTYPES:
            raise ValueError(f"index array {name!r}: dtype {arr.dtype.str} is not one of {sorted(_DTYPES)}")
        pos = -(-pos // 64) * 64
        entries[name] = [arr.dtype.str, list(arr.shape), pos]
        blobs.append((pos, arr))
        pos += arr.nbytes
    head = json.dumps({"key": key, "format": FORMAT, "arrays": entries}).encode()
    base = -(-(len(MAGIC) + 8 + len(head)) // 64) * 64
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(MAGIC + len(head).to_bytes(8, "little") + head)
            for off, arr in blobs:
                fh.seek(base + off)
                fh.write(arr.tobytes())
            fh.truncate(base + pos)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_arrays(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays of a file written by :func:`write_arrays` for ``key`` (read-only views of a memory
    map), or ``None`` if it is missing, damaged, of another format or for another key."""
    import mmap

    try:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                return None
            size = int.from_bytes(fh.read(8), "little")
            head = json.loads(fh.read(size))
            if head.get("key") != key or head.get("format") != FORMAT:
                return None
            total = os.fstat(fh.fileno()).st_size
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if total else None
        base = -(-(len(MAGIC) + 8 + size) // 64) * 64
        out = {}
        for name, (dtype, shape, off) in head["arrays"].items():
            if dtype not in _DTYPES:
                return None
            dt = np.dtype(dtype)
            count = int(np.prod(shape)) if shape else 1
            if base + off + count * dt.itemsize > total:
                return None
            arr = np.frombuffer(mm, dt, count, base + off) if count else np.zeros(0, dt)  # type: ignore[arg-type]
            out[name] = arr.reshape(shape)
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _blob(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), np.uint8)


def _unblob(arr: np.ndarray) -> str:
    return arr.tobytes().decode("utf-8")


# ----------------------------------------------------------------------------- one file


def file_key(path: Path) -> str:
    st = path.stat()
    return f"{FORMAT}:{path}:{st.st_size}:{st.st_mtime_ns}"


def sidecar_path(path: Path) -> Path:
    """Where the shared index of a catalogue file lives (beside it)."""
    return path.with_name(path.name + ".index.bin")


_LINE = re.compile(rb'^ ("(?:[^"\\]|\\.)*"): (\{.*\}),?\n?$')


def json_lines_offsets(data: bytes) -> tuple[dict[str, Any], np.ndarray] | None:
    """For a catalogue written one entry per line (``odatis_vre.data.harvest.write_catalogue``): the top-level
    document without sources, and each entry's (byte offset, length); ``None`` for any other layout."""
    if not data.startswith(b'{"metadata": '):
        return None
    first_nl = data.find(b"\n")
    second_nl = data.find(b"\n", first_nl + 1)
    if first_nl < 0 or data[first_nl + 1 : second_nl] != b'"sources": {':
        return None
    head = json.loads(data[:first_nl].rstrip(b",") + b"}")
    offsets, names = [], []
    pos = second_nl + 1
    end = len(data)
    while pos < end:
        nl = data.find(b"\n", pos)
        nl = end if nl < 0 else nl
        line = data[pos:nl]
        if line == b"}}":
            break
        m = _LINE.match(line)
        if not m:
            return None
        names.append(json.loads(m.group(1)))
        start = pos + m.start(2)
        offsets.append((start, m.end(2) - m.start(2)))
        pos = nl + 1
    head["_names"] = names
    return head, np.asarray(offsets, np.int64).reshape(-1, 2)


class Part:
    """One catalogue file: names, search columns, top-level document, and entries read on demand.

    The entries' file is opened when the part is made and read through that descriptor: a harvest that
    replaces the catalogue (a new file renamed over the old one) cannot make an opened part read the new
    file at the old file's offsets.
    """

    def __init__(
        self,
        path: Path,
        key: str,
        meta: dict[str, Any],
        includes: Any,
        columns: Columns,
        entries_file: Path | None,
        eager: dict[str, Any] | None = None,
    ):
        import weakref

        self.path, self.key, self.meta, self.includes = path, key, meta, includes
        self.columns = columns
        self.entries_file = entries_file
        self.pos = {n: i for i, n in enumerate(columns.names)}
        self._cache: dict[str, Any] = dict(eager or {})
        self._fd: int | None = None
        if entries_file is not None and len(self._cache) < len(columns):
            self._fd = os.open(entries_file, os.O_RDONLY)
            weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return len(self.columns)

    def get(self, name: str) -> Any:
        """The raw entry ``name`` (read from its line the first time)."""
        if name in self._cache:
            return self._cache[name]
        i = self.pos[name]
        start, length = (int(x) for x in self.columns.offsets[i])
        value = json.loads(os.pread(self._fd, length, start))  # type: ignore[arg-type]  # pread: thread-safe
        self._cache[name] = value
        return value

    def items(self) -> Iterable[tuple[str, Any]]:
        if self._fd is not None and len(self._cache) < len(self.columns):
            data = os.pread(self._fd, os.fstat(self._fd).st_size, 0)
            for name, (start, length) in zip(self.columns.names, self.columns.offsets.tolist()):
                if name not in self._cache:
                    self._cache[name] = json.loads(data[start : start + length])
        return ((n, self._cache[n]) for n in self.columns.names)


def _cache_files(cache_dir: Path, path: Path) -> tuple[Path, Path]:
    h = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    return cache_dir / f"catalog-{h}.index.bin", cache_dir / f"catalog-{h}.entries.jsonl"


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes (what the index beside a catalogue was built for)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sidecar_part(path: Path, key: str) -> Part | None:
    """The catalogue file opened through the index beside it, if that index was built for its bytes.

    The index records the file's size, modification time and SHA-256: a file with the same size and
    time is trusted at once; one whose time changed (copied into an image, checked out again) is hashed
    and still uses the index when its bytes are the same. The path is not part of the check, so the
    catalogue and its index can be moved together.
    """
    side, head_file = sidecar_path(path), path.with_name(path.name + ".index.json")
    try:
        head = json.loads(head_file.read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(head, dict) or head.get("format") != FORMAT or head.get("size") != st.st_size:
        return None
    if head.get("mtime_ns") != st.st_mtime_ns and head.get("sha256") != content_hash(path):
        return None
    cols = Columns.load(side, f"{FORMAT}:sha256:{head.get('sha256')}")
    if cols is None:
        return None
    return Part(path, key, head.get("metadata") or {}, head.get("includes"), cols, path)


def load_part(path: Path, cache_dir: Path | None, parse: Callable[[Path, str], dict[str, Any]]) -> Part:
    """Open one catalogue file through its sidecar index, the user's cache, or by parsing it (module docstring).

    ``parse(path, text)`` returns the document (``{"sources": ..., ...}``) or raises the catalogue's error.
    """
    key = file_key(path)
    if sidecar_path(path).exists():
        part = _sidecar_part(path, key)
        if part is not None:
            return part
    if cache_dir is not None:
        idx, entries = _cache_files(cache_dir, path)
        head_cache = idx.with_suffix("").with_suffix(".json")
        cols = Columns.load(idx, key) if idx.exists() else None
        if cols is not None:
            try:
                head = json.loads(head_cache.read_text(encoding="utf-8"))
                # entries are read from the file itself (one-entry-per-line JSON) or from the cache's copy
                source = path if head.get("entries_in_file") else entries
                if head.get("key") == key and source.exists():
                    return Part(path, key, head.get("metadata") or {}, head.get("includes"), cols, source)
            except (OSError, ValueError):
                pass
    data = path.read_bytes()
    lines = json_lines_offsets(data)
    if lines is not None:  # our own one-entry-per-line JSON: offsets into the file itself
        head, offsets = lines
        names = head.pop("_names")
        sources = {}
        for name, (start, length) in zip(names, offsets.tolist()):
            sources[name] = json.loads(data[start : start + length])
        cols = Columns.build(sources, offsets)
        part = Part(
            path,
            key,
            head.get("metadata") if isinstance(head.get("metadata"), dict) else {},
            head.get("includes"),
            cols,
            path,
            eager=sources,
        )
        if cache_dir is not None:
            _save_quietly(cols, _cache_files(cache_dir, path)[0], key, {**head_meta(part), "entries_in_file": True})
        return part
    doc = parse(path, data.decode("utf-8"))
    sources = {str(k): v for k, v in doc["sources"].items()}
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    if cache_dir is None:
        return Part(path, key, meta, doc.get("includes"), Columns.build(sources), None, eager=sources)
    idx, entries = _cache_files(cache_dir, path)
    buf, offsets, pos = [], [], 0
    for v in sources.values():
        line = json.dumps(v, ensure_ascii=False, default=str).encode("utf-8")
        offsets.append((pos, len(line)))
        buf.append(line)
        pos += len(line) + 1
    cols = Columns.build(sources, np.asarray(offsets, np.int64).reshape(-1, 2))
    part = Part(path, key, meta, doc.get("includes"), cols, entries, eager=sources)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = entries.with_name(f".{entries.name}.{os.getpid()}.tmp")
        tmp.write_bytes(b"\n".join(buf) + b"\n")
        os.replace(tmp, entries)
        _save_quietly(cols, idx, key, head_meta(part))
    except OSError:
        pass
    return part


def head_meta(part: Part) -> dict[str, Any]:
    return {"key": part.key, "metadata": part.meta, "includes": part.includes}


def _save_quietly(cols: Columns, idx: Path, key: str, head: dict[str, Any]) -> None:
    try:
        idx.parent.mkdir(parents=True, exist_ok=True)
        cols.save(idx, key)
        target = idx.with_suffix("").with_suffix(".json")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(head, default=str), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass  # a read-only cache only costs speed


def write_sidecar(path: str | os.PathLike[str]) -> Path:
    """Build the shared index of a one-entry-per-line catalogue and write it beside the file.

    Called by the harvest after each write, so that every user's first open reads the index instead of
    parsing the catalogue. Returns the sidecar's path. An image that ships the catalogue ships
    ``<file>``, ``<file>.index.bin`` and ``<file>.index.json`` together (the index is checked against
    the file's bytes, not its path).

    >>> write_sidecar("catalog/harvested/sextant.yaml")          # doctest: +SKIP
    PosixPath('catalog/harvested/sextant.yaml.index.bin')
    """
    path = Path(path)
    data = path.read_bytes()
    lines = json_lines_offsets(data)
    if lines is None:
        raise ValueError(
            f"{path}: not a one-entry-per-line catalogue (written by odatis_vre.data.harvest.write_catalogue)"
        )
    head, offsets = lines
    names = head.pop("_names")
    sources = {n: json.loads(data[s : s + ln]) for n, (s, ln) in zip(names, offsets.tolist())}
    cols = Columns.build(sources, offsets)
    digest = hashlib.sha256(data).hexdigest()
    st = path.stat()
    side = sidecar_path(path)
    cols.save(side, f"{FORMAT}:sha256:{digest}")
    tmp = path.with_name(f".{path.name}.index.json.{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "sha256": digest,
                "metadata": head.get("metadata") or {},
                "includes": head.get("includes"),
            }
        ),
        encoding="utf-8",
    )
    os.replace(tmp, path.with_name(path.name + ".index.json"))
    return side
