/* Draw every Vega-Lite chart on the page with the vendored library (static/vendor/vega/vega-bundle.js).
   The spec is in the page as JSON (Django's json_script); no request leaves the site. */
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("[data-chart-spec]").forEach(function (container) {
      var source = document.getElementById(container.dataset.chartSpec);
      if (!source || typeof window.vegaEmbed !== "function") { return; }
      var spec = JSON.parse(source.textContent);
      // The page's heading already names the chart; the title stays in the spec for the PDF report.
      delete spec.title;
      window.vegaEmbed(container, spec, { actions: false, renderer: "svg" })
        .then(function () { container.dataset.rendered = "true"; })
        .catch(function () { container.textContent = container.dataset.errorText || ""; });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
