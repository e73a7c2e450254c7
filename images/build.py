"""Building Berth's images locally, in dependency order, skipping those already there."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from images.errors import BuildError
from images.labels import ImageLabelError, parse_labels
from images.names import container_image_ref
from images.podman_cli import PodmanCli
from images.recipe import BuildContext, Recipe
from images.recipes import build_order
from images.settings import ImageBuildSettings


@dataclass(frozen=True)
class BuildResult:
    name: str
    reference: str
    outcome: Literal["built", "skipped"]
    image_id: str
    seconds: float = 0.0


def build_images(
    names: Sequence[str] = (),
    *,
    force: bool = False,
    settings: ImageBuildSettings | None = None,
    podman: PodmanCli | None = None,
    say: Callable[[str], None] = print,
    verbose: bool = False,
    no_cache: bool = False,
) -> list[BuildResult]:
    """Builds the named images (all when none is named) and those they are built from.

    An image that exists is kept, unless ``force`` is set and it is one of the named images
    (or no name is given): then it is rebuilt, and the image it replaces is removed when
    nothing uses it any more.
    """
    settings = settings or ImageBuildSettings.from_env()
    podman = podman or PodmanCli(verbose=verbose)
    podman.check_installed()
    order = build_order(names)
    forced = {recipe.name for recipe in order if not names or _named(recipe, names)}
    results = []
    for recipe in order:
        ctx = BuildContext(
            settings=settings,
            podman=podman,
            say=_prefixed(say, recipe.name),
            verbose=verbose,
            no_cache=no_cache,
        )
        results.append(_build_one(recipe, ctx, rebuild=force and recipe.name in forced))
    return results


def _prefixed(say: Callable[[str], None], name: str) -> Callable[[str], None]:
    return lambda line: say(f"images: {name}: {line}")


def _named(recipe: Recipe, names: Sequence[str]) -> bool:
    return any(name in (recipe.name, recipe.name.removeprefix("berth-")) for name in names)


def _build_one(recipe: Recipe, ctx: BuildContext, *, rebuild: bool) -> BuildResult:
    reference = container_image_ref(recipe.name)
    previous = ctx.podman.image_id(reference)
    if previous and not rebuild:
        ctx.say(f"exists ({previous[:12]}), skipped; --force rebuilds it")
        return BuildResult(recipe.name, reference, "skipped", previous)

    ctx.say(f"building: {recipe.summary}")
    started = time.monotonic()
    recipe.build(ctx, reference)
    seconds = time.monotonic() - started

    built = ctx.podman.inspect(reference)
    _check_labels(recipe, built.get("Labels") or built.get("Config", {}).get("Labels"))
    image_id = str(built["Id"])
    size_mb = int(built.get("Size", 0)) / 1e6
    ctx.say(f"built in {seconds:.1f} s: {reference} ({image_id[:12]}, {size_mb:.1f} MB)")
    if previous and previous != image_id:
        if ctx.podman.remove_if_unused(previous):
            ctx.say(f"removed the image it replaces ({previous[:12]})")
        else:
            ctx.say(f"kept the image it replaces ({previous[:12]}): still in use")
    return BuildResult(recipe.name, reference, "built", image_id, seconds)


def _check_labels(recipe: Recipe, labels: dict[str, str] | None) -> None:
    # A recipe whose labels are wrong would build an image no agent offers: fail the build.
    try:
        parsed = parse_labels(labels)
    except ImageLabelError as exc:
        raise BuildError(f"{recipe.name} was built with a malformed label: {exc}") from exc
    if parsed is None:
        raise BuildError(f"{recipe.name} was built without the io.berth.image.kind label")
