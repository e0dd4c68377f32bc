"""The city-zoom map: an SVG choropleth as a Streamlit component (pan, zoom, tooltip, click).

At city zoom the app shows aggregates only, a few dozen district shapes over water,
roads and boundaries. Drawn as SVG they are on screen in tens of milliseconds, where a
deck.gl map costs seconds of a first render in a browser without a GPU (software WebGL
compiles each layer kind's shaders and reads every frame back). The 3D deck.gl map takes
over as soon as buildings are in view (a district chosen).

The markup comes from :func:`mapapp.mapstyle.svg_map` (escaped text, no user input); this
module only adds the behaviour: wheel to zoom, drag to pan, double click to reset, a
tooltip, and a click on an area that returns its key to Python (``on_pick``).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

__all__ = ["svg_component"]

_CSS = """
.ctmap { position: relative; width: 100%; user-select: none; touch-action: none; }
.ctmap svg { display: block; width: 100%; height: auto; background: #f7f7f4;
             border-radius: 6px; cursor: grab; }
.ctmap svg.dragging { cursor: grabbing; }
.ctmap .line { vector-effect: non-scaling-stroke; pointer-events: none; }
.ctmap .water { pointer-events: none; }
.ctmap .area { stroke: none; cursor: pointer; }
.ctmap .area.outlined { stroke: #ffffff; stroke-width: 0.75; vector-effect: non-scaling-stroke; }
.ctmap .area.chosen { stroke: #222222; stroke-width: 2.5; vector-effect: non-scaling-stroke; }
.ctmap .marker { fill: none; stroke-linecap: round; stroke-opacity: 0.85;
                 vector-effect: non-scaling-stroke; }
.ctmap .chosen .marker { stroke-opacity: 1; }
.ctmap .area:hover .marker { stroke: #d62728; }
.ctmap .area:hover { stroke: #d62728; stroke-width: 2; vector-effect: non-scaling-stroke; }
.ctmap .legend { font: 12px/1.6 sans-serif; margin-top: 4px; color: #333; }
.ctmap .legend b { margin-right: 8px; }
.ctmap .legend span.item { display: inline-block; margin-right: 10px; white-space: nowrap; }
.ctmap .legend span.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
                             vertical-align: middle; border: 1px solid #555; }
.ctmap .hint { font: 12px/1.4 sans-serif; color: #777; }
.ctmap .tip { position: absolute; pointer-events: none; display: none; white-space: pre-line;
              background: rgba(30, 30, 30, 0.88); color: #fff; font: 12px/1.35 sans-serif;
              padding: 4px 7px; border-radius: 4px; max-width: 320px; z-index: 2; }
"""

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector(".ctmap");
  if (!root) {
    root = document.createElement("div");
    root.className = "ctmap";
    parentElement.appendChild(root);
  }
  const sameView = root.dataset.view === data.view;
  root.dataset.view = data.view;
  root.innerHTML = data.svg + '<div class="tip"></div><div class="legend"></div><div class="hint"></div>';
  const svg = root.querySelector("svg");
  const tip = root.querySelector(".tip");
  const legend = root.querySelector(".legend");
  if (data.legend_title) {
    const b = document.createElement("b");
    b.textContent = data.legend_title;
    legend.appendChild(b);
    for (const [label, colour] of data.legend || []) {
      const item = document.createElement("span");
      item.className = "item";
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = colour;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(label));
      legend.appendChild(item);
    }
  }
  root.querySelector(".hint").textContent = data.hint || "";
  const W = Number(svg.dataset.width), H = Number(svg.dataset.height);
  let vb = sameView && root._vb ? root._vb : [0, 0, W, H];
  const apply = () => { root._vb = vb; svg.setAttribute("viewBox", vb.join(" ")); };
  apply();
  const at = (ev) => {
    const r = svg.getBoundingClientRect();
    return [vb[0] + (ev.clientX - r.left) / r.width * vb[2],
            vb[1] + (ev.clientY - r.top) / r.height * vb[3]];
  };
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const [px, py] = at(ev);
    const w = Math.min(W, Math.max(W / 64, vb[2] * Math.exp(ev.deltaY * 0.0015)));
    const f = w / vb[2];
    vb = [px - (px - vb[0]) * f, py - (py - vb[1]) * f, vb[2] * f, vb[3] * f];
    apply();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => {
    const area = ev.target.closest ? ev.target.closest(".area") : null;
    drag = { x: ev.clientX, y: ev.clientY, vb: vb.slice(), moved: false, area };
    svg.setPointerCapture(ev.pointerId);
  });
  svg.addEventListener("pointermove", (ev) => {
    const el = ev.target.closest ? ev.target.closest(".area") : null;
    if (drag) {
      const r = svg.getBoundingClientRect();
      const dx = (ev.clientX - drag.x) / r.width * vb[2], dy = (ev.clientY - drag.y) / r.height * vb[3];
      if (Math.abs(ev.clientX - drag.x) + Math.abs(ev.clientY - drag.y) > 3) drag.moved = true;
      if (drag.moved) {
        svg.classList.add("dragging");
        vb = [drag.vb[0] - dx, drag.vb[1] - dy, vb[2], vb[3]];
        apply();
      }
    }
    if (el && !(drag && drag.moved)) {
      const box = root.getBoundingClientRect();
      tip.textContent = el.dataset.tip;
      tip.style.display = "block";
      tip.style.left = (ev.clientX - box.left + 12) + "px";
      tip.style.top = (ev.clientY - box.top + 12) + "px";
    } else {
      tip.style.display = "none";
    }
  });
  const end = () => {
    if (drag && !drag.moved && drag.area && data.pickable) {
      setTriggerValue("pick", drag.area.dataset.key);
    }
    drag = null;
    svg.classList.remove("dragging");
  };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointerleave", () => { tip.style.display = "none"; });
  svg.addEventListener("dblclick", () => { vb = [0, 0, W, H]; apply(); });
}
"""

_COMPONENT = st.components.v2.component("carbon_twin_svg_map", css=_CSS, js=_JS)


def svg_component(svg: str, *, key: str, view: str, on_pick: Callable[[], None] | None = None,
                  legend: tuple[str, list[tuple[str, str]]] | None = None, hint: str = ""):
    """Show ``svg`` (from :func:`mapapp.mapstyle.svg_map`) as an interactive map.

    The city-zoom map of the PV page and the overview, and the inspector's small maps
    (a district's top buildings, a site).

    Parameters
    ----------
    svg : str
        The map's markup.
    key : str
        Widget key; after a click on an area ``st.session_state[key]["pick"]`` is its key
        (during ``on_pick`` and the run it triggers).
    view : str
        What the map shows (e.g. the city): pan and zoom are kept across reruns while it
        stays the same.
    on_pick : callable, optional
        Called when an area is clicked; without it areas are not clickable.
    legend : (str, list of (str, str)), optional
        Title and (label, ``#rrggbb``) items shown under the map (set as text, not HTML).
    hint : str
        A line of help under the map.
    """
    title, items = legend or ("", [])
    return _COMPONENT(data={"svg": svg, "view": view, "pickable": on_pick is not None,
                            "legend_title": title, "legend": [list(i) for i in items],
                            "hint": hint}, key=key, on_pick_change=on_pick or (lambda: None))
