// The "0 / 50" counters beside template fields with a max_length (manual S 1.2.4.1.1–8).
document.querySelectorAll("[data-counter]").forEach(function (input) {
  var counter = document.querySelector('[data-count-for="' + input.id + '"]');
  if (!counter) return;
  input.addEventListener("input", function () { counter.textContent = input.value.length; });
});
