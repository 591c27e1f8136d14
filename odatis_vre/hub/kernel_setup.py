"""What every IPython kernel of the VRE sets up when it starts (see ``images/ocean/ipython_kernel_config.py``).

HoloViews, hvplot and Panel make a notebook load BokehJS and Panel's stylesheets from public CDNs unless they
are told to put them in the notebook itself. Without that, a plot in a server with no way out of the VRE stays
empty ("Bokeh or Panel library is missing") or unstyled, and the page asks ``cdn.holoviz.org`` for CSS.

- BokehJS: Panel reads ``PANEL_INLINE`` (set in every user server's environment); HoloViews' ``hv.extension``
  (which ``import hvplot.xarray`` calls too) has only a class parameter: :func:`offline_plots` sets it.
- Panel's component stylesheets (``css/loading.css``, ``css/listpanel.css``, ``bundled/theme/*.css``): Panel 1.9
  inlines them with ``config.inline`` only for objects it displays itself (``pn.Column(...)``); a HoloViews or
  hvplot object goes through HoloViews' renderer, which keeps them as links to ``cdn.holoviz.org``.
  :func:`inline_panel_stylesheets` makes every rendering inline them, once Panel is imported (importing it at
  each kernel start would cost every kernel a second and a half, plotting or not).

Example
-------
>>> offline_plots()
True
>>> from holoviews.ipython import notebook_extension
>>> notebook_extension.inline
True
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any


def offline_plots() -> bool:
    """Make HoloViews (and so hvplot) inline BokehJS into notebooks, and Panel its stylesheets once imported.

    False when HoloViews is not installed (Panel's stylesheets are still inlined when Panel is imported).

    Example
    -------
    >>> offline_plots()
    True
    """
    # when Panel is imported (now, or later by holoviews/hvplot/panel in a cell): never raises, or the
    # user's `import panel` would fail with it (the hook runs inside the import)
    after_import("panel", _inline_panel_stylesheets_safely)
    try:
        from holoviews.ipython import notebook_extension
    except ImportError:
        return False
    notebook_extension.inline = True
    return True


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of one top-level module to call ``hook`` once it is imported."""

    def __init__(self, name: str, hook: Callable[[ModuleType], None]) -> None:
        self.name, self.hook = name, hook

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once, and the real finders answer the lookup below
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, hook = spec.loader, self.hook
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            hook(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def after_import(name: str, hook: Callable[[ModuleType], None]) -> None:
    """Call ``hook(module)`` once the top-level module ``name`` is imported (now, if it already is).

    Example
    -------
    >>> seen = []
    >>> after_import("json", lambda m: seen.append(m.__name__))
    >>> seen
    ['json']
    """
    if name in sys.modules:
        hook(sys.modules[name])
    elif not any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, hook))


def inline_panel_stylesheets(panel: ModuleType | None = None) -> None:
    """Every Panel model rendered in this kernel carries Panel's own stylesheets inline, not links to its CDN.

    Sets ``panel.config.inline`` and adds a Panel preprocessing hook (run on each rendering and each update of
    a displayed object, whoever displays it: Panel itself, HoloViews' renderer, hvplot) that applies Panel's
    own inlining (``panel.io.notebook.patch_inline_stylesheets``) whenever ``panel.config.inline`` is on.
    Idempotent. ``panel`` is the imported module (as a post-import hook receives it); unused.

    Example
    -------
    >>> import numpy as np, holoviews as hv
    >>> inline_panel_stylesheets()
    >>> _ = hv.extension("bokeh")
    >>> data, _ = hv.renderer("bokeh").components(hv.Image(np.eye(3)))
    >>> "cdn.holoviz.org" in str(data)
    False
    """
    from panel.config import config
    from panel.viewable import Viewable

    config.inline = True
    if _inline_hook not in Viewable._preprocessing_hooks:
        Viewable._preprocessing_hooks.append(_inline_hook)


def _inline_hook(viewable: Any, root: Any, changed: Any = None, old_models: Any = None) -> None:
    """Panel preprocessing hook: the stylesheets of ``root``'s elements inline when ``config.inline`` is on.

    (Panel calls a hook of four parameters with the object that changed and the models kept; every element
    is looked at, new ones are patched: already inline stylesheets are left as they are.)
    """
    from bokeh.models import UIElement
    from panel.config import config
    from panel.io.notebook import patch_inline_stylesheets

    if not config.inline:
        return
    for model in root.select({"type": UIElement}):
        patch_inline_stylesheets(model)


def _inline_panel_stylesheets_safely(panel: ModuleType) -> None:
    # A Panel without the internals used here must not make `import panel` fail in a user's notebook: warn,
    # and plots still draw (their stylesheets then come from the CDN, as without this module).
    try:
        inline_panel_stylesheets(panel)
    except (ImportError, AttributeError) as exc:
        warnings.warn(
            f"odatis_vre.hub.kernel_setup: Panel's stylesheets are not inlined in this kernel ({exc}); "
            f"plots may ask cdn.holoviz.org for CSS. Report it to the VRE's administrators with "
            f"your Panel version ({getattr(panel, '__version__', '?')}).",
            RuntimeWarning,
            stacklevel=2,
        )
