"""The host files a container needs to drive NVIDIA GPUs: device nodes and driver libraries.

Without the NVIDIA Container Toolkit, a container reaches a GPU through the device nodes
(``/dev/nvidia<minor>`` for each GPU, plus the control and unified-memory nodes every CUDA
program opens) and through the host's user-space driver (``libcuda``, ``libnvidia-ml`` …),
which must match the kernel module exactly and so cannot come from the image. The libraries are
mounted read-only at the paths they have on the host, which is where the dynamic loader of a
Debian or Ubuntu image looks when the host is Debian or Ubuntu too.

Standard library only, and every path is taken relative to a root so tests can build a host.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from services.agent.accelerators.plugin import DeviceFile, Mount

#: opened by every CUDA program, whichever GPU it uses
CONTROL_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools")
#: the user-space driver: what CUDA, NVML and the JIT load at run time
DRIVER_LIBRARIES = (
    "libcuda.so",
    "libnvidia-ml.so",
    "libnvidia-ptxjitcompiler.so",
    "libnvidia-nvvm.so",
    "libcudadebugger.so",
)
LIBRARY_DIRS = (
    "usr/lib/x86_64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib64",
    "usr/lib",
)
#: the driver's programs, mounted at /usr/bin in the container
DRIVER_TOOLS = ("nvidia-smi",)
#: where the host keeps them: a distribution's driver, then the one of a driver container
TOOL_DIRS = ("usr/bin", "usr/local/nvidia/bin")


def _inside(root: Path, path: Path) -> str:
    return "/" + path.relative_to(root).as_posix()


def device_files(minors: Iterable[int], root: Path = Path("/")) -> tuple[DeviceFile, ...]:
    """The nodes of these GPUs, then the control nodes; only those that exist on the host."""
    names = [f"nvidia{minor}" for minor in sorted(set(minors))] + list(CONTROL_DEVICES)
    files = []
    for name in names:
        path = root / "dev" / name
        if path.exists():
            files.append(DeviceFile(str(path), _inside(root, path)))
    return tuple(files)


def _is_program(path: Path) -> bool:
    """An ELF executable: a wrapper script would need its shell and its target in the image."""
    try:
        with path.open("rb") as file:
            return file.read(4) == b"\x7fELF"
    except OSError:
        return False


def driver_mounts(root: Path = Path("/")) -> tuple[Mount, ...]:
    """Read-only mounts of the driver libraries (first library folder that has each) and tools.

    Each name is mounted as every file called ``<name>`` or ``<name>.<version>`` beside it, so
    both the ``.so.1`` a program asks for and the versioned file it links to are there. Each tool
    is the first program of its name in ``TOOL_DIRS``, mounted as ``/usr/bin/<name>``.
    """
    mounts: list[Mount] = []
    for library in DRIVER_LIBRARIES:
        for folder in LIBRARY_DIRS:
            found = sorted(
                p
                for p in (root / folder).glob(f"{library}*")
                if p.name == library or p.name.startswith(f"{library}.")
            )
            if found:
                mounts += [Mount(str(p), _inside(root, p)) for p in found]
                break
    for tool in DRIVER_TOOLS:
        path = next((p for d in TOOL_DIRS if _is_program(p := root / d / tool)), None)
        if path is not None:
            mounts.append(Mount(str(path), f"/usr/bin/{tool}"))
    return tuple(mounts)
