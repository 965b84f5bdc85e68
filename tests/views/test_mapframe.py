"""views.mapframe: the map's document rendered once, kept in a bounded cache shared by every visitor."""

from __future__ import annotations

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


def test_render_gives_a_whole_document_that_loads_leaflet_from_the_app():
    m = webassets.localize_map(webassets.offline_map([-28.578, -70.76]))
    html = mapframe.render(m)
    assert html.startswith("<!DOCTYPE html>")
    js, css = webassets.asset_links(m)
    assert js and all(u.startswith("/app/static/vendor/") for u in js + css)
    assert all(f'src="{u}"' in html for u in js)


def test_a_document_is_published_once_under_its_content_name(tmp_path):
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas")
    calls = []
    build = lambda: calls.append(1) or "<!DOCTYPE html><p>mapa ñandú</p>"  # noqa: E731
    url = cache.frame(("mapa", 1), build, "/sit")
    name = url.rsplit("/", 1)[1]
    assert url == f"/sit/app/static/mapas/{name}" and len(name) == len("0" * 32 + ".html")
    published = tmp_path / "mapas" / name
    assert published.read_text(encoding="utf-8") == "<!DOCTYPE html><p>mapa ñandú</p>"
    assert cache.frame(("mapa", 1), build) == f"/app/static/mapas/{name}" and len(calls) == 1
    # The same document under another key is the same file; a deleted file is written again.
    assert cache.frame(("mapa", 2), lambda: "<!DOCTYPE html><p>mapa ñandú</p>") == f"/app/static/mapas/{name}"
    published.unlink()
    assert cache.frame(("mapa", 1), build) == f"/app/static/mapas/{name}" and published.is_file() and len(calls) == 1
    assert [p.name for p in (tmp_path / "mapas").iterdir()] == [name]  # no temporary file left


def test_published_files_are_pruned_oldest_first(tmp_path):
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas", max_files=3)
    urls = []
    for k in range(5):
        urls.append(cache.frame(k, lambda k=k: f"<html>{k}</html>"))
        time.sleep(0.02)  # distinct modification times
    kept = sorted(p.name for p in (tmp_path / "mapas").glob("*.html"))
    assert len(kept) == 3 and sorted(u.rsplit("/", 1)[1] for u in urls[-3:]) == kept
    assert mapframe.published_path(urls[-1]) == mapframe.PUBLISH_DIR / urls[-1].rsplit("/", 1)[1]
    assert mapframe.published_path("<!DOCTYPE html><p>/app/static/mapas/</p>") is None


def test_an_unwritable_folder_gives_the_document_for_a_srcdoc_frame(tmp_path):
    blocked = tmp_path / "archivo"
    blocked.write_text("no es una carpeta")
    cache = mapframe.DocumentCache(publish_dir=blocked / "mapas")
    assert cache.frame("vista", lambda: "<html>doc</html>") == "<html>doc</html>"
    assert mapframe.DocumentCache(publish_dir=None).frame("vista", lambda: "<html>doc</html>") == "<html>doc</html>"


def test_published_files_are_pruned_by_disk_size_too(tmp_path):
    big = "x" * 10_000
    cache = mapframe.DocumentCache(publish_dir=tmp_path / "mapas", max_files=100, max_file_bytes=25_000)
    for k in range(4):
        cache.frame(k, lambda k=k: f"<html>{k}{big}</html>")
        time.sleep(0.02)
    sizes = [p.stat().st_size for p in (tmp_path / "mapas").glob("*.html")]
    assert len(sizes) == 2 and sum(sizes) <= 25_000
    # The document just published stays even when it alone is larger than the limit.
    url = cache.frame("grande", lambda: "<html>" + "y" * 40_000 + "</html>")
    assert [p.name for p in (tmp_path / "mapas").glob("*.html")] == [url.rsplit("/", 1)[1]]
