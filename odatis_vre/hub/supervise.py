"""Run a command that must not outlive its parent: ``python -m odatis_vre.hub.supervise -- CMD...``.

Hub-managed services are started by the hub; if the hub is killed (even with SIGKILL)
they would keep their ports and block the next hub. This wrapper forwards SIGTERM/SIGINT
to the command and stops it when its parent process goes away.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def run(cmd: list[str], poll: float = 0.5) -> int:
    parent = os.getppid()
    child = subprocess.Popen(cmd)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            return child.wait(timeout=poll)
        except subprocess.TimeoutExpired:
            pass
        if os.getppid() != parent:
            child.terminate()
            try:
                return child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                return child.wait()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        print("usage: python -m odatis_vre.hub.supervise -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
