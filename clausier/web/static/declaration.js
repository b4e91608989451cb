// « Ajouter une ligne » adds an empty row in the page rather than sending the form (which the
// server also understands, for a browser without JavaScript), and puts the cursor in it.
(function () {
  var button = document.querySelector("[data-ajouter]"), model = document.getElementById("modele-ligne");
  if (!button || !model) return;
  button.addEventListener("click", function (event) {
    event.preventDefault();
    var body = document.getElementById("lignes"), next = Number(body.dataset.next);
    body.insertAdjacentHTML("beforeend", model.innerHTML.replace(/__N__/g, String(next)));
    body.dataset.next = String(next + 1);
    document.getElementById("beneficiary-" + next).focus();
  });
})();
