{# The test of an address that a page's script or a map frame follows (views.mapframe.own_address_js):
   a document this app published, root-relative, on the page's own origin, its path matching `pattern`
   (a JavaScript regular expression's source: the published documents' folder and names, one extension).
   One definition for the frame maker (mapframe.html), the selection pointer (selection.html) and the
   frame's selection follower (views.restyle.SelectionFollower). #}
{% macro own_address(pattern) -%}
function (src) {
  var u;
  if (typeof src !== "string" || src.charAt(0) !== "/") { return false; }
  try { u = new URL(src, window.location.href); } catch (e) { return false; }
  return u.origin === window.location.origin && new RegExp({{ pattern|tojson }}).test(u.pathname);
}
{%- endmacro %}
