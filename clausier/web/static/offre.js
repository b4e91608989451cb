// The insertion offer: the steps of each lot's computation follow the figures as they are typed.
// Only a preview: « Recalculer » and « Enregistrer » compute on the server, which also works
// without JavaScript; a figure the page cannot read is left for the server to explain.
(function () {
  var form = document.querySelector("form.offer-form");
  if (!form) return;
  var data = form.dataset, step = Number(data.roundTo), floor = Number(data.floor);
  var round = { nearest: Math.round, up: Math.ceil, down: Math.floor }[data.rounding] || Math.round;
  var labels = { taux: "taux", part: "part", cout: "cout" };

  function read(text) {  // « 7 », « 5,5 % », « 32,50 € » → a number, or null
    var clean = text.replace(/[\s\u202f\u00a0%€]/g, "").replace(",", ".");
    if (!/^\d+(\.\d+)?$/.test(clean)) return null;
    return Number(clean);
  }
  function number(value, decimals) {
    var rounded = Math.round(value * 100) / 100;
    var digits = decimals !== undefined ? decimals : (Number.isInteger(rounded) ? 0 : 2);
    return rounded.toLocaleString("fr-FR", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function percent(share) { return number(share * 100) + " %"; }
  function set(id, text) { var cell = document.getElementById(id); if (cell) cell.textContent = text; }

  function figure(lot, name) {  // [value, source] of a field, its default when left blank
    var typed = document.getElementById(name + "-" + lot).value.trim();
    var key = name.charAt(0).toUpperCase() + name.slice(1);
    // a lot's own default first: its labour share follows its CPV (the lot's, else the market's)
    var own = (document.getElementById("calcul-" + lot) || {}).dataset || {};
    var fallback = own["default" + key] !== undefined ? own["default" + key] : data["default" + key];
    var source = own["source" + key] !== undefined ? own["source" + key] : data["source" + key];
    var value = read(typed || fallback || "");
    if (value === null) return null;
    var entered = typed && value !== read(fallback || "");
    return [value, entered ? data["entered" + key] : source];
  }

  function update(lot) {
    var table = document.getElementById("calcul-" + lot);
    if (!table) return;
    var share = figure(lot, labels.part), rate = figure(lot, labels.taux), cost = figure(lot, labels.cout);
    if (!share || !rate || !cost || share[0] <= 0 || share[0] > 100 || rate[0] <= 0 || rate[0] > 100 || cost[0] <= 0) return;
    var amount = Number(table.dataset.amount), labour = amount * share[0] / 100, insertion = labour * rate[0] / 100;
    var raw = insertion / cost[0], rounded = round(raw / step + 1e-9) * step;
    set("chiffre-" + lot + "-share", percent(share[0] / 100)); set("source-" + lot + "-share", share[1]);
    set("chiffre-" + lot + "-labour", number(labour) + " €");
    set("chiffre-" + lot + "-rate", percent(rate[0] / 100)); set("source-" + lot + "-rate", rate[1]);
    set("chiffre-" + lot + "-insertion", number(insertion) + " €");
    set("chiffre-" + lot + "-cost", number(cost[0]) + " € de l'heure"); set("source-" + lot + "-cost", cost[1]);
    set("chiffre-" + lot + "-raw", number(raw, 2) + " heures");
    set("chiffre-" + lot + "-rounded", number(rounded) + " heures");
    var override = read(document.getElementById("heures-" + lot).value.trim());
    var computed = rounded < floor ? 0 : rounded, result;
    if (override !== null) result = number(override) + " heures retenues par dérogation (au lieu de " + number(computed) + " heures calculées)";
    else if (rounded < floor) result = "sous le plancher : le lot ne porte pas de clause";
    else result = number(rounded) + " heures d'insertion";
    var strong = document.querySelector("#resultat-" + lot + " strong");
    if (strong) strong.textContent = result;
    var stale = document.getElementById("perime-" + lot);
    if (stale) stale.hidden = false;
  }

  form.addEventListener("input", function (event) {
    var match = /^(taux|part|cout|heures)-(\d+)$/.exec(event.target.id || "");
    if (match) update(match[2]);
  });
})();
