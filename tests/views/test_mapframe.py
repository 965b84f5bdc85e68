"""views.mapframe: the map's document rendered once, kept in a bounded cache shared by every visitor."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from views import mapframe, webassets


def test_a_kept_document_is_not_built_again():
    cache = mapframe.DocumentCache(max_entries=4, max_bytes=2**20)
    calls = []
    build = lambda: calls.append(1) or "<html>uno</html>"  # noqa: E731
    assert cache.get(("mapa", 1), build) == "<html>uno</html>"
    assert cache.get(("mapa", 1), build) == "<html>uno</html>"
    assert len(calls) == 1 and cache.hits == 1 and cache.builds == 1


def test_the_least_recently_used_go_first_by_count_and_by_memory():
    cache = mapframe.DocumentCache(max_entries=3, max_bytes=2**20)
    for k in range(3):
        cache.get(k, lambda k=k: f"doc {k}")
    cache.get(0, lambda: "never")  # 0 is now the most recently used
    cache.get(3, lambda: "doc 3")
    assert 1 not in cache and {0, 2, 3} <= {k for k in range(4) if k in cache} and len(cache) == 3

    big = "x" * 4000
    small = mapframe.DocumentCache(max_entries=100, max_bytes=3 * sys.getsizeof(big))
    for k in range(5):
        small.get(k, lambda k=k: big + str(k))
    assert len(small) == 2 and small.nbytes <= small.max_bytes and 4 in small and 3 in small
    huge = "y" * (small.max_bytes + 1)
    assert small.get("huge", lambda: huge) == huge and "huge" not in small  # returned, not kept


def test_visitors_asking_at_once_share_one_build():
    cache = mapframe.DocumentCache()
    calls, results = [], []

    def build():
        calls.append(threading.get_ident())
        time.sleep(0.3)
        return "<html>compartido</html>"

    threads = [threading.Thread(target=lambda: results.append(cache.get("vista", build))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results == ["<html>compartido</html>"] * 4


def test_a_failed_build_keeps_nothing():
    cache = mapframe.DocumentCache()

    def fail():
        raise ValueError("sin datos")

    with pytest.raises(ValueError):
        cache.get("k", fail)
    assert "k" not in cache and cache.get("k", lambda: "ok") == "ok"


def test_render_gives_a_whole_document_holding_leaflet_from_the_app():
    m = webassets.localize_map(webassets.offline_map([-28.578, -70.76]))
    html = mapframe.render(m)
    assert html.startswith("<!DOCTYPE html>")
    js, css = webassets.asset_links(m)
    assert js and css and all(u.startswith("/app/static/vendor/") for u in js + css)
    # No request before the map can draw: the vendored files are in the document...
    assert not any(f'src="{u}"' in html or f'href="{u}"' in html for u in js + css)
    leaflet = (webassets.VENDOR_DIR / "leaflet" / "leaflet.js").read_text(encoding="utf-8").split("//# sourceMappingURL")[0]
    assert leaflet in html and html.index(leaflet) < html.index("L.map(")
    # ...and what they refer to still loads from the app: images and source maps.
    assert "url(/app/static/vendor/leaflet/images/layers.png)" in html and "url(images/" not in html
    assert "sourceMappingURL=/app/static/vendor/leaflet/leaflet.js.map" in html


def test_inline_assets_keeps_a_link_whose_file_could_close_its_element(tmp_path, monkeypatch):
    (tmp_path / "leaflet").mkdir()
    (tmp_path / "leaflet" / "leaflet.js").write_text("var s = '</SCRIPT><b>';", encoding="utf-8")
    (tmp_path / "leaflet" / "leaflet.css").write_text(".a{background:url('images/x.png')}", encoding="utf-8")
    monkeypatch.setattr(webassets, "VENDOR_DIR", tmp_path)
    monkeypatch.setattr(webassets, "base_url_path", lambda: "/sit")
    doc = ('<html><head><script src="/sit/app/static/vendor/leaflet/leaflet.js"></script>'
           '<link rel="stylesheet" href="/sit/app/static/vendor/leaflet/leaflet.css"/>'
           '<script src="/otra/cosa.js"></script></head></html>')
    out = webassets.inline_assets(doc)
    assert '<script src="/sit/app/static/vendor/leaflet/leaflet.js"></script>' in out  # kept: it holds </SCRIPT>
    assert "<style>.a{background:url('/sit/app/static/vendor/leaflet/images/x.png')}</style>" in out
    assert '<script src="/otra/cosa.js"></script>' in out  # not a vendored file: left alone


def test_inline_assets_reports_a_missing_file_in_spanish(tmp_path, monkeypatch):
    monkeypatch.setattr(webassets, "VENDOR_DIR", tmp_path)
    doc = '<script src="/app/static/vendor/leaflet/leaflet.js"></script>'
    with pytest.raises(webassets.MapAssetsMissingError, match="make setup"):
        webassets.inline_assets(doc)


def test_mount_escapes_its_attributes_and_runs_a_fixed_script():
    hostile = 'Mapa "x" </script><script>alert(1)</script> & <b> --> ]> \'ñ\''
    html = mapframe.mount("/app/static/mapas/1-0a0b0c0d/ab.html", 580, hostile)
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1 and "alert" not in scripts[0] and "1-0a0b0c0d" not in scripts[0]  # a fixed script
    # The title travels as JSON with no "<", ">" or quote left: the page's sanitiser (DOMPurify, in
    # st.html) drops an attribute holding "</", "-->" or "]>", and the frame would have no name.
    (raw,) = re.findall(r"data-title='([^']*)'", html)
    assert json.loads(raw) == hostile and not set("<>'&") & set(raw)
    assert 'data-src="/app/static/mapas/1-0a0b0c0d/ab.html"' in html and "height: 580px" in html


def _files(cache) -> list[str]:
    return sorted(p.name for p in cache.publisher.folder.glob("*.html"))


def test_a_document_is_published_once_under_its_content_name(tmp_path):
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas")
    calls = []
    build = lambda: calls.append(1) or "<!DOCTYPE html><p>mapa ñandú</p>"  # noqa: E731
    url = cache.frame(("mapa", 1), build, "/sit")
    run, name = url.split("/")[-2:]
    assert url == f"/sit/app/static/mapas/{run}/{name}" and len(name) == len("0" * 32 + ".html")
    assert run == cache.publisher.folder.name and run.startswith(f"{os.getpid()}-")
    published = cache.publisher.folder / name
    assert published.read_text(encoding="utf-8") == "<!DOCTYPE html><p>mapa ñandú</p>"
    assert cache.frame(("mapa", 1), build) == f"/app/static/mapas/{run}/{name}" and len(calls) == 1
    # The same document under another key is the same file.
    assert cache.frame(("mapa", 2), lambda: "<!DOCTYPE html><p>mapa ñandú</p>") == f"/app/static/mapas/{run}/{name}"
    assert [p.name for p in cache.publisher.folder.iterdir()] == [name]  # no temporary file left


def test_a_file_that_went_missing_is_written_again_under_a_new_address(tmp_path, monkeypatch):
    monkeypatch.setattr(mapframe, "TOUCH_S", 0.0)
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas")
    first = cache.frame("vista", lambda: "<html>doc</html>")
    path = cache.publisher.folder / first.rsplit("/", 1)[1]
    path.unlink()  # pruned by another visitor's map between the page's check and the browser's request
    again = cache.frame("vista", lambda: "<html>never built again</html>")
    assert again == first + "?r=1" and path.read_text() == "<html>doc</html>"  # the frame reloads
    assert mapframe.published_path(again) == mapframe.PUBLISH_DIR / path.parent.name / path.name


def test_published_files_are_pruned_least_recently_shown_first(tmp_path, monkeypatch):
    monkeypatch.setattr(mapframe, "PRUNE_GRACE_S", 0.0)
    monkeypatch.setattr(mapframe, "TOUCH_S", 0.0)
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas", max_files=3)
    popular = cache.frame("popular", lambda: "<html>popular</html>")
    urls = []
    for k in range(4):
        time.sleep(0.02)  # distinct modification times
        assert cache.frame("popular", lambda: "never") == popular  # shown again: the last to go
        time.sleep(0.02)
        urls.append(cache.frame(k, lambda k=k: f"<html>{k}</html>"))
    kept = _files(cache)
    assert len(kept) == 3 and popular.rsplit("/", 1)[1] in kept and urls[-1].rsplit("/", 1)[1] in kept
    assert mapframe.published_path("<!DOCTYPE html><p>/app/static/mapas/</p>") is None
    assert mapframe.published_path("/app/static/mapas/../../app.py") is None


def test_young_files_are_kept_unless_the_disk_bound_is_far_exceeded(tmp_path):
    big = "x" * 10_000
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas", max_files=2, max_file_bytes=25_000)
    for k in range(4):  # four young files: over the count bound, under twice the size bound
        cache.frame(k, lambda k=k: f"<html>{k}{big}</html>")
    assert len(_files(cache)) == 4
    for k in range(4, 8):  # past twice the size bound: the oldest go even when young
        cache.frame(k, lambda k=k: f"<html>{k}{big}</html>")
    sizes = [p.stat().st_size for p in cache.publisher.folder.glob("*.html")]
    assert sum(sizes) <= 2 * 25_000 and len(sizes) < 8


def test_published_files_are_pruned_by_disk_size_too(tmp_path, monkeypatch):
    monkeypatch.setattr(mapframe, "PRUNE_GRACE_S", 0.0)
    big = "x" * 10_000
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas", max_files=100, max_file_bytes=25_000)
    for k in range(4):
        cache.frame(k, lambda k=k: f"<html>{k}{big}</html>")
        time.sleep(0.02)
    sizes = [p.stat().st_size for p in cache.publisher.folder.glob("*.html")]
    assert len(sizes) == 2 and sum(sizes) <= 25_000
    # The document just published stays even when it alone is larger than the limit.
    url = cache.frame("grande", lambda: "<html>" + "y" * 40_000 + "</html>")
    assert _files(cache) == [url.rsplit("/", 1)[1]]


def test_maps_of_an_older_store_version_are_withdrawn(tmp_path):
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas")
    old = cache.frame(("mapa", 7), lambda: "<html>UV Privada 12.345.678-9</html>", generation=7)
    also_old = cache.frame(("sector", 7), lambda: "<html>sector 7</html>", generation=7)
    assert len(_files(cache)) == 2
    new = cache.frame(("mapa", 8), lambda: "<html>capa quitada</html>", generation=8)
    assert _files(cache) == [new.rsplit("/", 1)[1]]
    assert ("mapa", 7) not in cache and ("sector", 7) not in cache and old != new != also_old
    # Documents kept for srcdoc frames (nothing published) are withdrawn the same way.
    inline = mapframe.DocumentCache(publish_dir=None)
    inline.frame(("mapa", 7), lambda: "<html>7</html>", generation=7)
    inline.frame(("mapa", 8), lambda: "<html>8</html>", generation=8)
    assert ("mapa", 7) not in inline and ("mapa", 8) in inline


def test_an_unwritable_folder_gives_the_document_for_a_srcdoc_frame_and_is_tried_again(tmp_path, monkeypatch):
    blocked = tmp_path / "archivo"
    blocked.write_text("no es una carpeta")
    cache = mapframe.DocumentCache(publish_dir=blocked / "mapas")
    assert cache.frame("vista", lambda: "<html>doc</html>") == "<html>doc</html>"
    assert cache.frame("otra", lambda: "<html>otra</html>") == "<html>otra</html>"  # no retry at once
    assert mapframe.DocumentCache(publish_dir=None).frame("vista", lambda: "<html>doc</html>") == "<html>doc</html>"
    blocked.unlink()  # the folder can be made now
    monkeypatch.setattr(cache.publisher, "_retry_at", 0.0)  # RETRY_S later
    assert cache.frame("vista", lambda: "never").startswith("/app/static/mapas/")


def test_folders_of_processes_that_ended_are_removed(tmp_path):
    root = tmp_path / "mapas"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = root / f"{int(gone.stdout)}-0123abcd"
    alive = root / f"{os.getppid()}-89abcdef"
    for folder in (dead, alive):
        folder.mkdir(parents=True)
        (folder / "viejo.html").write_text("<html>datos quitados</html>")
    (root / "plano.html").write_text("<html>disposición anterior</html>")
    cache = mapframe.DocumentCache(publish_dir=root)
    cache.frame("vista", lambda: "<html>doc</html>")
    assert not dead.exists() and alive.exists() and not (root / "plano.html").exists()


def test_map_and_selection_documents_of_one_process_share_the_folder_root(tmp_path):
    """The selection documents of views.restyle are published as .json beside the maps; neither sweep
    removes the other's folder (both are named after this process)."""
    root = tmp_path / "mapas"
    maps = mapframe.DocumentCache(publish_dir=root)
    selections = mapframe.DocumentCache(publish_dir=root, suffix=".json")
    map_url = maps.frame("vista", lambda: "<html>doc</html>")
    selection_url = selections.frame(("vista", "agua"), lambda: '{"t":{}}')
    assert map_url.endswith(".html") and selection_url.endswith(".json")
    for cache, url in ((maps, map_url), (selections, selection_url)):
        assert (cache.publisher.folder / url.rsplit("/", 1)[1]).is_file()
    assert maps.publisher.folder != selections.publisher.folder
    # Pruning counts only a publisher's own kind of file.
    assert [p.suffix for p in selections.publisher.folder.iterdir()] == [".json"]
    later = mapframe.DocumentCache(publish_dir=root)  # a third one of the same process sweeps too
    later.frame("otra", lambda: "<html>otra</html>")
    assert (maps.publisher.folder / map_url.rsplit("/", 1)[1]).is_file()
    assert (selections.publisher.folder / selection_url.rsplit("/", 1)[1]).is_file()


def test_a_shown_address_is_kept_without_building_its_document_again(tmp_path):
    """views.restyle: the plan map keeps its document's address; shown() refreshes the file's time and
    says when it is gone (pruned, withdrawn, another cache's or a srcdoc document)."""
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas", max_entries=1)
    other = mapframe.DocumentCache(publish_dir=tmp_path / "mapas", suffix=".json")
    url = cache.frame(("vista", 1), lambda: "<html>uno</html>", "/sit", generation=1)
    cache.frame(("vista", 2), lambda: "<html>dos</html>", "/sit", generation=1)  # the first leaves the memory
    assert ("vista", 1) not in cache and cache.shown(url)
    assert not other.shown(url) and not cache.shown("<html>uno</html>")
    assert not cache.shown(url.replace(cache.publisher.folder.name, "1-0a0b0c0d"))
    assert not cache.shown(url + "/../x.html") and not cache.shown(url[:-5] + ".json")
    cache.retire(2)  # a new store version: the older maps are withdrawn
    assert not cache.shown(url)
    assert not mapframe.DocumentCache(publish_dir=None).shown(url)
