"""Run a CUDA program where it sees only what Berth's CUDA plugin grants a kernel.

    sudo python3 scripts/gpu_container_proof.py

On a machine with an NVIDIA GPU, the driver and `nvcc` (no Podman needed), this

1. discovers the GPUs with the CUDA plugin and allocates one to a kernel, as the agent would;
2. builds a small CUDA program (a vector sum, checked on the host) twice: once with the GPU's own
   machine code and once as PTX only, which the driver must compile at start (the JIT library);
3. makes a root filesystem that holds the program and the C and C++ runtime it links to, as an
   image would, and nothing of the NVIDIA driver;
4. in a mount namespace of its own, binds into it exactly the plugin's device nodes and driver
   mounts, at the paths the plugin gives for the container, `chroot`s into it and runs the
   program there with the plugin's environment and nothing else;
5. runs the same program in the same root filesystem without the plugin's devices and mounts:
   it must fail, which shows that the first run's success came from what the plugin granted;
6. where `podman` is on the PATH, does both again in real containers: the root filesystem
   imported as an image, the grant given as `--device`, read-only bind `--mount`s and `--env`,
   as the agent gives it to Podman;
7. and once more in Podman with all of the grant but the GPU's own device node, as a kernel
   given no GPU on that node would look if it had the driver: it must see no GPU.

It prints what it did and exits 0 when both runs turned out as they must, 1 when not, and 0 with
a message on a machine without a GPU or without what it needs (root, `nvcc`, `unshare`).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROBE = r"""
#include <cstdio>
#include <cuda_runtime.h>

__global__ void add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

static int fail(const char* what, cudaError_t e) {
    std::printf("%s: %s\n", what, cudaGetErrorString(e));
    return 2;
}

int main() {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return fail("cudaGetDeviceCount", e);
    cudaDeviceProp p;
    if ((e = cudaGetDeviceProperties(&p, 0)) != cudaSuccess) return fail("properties", e);
    const unsigned char* u = reinterpret_cast<const unsigned char*>(p.uuid.bytes);
    std::printf("visible GPUs: %d; GPU 0: %s, compute %d.%d, uuid GPU-", count, p.name, p.major,
                p.minor);
    for (int i = 0; i < 16; ++i)
        std::printf(i == 4 || i == 6 || i == 8 || i == 10 ? "-%02x" : "%02x", u[i]);
    std::printf("\n");
    const int n = 1 << 22;
    float *a, *b, *c;
    float* h = new float[n];
    if ((e = cudaMalloc(&a, n * sizeof(float))) != cudaSuccess) return fail("cudaMalloc", e);
    cudaMalloc(&b, n * sizeof(float));
    cudaMalloc(&c, n * sizeof(float));
    for (int i = 0; i < n; ++i) h[i] = float(i);
    cudaMemcpy(a, h, n * sizeof(float), cudaMemcpyHostToDevice);
    for (int i = 0; i < n; ++i) h[i] = float(2 * i);
    cudaMemcpy(b, h, n * sizeof(float), cudaMemcpyHostToDevice);
    add<<<(n + 255) / 256, 256>>>(a, b, c, n);
    if ((e = cudaGetLastError()) != cudaSuccess) return fail("launch", e);
    if ((e = cudaMemcpy(h, c, n * sizeof(float), cudaMemcpyDeviceToHost)) != cudaSuccess)
        return fail("copy back", e);
    int wrong = 0;
    for (int i = 0; i < n; ++i) wrong += h[i] != float(3 * i);
    std::printf("sum of %d floats on the GPU: %s\n", n, wrong ? "WRONG" : "correct");
    return wrong ? 3 : 0;
}
"""


def _nvcc() -> str | None:
    return shutil.which("nvcc") or next(
        (str(p) for p in Path("/usr/local").glob("cuda*/bin/nvcc") if p.exists()), None
    )


def _build(nvcc: str, work: Path) -> dict[str, Path]:
    source = work / "probe.cu"
    source.write_text(PROBE)
    builds = {
        "machine code": ["-arch=native"],
        "PTX only (driver JIT)": ["-gencode", "arch=compute_75,code=compute_75"],
    }
    out: dict[str, Path] = {}
    for name, flags in builds.items():
        binary = work / ("probe-" + str(len(out)))
        subprocess.run([nvcc, "-O2", *flags, "-o", str(binary), str(source)], check=True)
        out[name] = binary
    return out


def _linked_libraries(binary: Path) -> list[Path]:
    """The shared libraries the program needs from its image: libc, libstdc++ and the loader."""
    text = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    found = []
    for line in text.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0] if parts else ""
        if path.startswith("/"):
            found.append(Path(path))
    return found


def _image(binaries: dict[str, Path], root: Path, granted: list[str]) -> None:
    """A root filesystem like a minimal image's: the programs and their C and C++ runtime.

    The C runtime that the granted driver files link to (libdl, librt …, which every glibc image
    has) comes from the image too; NVIDIA's own libraries never do.
    """
    for folder in ("dev", "proc", "tmp", "usr/bin", "etc"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for binary in binaries.values():
        shutil.copy2(binary, root / binary.name)
    for program in [*binaries.values(), *map(Path, granted)]:
        for library in _linked_libraries(program):
            if "nvidia" in library.name or library.name.startswith("libcuda"):
                continue  # the driver: only the plugin's mounts may bring it
            target = root / str(library).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(library.resolve(), target)


def _script(
    options: Any, root: Path, command: list[str], grant: bool, env: dict[str, str] | None = None
) -> str:
    """Shell run by `unshare --mount`: bind what the plugin grants, then run in the chroot."""
    lines = ["set -e", "mount --make-rprivate /"]
    if grant:
        for device in options.devices:
            target = shlex.quote(str(root / device.container_path.lstrip("/")))
            lines += [f"touch {target}", f"mount --bind {shlex.quote(device.host_path)} {target}"]
        for mount in options.mounts:
            target = root / mount.target.lstrip("/")
            quoted = shlex.quote(str(target))
            lines += [f"mkdir -p {shlex.quote(str(target.parent))}", f"touch {quoted}"]
            lines += [f"mount --bind {shlex.quote(mount.source)} {quoted}"]
            lines += [f"mount -o remount,bind,ro {quoted}"]
    lines += [f"mount -t proc proc {shlex.quote(str(root / 'proc'))}"]
    environment = [f"{k}={v}" for k, v in (env or options.environment).items()]
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    lines += ["exec " + shlex.join(["env", "-i", *environment, chroot, str(root), *command])]
    return "\n".join(lines)


def podman_args(options: Any) -> list[str]:
    """The plugin's grant as `podman run` options, as the agent passes it to Podman."""
    args: list[str] = []
    for device in options.devices:
        args += ["--device", device.spec()]
    for mount in options.mounts:
        readonly = ",readonly=true" if mount.read_only else ""
        args += ["--mount", f"type=bind,source={mount.source},target={mount.target}{readonly}"]
    for name, value in options.environment.items():
        args += ["--env", f"{name}={value}"]
    return args


def _podman_runs(podman: str, options: Any, root: Path, commands: list[list[str]]) -> list[str]:
    """The runs again in Podman containers; returns what went wrong."""
    image = "localhost/berth-gpu-proof:latest"
    tar = subprocess.run(["tar", "-C", str(root), "-c", "."], capture_output=True, check=True)
    subprocess.run([podman, "import", "-", image], input=tar.stdout, check=True)
    failures = []
    try:
        for grant in (False, True):
            label = "with the plugin grant" if grant else "without it: each must fail"
            print(f"\n--- podman, {label}")
            for command in commands:
                args = podman_args(options) if grant else []
                run = [podman, "run", "--rm", "--network=none", *args, image, *command]
                done = subprocess.run(run, capture_output=True, text=True, timeout=120)
                output = (done.stdout + done.stderr).strip()
                print(f"$ podman run … {shlex.join(command)}  (exit {done.returncode})")
                print("  " + output.replace("\n", "\n  "))
                seen = options.environment["NVIDIA_VISIBLE_DEVICES"].split(",")[0] in output
                if grant and (done.returncode != 0 or not seen):
                    failures.append(f"podman: {command[0]} failed or did not see the granted GPU")
                if not grant and done.returncode == 0:
                    failures.append(f"podman: {command[0]} ran without the grant")
        print("\n--- podman, the grant without the GPU's own node: must see no GPU")
        gpu_node = re.compile(r"/dev/nvidia\d+")
        others = [d for d in options.devices if not gpu_node.fullmatch(d.container_path)]
        args = podman_args(dataclasses.replace(options, devices=tuple(others)))
        run = [podman, "run", "--rm", "--network=none", *args, image, commands[0][0]]
        done = subprocess.run(run, capture_output=True, text=True, timeout=120)
        print(f"$ podman run … {commands[0][0]}  (exit {done.returncode})")
        print("  " + (done.stdout + done.stderr).strip().replace("\n", "\n  "))
        if done.returncode == 0:
            failures.append("podman: a container without the GPU's node could use the GPU")
    finally:
        subprocess.run([podman, "rmi", "-f", image], capture_output=True)
    return failures


def _run(unshare: str, script: str) -> tuple[int, str]:
    done = subprocess.run(
        [unshare, "--mount", "--fork", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def main() -> int:
    if os.geteuid() != 0:
        print("needs root (mount namespaces and chroot); nothing done")
        return 0
    nvcc, unshare = _nvcc(), shutil.which("unshare")
    if nvcc is None or unshare is None:
        print(f"needs nvcc and unshare (nvcc={nvcc}, unshare={unshare}); nothing done")
        return 0
    plugin = importlib.import_module("services.agent.accelerators.cuda").CudaPlugin()
    devices = plugin.discover()
    if not devices:
        print(f"no GPU: {plugin.unavailable_reason or 'NVML reports none'}; nothing done")
        return 0
    allocator = importlib.import_module("services.agent.accelerators.allocator")
    allocation = allocator.DeviceAllocator(devices).allocate("proof", {"cuda.device": "1"})
    options = plugin.container_options(allocation)
    granted = next(d for d in devices if d.id == allocation.grants[0].device_id)
    print(f"granted {granted.id} ({granted.model}, {granted.attributes['uuid']})")
    print("devices:", [f.spec() for f in options.devices])
    print("mounts:", [f"{m.source} -> {m.target}" for m in options.mounts])
    print("environment:", dict(options.environment))

    with tempfile.TemporaryDirectory(prefix="berth-gpu-proof-") as temp:
        work = Path(temp)
        binaries = _build(nvcc, work)
        root = work / "root"
        _image(binaries, root, [m.source for m in options.mounts])
        pristine = work / "image"
        shutil.copytree(root, pristine, symlinks=True)  # the runs leave mount points behind
        commands = [["/" + b.name] for b in binaries.values()]
        commands += [[m.target, "-L"] for m in options.mounts if m.target.endswith("/nvidia-smi")]
        failures = []
        for grant in (False, True):  # ungranted first: the grant leaves its mount points behind
            print(f"\n--- {'with the plugin grant' if grant else 'without it: each must fail'}")
            for command in commands:
                rc, output = _run(unshare, _script(options, root, command, grant))
                print(f"$ {shlex.join(command)}  (exit {rc})")
                print("  " + output.replace("\n", "\n  "))
                if grant and (rc != 0 or granted.attributes["uuid"] not in output):
                    failures.append(f"{command[0]} failed or did not see the granted GPU")
                    traced = {**options.environment, "LD_DEBUG": "libs"}
                    _, trace = _run(unshare, _script(options, root, command, grant, traced))
                    print(
                        "  loader trace (last lines):\n  " + "\n  ".join(trace.splitlines()[-25:])
                    )
                if not grant and rc == 0:
                    failures.append(f"{command[0]} ran without the grant")
        podman = shutil.which("podman")
        if podman is None:
            print("\nno podman on the PATH: the runs in containers are left out")
        else:
            failures += _podman_runs(podman, options, pristine, commands)
    plugin.close()
    print("\nbuilds:", ", ".join(binaries))
    for failure in failures:
        print("FAILED:", failure)
    print(
        "proof:", "failed" if failures else "every granted run passed, every ungranted one failed"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
