"""A kernel provisioner for the local mode: Jupyter's local one, with kernels below the hub's CPU priority.

jupyter_client starts every kernel in a session of its own, hence in a new scheduling autogroup at nice 0
(see :mod:`odatis_vre.priority`): without this, 30 kernels busy at once would weigh 30 times the hub.
User servers of the local mode select it with ``JUPYTER_DEFAULT_PROVISIONER_NAME`` (modes.singleuser_env).
"""

from __future__ import annotations

from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from .priority import lower_priority


class LowPriorityProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Starts kernels like :class:`LocalProvisioner`, then lowers their session below the hub."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        # Popen calls preexec_fn in the child after setsid(): the kernel's own new session is lowered
        kwargs.setdefault("preexec_fn", lower_priority)
        return await super().launch_kernel(cmd, **kwargs)
