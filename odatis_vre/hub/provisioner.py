"""A kernel provisioner for the local mode: Jupyter's local one, with kernels below the hub's CPU priority.

jupyter_client starts every kernel in a session of its own, hence in a new scheduling autogroup at nice 0
(see :mod:`odatis_vre.hub.priority`): without this, 30 kernels busy at once would weigh 30 times the hub.
User servers of the local mode select it with ``JUPYTER_DEFAULT_PROVISIONER_NAME`` (modes.singleuser_env).
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from .priority import lower_autogroup, lower_priority


class LowPriorityProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Starts kernels like :class:`LocalProvisioner`, then lowers their session below the hub."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        # Popen calls preexec_fn in the child after setsid(): the kernel's own new session is lowered.
        # When the server changed its user id without exec'ing (forked from the zygote), that child's
        # /proc files are root's until it execs, so the server lowers the autogroup once Popen returned
        # (the kernel has exec'd by then).
        kwargs.setdefault("preexec_fn", lower_priority)
        info = await super().launch_kernel(cmd, **kwargs)
        if self.process is not None:
            await asyncio.to_thread(lower_autogroup, self.process.pid)
        return info
