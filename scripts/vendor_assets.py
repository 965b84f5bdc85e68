#!/usr/bin/env python3
"""Install the map's browser assets (Leaflet and plugins) under ``static/vendor/``.

The map must work without internet, so Leaflet, its plugins, their stylesheets and
images are served by the app itself (Streamlit static serving, ``/app/static/...``).
They are never committed: this script fetches each package at a pinned version from
the npm registry with ``npm pack``, checks the tarball against a pinned sha512
integrity (the registry's ``dist.integrity``), and copies only the files the map
needs into ``static/vendor/<package>/``.

It is idempotent: when ``static/vendor/.stamp`` matches the pins below and every
file is present, it does nothing. Standard library only; run by ``make setup``.

Usage::

    python scripts/vendor_assets.py          # install if needed
    python scripts/vendor_assets.py --force  # reinstall
    python scripts/vendor_assets.py --check  # exit 1 if not installed

Environment: ``NPM`` names the npm executable (default ``npm``); npm's own
configuration (registry, proxy, cache) applies as usual.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
VENDOR_DIR = PROJECT_DIR / "static" / "vendor"
STAMP_PATH = VENDOR_DIR / ".stamp"

#: Pinned npm packages. ``integrity`` is the registry's ``dist.integrity``
#: (``npm view <name>@<version> dist.integrity``); ``files`` maps a path inside
#: the tarball (below ``package/``) to a path below ``static/vendor/<dir>/``.
PACKAGES: tuple[dict, ...] = (
    {
        "name": "leaflet",
        "version": "1.9.4",
        "integrity": "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        "dir": "leaflet",
        "files": {
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.js.map": "leaflet.js.map",
            "dist/leaflet.css": "leaflet.css",
            # Images referenced by leaflet.css (layers control, default marker).
            "dist/images/layers.png": "images/layers.png",
            "dist/images/layers-2x.png": "images/layers-2x.png",
            "dist/images/marker-icon.png": "images/marker-icon.png",
            "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
            "dist/images/marker-shadow.png": "images/marker-shadow.png",
            "LICENSE": "LICENSE",
        },
    },
    {
        "name": "leaflet.markercluster",
        "version": "1.5.3",
        "integrity": "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==",
        "dir": "leaflet.markercluster",
        "files": {
            "dist/leaflet.markercluster.js": "leaflet.markercluster.js",
            "dist/leaflet.markercluster.js.map": "leaflet.markercluster.js.map",
            "dist/MarkerCluster.css": "MarkerCluster.css",
            "dist/MarkerCluster.Default.css": "MarkerCluster.Default.css",
            "MIT-LICENCE.txt": "MIT-LICENCE.txt",
        },
    },
    {
        # Drawing tools of the page «Ubicar iniciativas» (folium.plugins.Draw names leaflet.draw 1.0.2
        # on a CDN; 1.0.4 is the same API with fixes). MIT licence (package.json; no licence file ships).
        "name": "leaflet-draw",
        "version": "1.0.4",
        "integrity": "sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==",
        "dir": "leaflet-draw",
        "files": {
            "dist/leaflet.draw.js": "leaflet.draw.js",
            "dist/leaflet.draw.css": "leaflet.draw.css",
            # Toolbar icons referenced by leaflet.draw.css.
            "dist/images/spritesheet.png": "images/spritesheet.png",
            "dist/images/spritesheet-2x.png": "images/spritesheet-2x.png",
            "dist/images/spritesheet.svg": "images/spritesheet.svg",
            "package.json": "package.json",
        },
    },
    {
        # folium's Popup parses its HTML with jQuery (``$(`...`)[0]``), so popups
        # need it; nothing else of folium's default CDN list is used by the app.
        "name": "jquery",
        "version": "3.7.1",
        "integrity": "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
        "dir": "jquery",
        "files": {
            "dist/jquery.min.js": "jquery.min.js",
            "LICENSE.txt": "LICENSE.txt",
        },
    },
)


class VendorError(RuntimeError):
    """Raised when an asset package cannot be fetched, verified or installed."""


def _log(message: str) -> None:
    print(f"[vendor_assets] {message}", flush=True)


def stamp_content() -> str:
    """Text of the stamp file for the current pins (stable JSON)."""
    pins = [
        {"name": p["name"], "version": p["version"], "integrity": p["integrity"],
         "files": sorted(p["files"].values())}
        for p in PACKAGES
    ]
    return json.dumps({"packages": pins}, indent=2, sort_keys=True) + "\n"


def expected_files() -> list[Path]:
    """Every file this script installs, as absolute paths."""
    return [VENDOR_DIR / p["dir"] / dest for p in PACKAGES for dest in p["files"].values()]


def is_installed() -> bool:
    """True when the stamp matches the pins and every expected file exists."""
    try:
        if STAMP_PATH.read_text(encoding="utf-8") != stamp_content():
            return False
    except OSError:
        return False
    return all(path.is_file() and path.stat().st_size > 0 for path in expected_files())


def sri_sha512(path: Path) -> str:
    """Subresource-integrity string (``sha512-<base64>``) of a file."""
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def _npm() -> str:
    npm = os.environ.get("NPM", "npm")
    resolved = shutil.which(npm)
    if resolved is None:
        raise VendorError(
            f"No se encontró npm ('{npm}'). Instale Node.js y npm (p. ej. "
            "'apt-get install nodejs npm') y vuelva a ejecutar 'make setup'."
        )
    return resolved


def npm_pack(name: str, version: str, dest: Path) -> Path:
    """Download ``name@version`` from the npm registry into ``dest``; return the tarball path."""
    spec = f"{name}@{version}"
    cmd = [_npm(), "pack", spec, "--json", "--silent", "--pack-destination", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=dest)
    except subprocess.TimeoutExpired as exc:
        raise VendorError(f"npm pack {spec} no respondió en {exc.timeout:.0f} s") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise VendorError(
            f"No se pudo descargar {spec} del registro npm (¿sin conexión o registro "
            f"inaccesible?).\n  " + "\n  ".join(detail)
        )
    try:
        filename = json.loads(proc.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError):
        tarballs = sorted(dest.glob("*.tgz"))
        if len(tarballs) != 1:
            raise VendorError(f"npm pack {spec}: no se identificó el archivo descargado") from None
        return tarballs[0]
    # npm names scoped packages "scope-name-1.0.0.tgz"; the JSON filename is authoritative.
    return dest / filename


def extract_package(tarball: Path, package: dict, target: Path) -> None:
    """Copy the listed files of an npm tarball into ``target`` (no other member is read)."""
    wanted = {f"package/{src}": dest for src, dest in package["files"].items()}
    found: set[str] = set()
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            dest = wanted.get(member.name)
            if dest is None or not member.isfile():
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            out = target / dest
            out.parent.mkdir(parents=True, exist_ok=True)
            with fh, out.open("wb") as sink:
                shutil.copyfileobj(fh, sink)
            found.add(member.name)
    missing = sorted(set(wanted) - found)
    if missing:
        raise VendorError(
            f"{package['name']}@{package['version']}: faltan en el paquete: "
            + ", ".join(m.removeprefix("package/") for m in missing)
        )


def install(force: bool = False) -> bool:
    """Install every pinned package; return True if something was (re)installed."""
    if not force and is_installed():
        STAMP_PATH.touch()  # keep make's timestamp check quiet after a script edit
        _log(f"recursos del mapa ya instalados en {VENDOR_DIR.relative_to(PROJECT_DIR)} (sin cambios)")
        return False
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    # Invalidate first, so an interrupted run is never mistaken for a complete one.
    STAMP_PATH.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="sit-vendor-") as tmp:
        tmp_dir = Path(tmp)
        staged: list[tuple[Path, Path]] = []
        for package in PACKAGES:
            spec = f"{package['name']}@{package['version']}"
            start = time.perf_counter()
            pack_dir = tmp_dir / "pack" / package["dir"]
            pack_dir.mkdir(parents=True)
            tarball = npm_pack(package["name"], package["version"], pack_dir)
            actual = sri_sha512(tarball)
            if actual != package["integrity"]:
                raise VendorError(
                    f"La integridad de {spec} no coincide con la fijada en "
                    f"scripts/vendor_assets.py.\n  esperada: {package['integrity']}\n"
                    f"  obtenida: {actual}"
                )
            stage = tmp_dir / "stage" / package["dir"]
            stage.mkdir(parents=True)
            extract_package(tarball, package, stage)
            staged.append((stage, VENDOR_DIR / package["dir"]))
            _log(f"{spec} verificado ({time.perf_counter() - start:.1f} s)")
        # Everything fetched and verified: replace the installed copies.
        for stage, final in staged:
            if final.exists():
                shutil.rmtree(final)
            shutil.copytree(stage, final)
    STAMP_PATH.write_text(stamp_content(), encoding="utf-8")
    _log(f"recursos del mapa instalados en {VENDOR_DIR.relative_to(PROJECT_DIR)}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reinstall even if up to date")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if missing")
    args = parser.parse_args(argv)
    if args.check:
        ok = is_installed()
        _log("instalados" if ok else "faltan: ejecute 'make setup'")
        return 0 if ok else 1
    try:
        install(force=args.force)
    except VendorError as exc:
        print(f"ERROR [vendor_assets]: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
