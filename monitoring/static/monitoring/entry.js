/* Validation while typing on the data-entry form: each value is checked against the indicator's valid
   range (refused) and the state's own history (outlier warning) by the JSON endpoint /entry/check/.
   The server runs the same check again on save. No library; messages come from the server (translated). */
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }
  var checkUrl = form.dataset.checkUrl;
  var timers = {};

  function show(input, kind, text) {
    var row = input.closest("tr");
    var cell = row && row.querySelector(".check");
    if (!cell) { return; }
    cell.textContent = "";
    row.classList.remove("has-error", "has-warning");
    input.removeAttribute("aria-invalid");
    if (!text) { return; }
    var span = document.createElement("span");
    span.className = kind;
    span.textContent = text;
    cell.appendChild(span);
    row.classList.add(kind === "error" ? "has-error" : "has-warning");
    if (kind === "error") { input.setAttribute("aria-invalid", "true"); }
  }

  function check(input) {
    var value = input.value.trim();
    if (value === "" || input.readOnly) { show(input, "", ""); return; }
    var params = new URLSearchParams({
      country: form.dataset.country,
      period: form.dataset.period,
      indicator: input.dataset.indicator,
      value: value.replace(",", ".")
    });
    fetch(checkUrl + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (result.error && typeof result.error === "object") { show(input, "error", result.error.message); }
        else if (result.error) { show(input, "error", result.error); }
        else if (result.warning) { show(input, "warning", result.warning); }
        else { show(input, "", ""); }
      })
      .catch(function () { show(input, "", ""); });
  }

  form.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.classList.contains("entry-value")) { return; }
    clearTimeout(timers[input.name]);
    timers[input.name] = setTimeout(function () { check(input); }, 300);
  });
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.classList.contains("entry-value")) { clearTimeout(timers[input.name]); check(input); }
  });
})();
