"""A plugin package installed with pip appears in the catalog, through the entry point alone."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import orjson

NAME, VERSION = "hub_plugin_example", "0.1.0"
MODULE = Path(__file__).with_name("plugin_example") / f"{NAME}.py"
DIST_INFO = f"{NAME}-{VERSION}.dist-info"


def _build_wheel(directory: Path) -> Path:
    """The plugin as a wheel (a zip with a dist-info), the way any build backend makes one."""
    files: dict[str, str | bytes] = {
        f"{NAME}.py": MODULE.read_bytes(),
        f"{DIST_INFO}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n",
        f"{DIST_INFO}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{DIST_INFO}/entry_points.txt": "[integration_hub.adapters]\n"
        f"example-plugin = {NAME}:SPEC\n",
    }
    record = [
        f"{path},{_digest(content)},{len(_bytes(content))}" for path, content in files.items()
    ]
    files[f"{DIST_INFO}/RECORD"] = "\n".join([*record, f"{DIST_INFO}/RECORD,,"]) + "\n"
    wheel = directory / f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, _bytes(content))
    return wheel


def _bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


def _digest(content: str | bytes) -> str:
    digest = hashlib.sha256(_bytes(content)).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_plugin_installed_with_pip_is_in_the_catalog(tmp_path: Path) -> None:
    target = tmp_path / "site"
    wheel = _build_wheel(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, wheel],
        check=True,
        timeout=60,
    )
    probe = (
        "import orjson; from adapters import load_registry; r = load_registry(); "
        "print(orjson.dumps({'names': [s.name for s in r.catalog()], "
        "'available': sorted(r.available()), 'problems': list(r.problems)}).decode())"
    )
    env_path = f"{target}:{Path(__file__).resolve().parents[2]}"
    found = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        timeout=60,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )
    catalog = orjson.loads(found.stdout)
    assert "example-plugin" in catalog["names"]
    assert "example-plugin" in catalog["available"]
    assert catalog["problems"] == []
