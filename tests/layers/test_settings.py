"""The settings module: read at use time, validated with one Spanish line, documented, and Streamlit's limit agrees."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from layers import settings
from layers._errors import SitError


def test_upload_limit_is_read_when_used(monkeypatch):
    monkeypatch.delenv("SIT_UPLOAD_LIMIT_MB", raising=False)
    assert settings.upload_limit_bytes() == 50 * 1024 * 1024
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "0.2")
    assert settings.upload_limit_bytes() == int(0.2 * 1024 * 1024)
    assert settings.streamlit_upload_mb() == 1
    assert int(0.2 * 1024 * 1024) == settings.UPLOAD_LIMIT_BYTES  # the old name follows the environment
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "7,5")  # a decimal comma is accepted
    assert settings.upload_limit_mb() == 7.5 and settings.streamlit_upload_mb() == 8


def test_unzip_limit_and_old_name(monkeypatch):
    monkeypatch.setenv("SIT_UNZIP_LIMIT_MB", "1")
    assert settings.unzip_limit_bytes() == settings.UNZIP_LIMIT_BYTES == 1024 * 1024


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf", "1e999", "1024.5", "100000"])
def test_bad_upload_limit_is_one_spanish_line_with_a_code(monkeypatch, value):
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", value)
    with pytest.raises(settings.SettingError) as info:
        settings.upload_limit_bytes()
    exc = info.value
    assert isinstance(exc, SitError) and exc.code == "bad_setting"
    assert exc.data == {"name": "SIT_UPLOAD_LIMIT_MB", "value": value}
    message = str(exc)
    assert "\n" not in message and "SIT_UPLOAD_LIMIT_MB" in message and "número de megabytes" in message
    assert f"«{value}»" in message


def test_the_upload_limit_has_a_ceiling(monkeypatch):
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "1024")
    assert settings.upload_limit_mb() == settings.UPLOAD_LIMIT_MAX_MB == 1024
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "1025")
    with pytest.raises(settings.SettingError, match="a lo más 1024"):
        settings.streamlit_upload_mb()


def test_empty_value_means_the_default(monkeypatch):
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "  ")
    assert settings.upload_limit_mb() == 50


def test_validate_reports_every_problem_at_once(monkeypatch, tmp_path):
    afile = tmp_path / "archivo"
    afile.write_text("x")
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "abc")
    monkeypatch.setenv("SIT_UNZIP_LIMIT_MB", "-1")
    monkeypatch.setenv("SIT_DATA_DIR", str(afile))
    with pytest.raises(settings.SettingError) as info:
        settings.validate()
    assert info.value.data["names"] == ["SIT_UPLOAD_LIMIT_MB", "SIT_UNZIP_LIMIT_MB", "SIT_DATA_DIR"]
    assert "\n" not in str(info.value)
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "50")
    monkeypatch.setenv("SIT_UNZIP_LIMIT_MB", "500")
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path / "nueva"))
    settings.validate()
    assert not (tmp_path / "nueva").exists(), "validate creates nothing"


def test_data_dir_is_created_and_a_file_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path / "a" / "b"))
    assert settings.data_dir() == (tmp_path / "a" / "b") and (tmp_path / "a" / "b").is_dir()
    assert settings.store_path() == tmp_path / "a" / "b" / settings.STORE_FILENAME
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("SIT_DATA_DIR", str(tmp_path / "f"))
    with pytest.raises(settings.SettingError, match="debe nombrar una carpeta"):
        settings.data_dir()


def test_importing_with_a_bad_value_does_not_fail():
    env = {"SIT_UPLOAD_LIMIT_MB": "abc", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "import layers.settings, layers.ingest.read"],
        cwd=settings.PROJECT_DIR, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_environment_variable_read_in_the_code_is_documented():
    documented = set(re.findall(r"``(SIT_[A-Z_]+)``", settings.__doc__))
    used: set[str] = set()
    for path in settings.PROJECT_DIR.rglob("*.py"):
        if {".venv", "static", "var"} & set(path.relative_to(settings.PROJECT_DIR).parts):
            continue
        used |= set(re.findall(r"[\"'](SIT_[A-Z_]+)[\"']", path.read_text(encoding="utf-8")))
    assert used - documented == set()


def test_streamlit_config_upload_limit_is_the_products_default(monkeypatch):
    monkeypatch.delenv("SIT_UPLOAD_LIMIT_MB", raising=False)
    config = tomllib.loads((settings.PROJECT_DIR / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == settings.streamlit_upload_mb() == 50


def make_run_command(*make_args: str, **env: str) -> str:
    """The server command ``make run`` would start (``make -n``), its continued lines joined."""
    proc = subprocess.run(
        ["make", "-n", "run", *make_args], cwd=settings.PROJECT_DIR, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert proc.returncode == 0, proc.stderr
    return next(line for line in proc.stdout.replace("\\\n", " ").splitlines() if "views.launch" in line)


def test_make_run_passes_the_upload_limit_to_streamlit():
    assert "--server.maxUploadSize" in make_run_command(SIT_UPLOAD_LIMIT_MB="12.5")


def test_the_server_does_not_watch_the_source_files():
    """Streamlit, started in the project folder as ``make run`` starts it, reads no watching of files."""
    code = ("from streamlit import config; "
            "print(config.get_option('server.fileWatcherType'), config.get_option('server.runOnSave'))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=settings.PROJECT_DIR, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["none", "False"]


def test_make_run_passes_more_streamlit_options():
    assert "--server.fileWatcherType auto" in make_run_command("ARGS=--server.fileWatcherType auto")


def test_make_run_args_cannot_raise_the_upload_limit():
    """Streamlit takes an option's last value: the product's upload limit comes after ARGS."""
    command = make_run_command("ARGS=--server.maxUploadSize 5000")
    assert command.index("--server.maxUploadSize 5000") < command.rindex("--server.maxUploadSize")
