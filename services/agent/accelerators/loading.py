"""Finding accelerator plugins by name, through the ``berth.accelerators`` entry points.

A package adds a plugin by declaring, in its own ``pyproject.toml``::

    [project.entry-points."berth.accelerators"]
    rocm = "berth_rocm.plugin:RocmPlugin"

The entry point names a class (or any callable) that takes no arguments and reads its own
settings from the environment. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from services.agent.accelerators.plugin import AcceleratorPlugin, check_key

GROUP = "berth.accelerators"


class PluginLoadError(Exception):
    """A plugin that is unknown, fails to load, or is not an accelerator plugin."""


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def known_plugins() -> list[str]:
    """The names installed under ``berth.accelerators``, sorted."""
    return sorted(_entry_points())


def load_plugin(name: str) -> AcceleratorPlugin:
    """Create the plugin installed under ``name``."""
    available = _entry_points()
    entry = available.get(name)
    if entry is None:
        known = ", ".join(sorted(available)) or "none installed"
        raise PluginLoadError(f"unknown accelerator plugin {name!r} (known: {known})")
    try:
        plugin = entry.load()()
    except Exception as exc:  # bad settings or a broken package: say which plugin it was
        raise PluginLoadError(f"accelerator plugin {name!r} ({entry.value}): {exc}") from exc
    if not isinstance(plugin, AcceleratorPlugin):
        raise PluginLoadError(
            f"accelerator plugin {name!r} ({entry.value}) does not implement AcceleratorPlugin"
        )
    try:
        check_key(plugin.key)
    except ValueError as exc:
        raise PluginLoadError(f"accelerator plugin {name!r}: {exc}") from None
    return plugin


def load_plugins(names: Iterable[str]) -> list[AcceleratorPlugin]:
    """Create each named plugin, in order; two plugins may not share a slot key."""
    plugins: list[AcceleratorPlugin] = []
    owners: dict[str, str] = {}
    for name in names:
        plugin = load_plugin(name)
        if plugin.key in owners:
            raise PluginLoadError(
                f"accelerator plugins {owners[plugin.key]!r} and {name!r} both use the key "
                f"{plugin.key!r}"
            )
        owners[plugin.key] = name
        plugins.append(plugin)
    return plugins


def parse_plugin_names(text: str) -> list[str]:
    """``"mock, cuda"`` -> ``["mock", "cuda"]``: the form of ``BERTH_ACCELERATORS``."""
    return [name.strip() for name in text.split(",") if name.strip()]
