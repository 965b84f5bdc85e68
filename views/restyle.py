"""A new selection drawn in the map already open, instead of a new map document.

At 10,000 territories most of a filter change is the browser loading and drawing a new
document (``bench/README.md``): the territories' geometry, the labels, the census blocks
and Leaflet itself are the same for every selection of a layer. The plan map therefore
keeps its document for as long as the territory layer, the sites and the store version
stay the same, and a new selection travels as a small JSON document
(:func:`views.mapview.selection_update`, published like the maps by
:data:`views.mapframe.SELECTIONS`):

- the page writes the selection's address on the frame's element (:func:`pointer`, shown
  with ``st.html`` after the frame; attribute ``data-sel`` of ``div.sit-mapa``) and tells
  the frame;
- the frame (:class:`SelectionFollower`, part of every plan map) reads that attribute when
  it loads and whenever told, fetches the document and hands its parts to the map's
  elements, which registered themselves in ``window.__sitMap``: the territories recolour
  (:class:`views._elements.TerritoryChoropleth`), the sited initiatives are drawn anew
  (:class:`views._elements.SitedInitiatives`), the legend is rewritten
  (:class:`views.legend.Legend`), the chosen territories are outlined, and the map fits
  the selection;
- when done, the map object carries the address it shows (``map.__sitSelection``) and the
  frame's ``document.body`` the attribute ``data-sit-selection``: what the browser tests
  and ``make bench`` wait for.

The map fits a selection's extent only when its filters changed (``fk``); a change of colours
or of what the colours count keeps the view the person has (written again into the page's
address, which the page's run rewrote) or the one a link opened on, and a fit made here is not
written into the address as the person's view (``vista``, :mod:`views.maplocale`). Popups and
tooltips of the selection that went are closed. A document that cannot be fetched or drawn leaves the map showing
what it showed, with a line on the map that says so, until a later selection draws. Only a
``.json`` address of the app's published maps on the page's own origin is followed. Nothing
here imports Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping

from folium.template import Template

from views import _jinja, mapframe
from views._plain import PlainMacroElement
from views.escape import js_value

__all__ = ["SelectionFollower", "pointer", "FAILED_TEXT"]

#: What the map says when a new selection could not be fetched (the one shown stays).
FAILED_TEXT = "No se pudo cargar la nueva selección en el mapa: recargue la página."


class SelectionFollower(PlainMacroElement):
    """The frame's side of an in-place selection change (see the module's text).

    Parameters
    ----------
    outline : folium.GeoJson or None
        The layer outlining the territories chosen in the document's own selection (``None``
        when none were chosen); replaced by each new selection's outline.
    control : folium.LayerControl
        The map's layer control (the outline layer is listed while it exists).
    outline_name : str
        Name of the outline layer in the layer control (escaped HTML text).
    outline_style : mapping
        Leaflet path style of the outline.
    fit_key : str
        The document's own selection's key of extent (:func:`views.mapview.selection_update`):
        a selection with the same key keeps the view, another one fits its extent.

    The map is finished by :func:`views.maplocale.prepare`, whose first element defines the
    notice a selection that cannot be drawn shows (``window.__sitMap.notice``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var map = {{ this._parent.get_name() }}, control = {{ this.control.get_name() }};
                var outline = {{ this.outline }}, outlineName = {{ this.outline_name }}, outlineStyle = {{ this.outline_style }};
                var failedText = {{ this.failed_text }}, fitted = {{ this.fit_key }}, shown = null, notice = null;
                function slot() {
                    try { return window.frameElement ? window.frameElement.parentElement : null; } catch (e) { return null; }
                }
                var own = {{ this.own }};  // only a selection document this app published, on this origin
                function done(url) {
                    map.__sitSelection = url;
                    document.body.setAttribute("data-sit-selection", url);
                }
                function failed() {
                    if (!notice) { notice = window.__sitMap.notice(map, "sit-selection-failed", failedText); }
                }
                function apply(doc, url) {
                    var R = window.__sitMap || {}, ok = true;
                    function part(f) { try { f(); } catch (e) { ok = false; } }
                    part(function () { R.territories.restyle(doc.t); });
                    part(function () {
                        if (outline) { map.removeLayer(outline); control.removeLayer(outline); outline = null; }
                        if (doc.o.length) {
                            outline = L.geoJSON(R.territories.features(doc.o), {style: function () { return outlineStyle; }, interactive: false});
                            outline.addTo(map);
                            control.addOverlay(outline, outlineName);
                        }
                    });
                    part(function () { R.sited(doc.s); });  // after the outline: the marks stay above it
                    part(function () { R.legend(doc.lg); });
                    part(function () {
                        map.closePopup();  // what an open popup said belongs to the selection that went
                        if (doc.fk === fitted) {  // same filters, other colours or counting: the view stays
                            if (R.rewriteView) { R.rewriteView(); }
                            return;
                        }
                        if (R.untouch) { R.untouch(); }  // a fit made here is not the person's move (views.maplocale)
                        map.fitBounds(doc.fit, {animate: false});
                        fitted = doc.fk;
                    });
                    if (!ok) { shown = null; failed(); return; }
                    if (notice) { notice.remove(); notice = null; }
                    // Marked once the browser has drawn it (the canvas redraws on the next frame).
                    requestAnimationFrame(function () { requestAnimationFrame(function () { done(url); }); });
                }
                function follow() {
                    var el = slot(), url = el ? el.getAttribute("data-sel") : null;
                    if (!url || url === shown || !own(url)) { return; }
                    shown = url;
                    fetch(url, {credentials: "same-origin"}).then(function (r) {
                        if (!r.ok) { throw new Error(String(r.status)); }
                        return r.json();
                    }).then(function (doc) {
                        if (url === shown) { apply(doc, url); }
                    }).catch(function () { if (url === shown) { shown = null; failed(); } });
                }
                window.addEventListener("message", function (e) {
                    if (e.origin === window.location.origin && e.data && e.data.sitSelection) { follow(); }
                });
                done("");
                follow();
            })();
        {% endmacro %}
        """
    )

    def __init__(self, outline, control, outline_name: str, outline_style: Mapping[str, object],
                 fit_key: str = "") -> None:
        super().__init__()
        self._name = "SelectionFollower"
        self.outline = outline.get_name() if outline is not None else "null"
        self.control = control
        self.outline_name = js_value(outline_name)
        self.outline_style = js_value(dict(outline_style))
        self.failed_text = js_value(FAILED_TEXT)
        self.fit_key = js_value(str(fit_key))
        self.own = str(mapframe.own_address_js("json"))


def pointer(frame_src: str, selection_src: str) -> str:
    """HTML that points the page's map frame at a selection document (for ``st.html``).

    Parameters
    ----------
    frame_src : str
        Address of the map document the frame shows (:meth:`views.mapframe.DocumentCache.frame`);
        part of the text so that a frame made anew (a document published again) is pointed too.
    selection_src : str
        Root-relative address of the selection document (:data:`views.mapframe.SELECTIONS`).

    Both addresses are the server's own (this function does not check them); the script
    follows only a root-relative ``selection_src`` and a frame whose address is ``frame_src``.

    Returns
    -------
    str
        A hidden ``div.sit-mapa-sel`` and a fixed script (template ``views/templates/selection.html``)
        that writes ``data-sel`` on the frame's element and posts ``{sitSelection: 1}`` to the frame.
    """
    return _jinja.render("selection.html", frame=frame_src, src=selection_src, own=mapframe.own_address_js("json"))
