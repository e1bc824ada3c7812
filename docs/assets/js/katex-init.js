// Render the formulas pymdownx.arithmatex leaves in <span/div class="arithmatex"> with the bundled
// KaTeX (no network). Re-run on each page change when instant navigation is on.
function renderMath() {
  for (const el of document.querySelectorAll(".arithmatex")) {
    const tex = el.textContent.trim();
    const display = tex.startsWith("\\[");
    katex.render(tex.slice(2, -2), el, { displayMode: display, throwOnError: false });
  }
}
if (typeof document$ !== "undefined") { document$.subscribe(renderMath); } else { document.addEventListener("DOMContentLoaded", renderMath); }
