"""SIT Vallenar: entry point of the web application (``streamlit run app.py``).

Sets the page configuration and the navigation, prepares the store of layers once
per process, and shows a clear Spanish message instead of a traceback when the
data or the map assets are not usable.
"""

from __future__ import annotations

import logging

import streamlit as st

from layers._errors import SitError
from layers.access import roles as _roles
from layers.store import StoreDamagedError
from pages import _access, _shared
from views import heap, serving, webassets

log = logging.getLogger("sit.app")

# Once per process: the server's connections send each response at once (views.serving).
serving.send_without_delay()
# `make run` froze the code before Streamlit started (views.launch): the full garbage collection
# Streamlit runs after every script run skips it. A server started otherwise says so once.
heap.warn_if_not_frozen()

# No page icons: the active page's icon becomes the favicon, and Streamlit fetches
# ":material/..." favicons from fonts.gstatic.com (the app must make no request outside
# its own server); emoji would do, but show as empty boxes where no emoji font is installed.
st.set_page_config(
    page_title="SIT Vallenar",
    layout="wide",
    # "auto": open on a wide screen, closed on a phone, so a shared link shows its content first.
    initial_sidebar_state="auto",
)

MAP_PAGE = st.Page("pages/mapa.py", title="Mapa del plan", url_path="mapa")
# The first page explains the system; a root link with map filters (``/?territorio=domeyko``)
# is forwarded by it to the map, as before.
HOME_PAGE = st.Page("pages/inicio.py", title="Inicio", url_path="inicio", default=True)

navigation = st.navigation(
    [
        HOME_PAGE,
        MAP_PAGE,
        st.Page("pages/sector.py", title="Mi sector", url_path="sector"),
        st.Page("pages/plan.py", title="Plan", url_path="plan"),
        st.Page("pages/seguimiento.py", title="Seguimiento", url_path="seguimiento"),
        st.Page("pages/capas.py", title="Capas", url_path="capas"),
        # Accounts (pages/_access.py): every edit page checks the role itself, on the server.
        st.Page("pages/ingresar.py", title="Ingresar", url_path="ingresar"),
        st.Page("pages/editar.py", title="Editar seguimiento", url_path="editar",
                visibility=_access.nav_visibility(_roles.EDIT_MONITORING)),
        st.Page("pages/ubicar.py", title="Ubicar iniciativas", url_path="ubicar",
                visibility=_access.nav_visibility(_roles.PLACE_INITIATIVES)),
        st.Page("pages/vincular.py", title="Territorios de iniciativas", url_path="vincular",
                visibility=_access.nav_visibility(_roles.PLACE_INITIATIVES)),
        st.Page("pages/auditoria.py", title="Auditoría", url_path="auditoria",
                visibility=_access.nav_visibility(_roles.AUDIT)),
    ]
)

st.sidebar.caption("SIT Vallenar · Sistema de información territorial de la comuna de Vallenar")
_shared.page_setup(navigation.url_path)


def _damaged_store_page(exc: StoreDamagedError) -> None:
    """What happened to the store and what to do, in Spanish; no detail is rendered as Markdown."""
    st.title("El almacén de capas está dañado", anchor=False)
    st.error(
        "La aplicación no puede mostrarse porque el archivo donde el sistema guarda sus capas, las capas "
        "importadas y las tablas de seguimiento no pasó la revisión de integridad. Suele deberse a un disco "
        "lleno, un corte de energía durante una escritura o una copia incompleta del archivo."
    )
    st.markdown("**Qué hacer.** Quien administra el servidor debe ejecutar, en la carpeta de la aplicación:")
    st.code("python cli.py build --reparar", language="bash")
    st.markdown(
        "Eso guarda una copia del archivo dañado, reconstruye las capas incluidas en el sistema y recupera "
        "las capas importadas y las tablas de seguimiento que aún se puedan leer, e informa qué se perdió. "
        "También puede reemplazar el archivo por una copia de respaldo. El archivo afectado y el detalle técnico "
        "quedaron en el registro del servidor (no se muestran a los visitantes)."
    )


try:
    _shared.store_version()
except StoreDamagedError as exc:
    log.error("store damaged: %s (%s)", exc, exc.data.get("path", ""))
    _damaged_store_page(exc)
    st.stop()
except (SitError, OSError) as exc:
    log.exception("store not available")
    st.error(
        "No se pudo preparar el almacén de capas del sistema, por lo que la aplicación no puede mostrarse. "
        f"Detalle: {_shared.md_escape(exc)}"
    )
    st.stop()

if not webassets.assets_installed():
    st.error(webassets.missing_assets_message())

_access.sidebar_status()  # who is signed in, or a link to sign in

try:
    with _shared.app_navigation():  # pages check it (pages/_shared.py, run_inside_app)
        navigation.run()
except StoreDamagedError as exc:  # damaged while the page ran (e.g. by another process)
    log.error("store damaged: %s", exc)
    _damaged_store_page(exc)
except SitError as exc:
    log.exception("page failed with a domain error")
    st.error(_shared.md_escape(exc))
