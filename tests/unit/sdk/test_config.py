"""Credentials: from the environment, else the file `berth login` writes (0600)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from berth_sdk import ConfigurationError, Credentials
from berth_sdk.config import (
    DEFAULT_ENDPOINT,
    config_dir,
    credentials_path,
    delete_credentials,
    load_credentials,
    read_credentials_file,
    save_credentials,
)


def test_the_config_dir_is_overridable() -> None:
    assert config_dir({"BERTH_CONFIG_DIR": "/x/y"}) == Path("/x/y")
    assert config_dir({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/berth")
    assert config_dir({}) == Path.home() / ".config" / "berth"


def test_saved_credentials_are_private_and_read_back(tmp_path: Path) -> None:
    env = {"BERTH_CONFIG_DIR": str(tmp_path / "berth")}
    saved = Credentials(endpoint="http://gw:8480", access_key="AK", secret_key="SK")
    path = save_credentials(saved, env)
    assert path == credentials_path(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_credentials(env) == saved
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind


def test_the_environment_wins_field_by_field(tmp_path: Path) -> None:
    env = {"BERTH_CONFIG_DIR": str(tmp_path)}
    save_credentials(Credentials(endpoint="http://file", access_key="FILE", secret_key="FS"), env)
    env |= {"BERTH_ACCESS_KEY": "ENV", "BERTH_SECRET_KEY": "ES"}
    assert load_credentials(env) == Credentials(
        endpoint="http://file", access_key="ENV", secret_key="ES"
    )


def test_without_anything_the_default_endpoint_and_no_keys(tmp_path: Path) -> None:
    found = load_credentials({"BERTH_CONFIG_DIR": str(tmp_path)})
    assert found.endpoint == DEFAULT_ENDPOINT
    assert not found.complete


def test_a_broken_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match="credentials"):
        read_credentials_file(tmp_path / "credentials.json")


def test_delete_says_whether_there_was_a_file(tmp_path: Path) -> None:
    env = {"BERTH_CONFIG_DIR": str(tmp_path)}
    assert delete_credentials(env) is None
    save_credentials(Credentials(access_key="a", secret_key="b"), env)
    assert delete_credentials(env) == credentials_path(env)
    assert not credentials_path(env).exists()


def test_the_secret_stays_out_of_repr() -> None:
    assert "SK" not in repr(Credentials(access_key="AK", secret_key="SK"))
