"""berth-base: what its build checks first, and how it prepares debootstrap's tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from images.base import debootstrap
from images.errors import BuildError
from images.recipe import import_changes
from images.settings import ImageBuildSettings


def test_a_missing_debootstrap_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("images.base.debootstrap.shutil.which", lambda name: None)

    with pytest.raises(BuildError, match=r"debootstrap is not installed.*apt-get install"):
        debootstrap.check_tools()


def test_the_tree_is_made_fit_for_containers(tmp_path: Path) -> None:
    for directory in ("etc/apt", "usr/sbin", "var/cache/apt/archives", "var/lib/apt/lists"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "etc/resolv.conf").write_text("nameserver 10.0.0.1\n")
    (tmp_path / "etc/hostname").write_text("builder\n")
    (tmp_path / "var/cache/apt/archives/libc6.deb").write_bytes(b"deb")
    (tmp_path / "var/lib/apt/lists/deb.debian.org_Packages").write_text("Package: x\n")
    (tmp_path / "var/lib/apt/lists/partial").mkdir()
    settings = ImageBuildSettings(debian_mirror="http://mirror.example/debian")

    debootstrap.make_fit_for_containers(settings, tmp_path)

    sources = (tmp_path / "etc/apt/sources.list").read_text().splitlines()
    assert sources == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://mirror.example/debian bookworm-updates main",
        "deb http://deb.debian.org/debian-security bookworm-security main",
    ]
    policy = tmp_path / "usr/sbin/policy-rc.d"
    assert policy.read_text().endswith("exit 101\n")
    assert policy.stat().st_mode & 0o111
    assert not (tmp_path / "etc/resolv.conf").exists()
    assert not (tmp_path / "etc/hostname").exists()
    assert list((tmp_path / "var/cache/apt/archives").iterdir()) == []
    assert [p.name for p in (tmp_path / "var/lib/apt/lists").iterdir()] == ["partial"]


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_IMAGES_DEBIAN_MIRROR", "http://mirror.example/debian")
    monkeypatch.setenv("BERTH_IMAGES_BUSYBOX", "/opt/busybox")
    monkeypatch.setenv("BERTH_IMAGES_WORK_DIR", "/scratch")

    settings = ImageBuildSettings.from_env()

    assert settings.debian_mirror == "http://mirror.example/debian"
    assert settings.debian_security_mirror == "http://deb.debian.org/debian-security"
    assert settings.busybox == Path("/opt/busybox")
    assert settings.work_dir == Path("/scratch")


def test_import_changes_quote_values_and_set_the_command() -> None:
    changes = import_changes(
        {"io.berth.image.service-ports": "jupyter:http:8888,ssh:tcp:22"},
        cmd=["/bin/sh"],
        env={"LANG": "C.UTF-8"},
    )

    assert changes == [
        'LABEL io.berth.image.service-ports="jupyter:http:8888,ssh:tcp:22"',
        'ENV LANG="C.UTF-8"',
        'CMD ["/bin/sh"]',
    ]


def test_import_changes_refuse_values_podman_would_mangle() -> None:
    with pytest.raises(ValueError, match="quote or backslash"):
        import_changes({"io.berth.image.kind": 'a"b'}, cmd=["/bin/sh"], env={})
