// Cascading 省 / 市 / 区县 picker for 职称业务归属地; the hidden input holds the chosen code.
document.querySelectorAll(".region-picker").forEach(function (picker) {
  fetch(picker.dataset.src, {credentials: "same-origin"}).then(function (r) { return r.json(); })
    .then(function (tree) { initRegionPicker(picker, tree); });
});
function initRegionPicker(picker, tree) {
  var hidden = picker.querySelector("input[type=hidden]");
  var selects = picker.querySelectorAll("select.rp-level");
  function path(nodes, code, trail) {
    for (var i = 0; i < nodes.length; i++) {
      var t = trail.concat([nodes[i]]);
      if (nodes[i].code === code) return t;
      var found = path(nodes[i].children || [], code, t);
      if (found) return found;
    }
    return null;
  }
  function fill(level, nodes, selected) {
    var sel = selects[level];
    if (!sel) return;
    sel.innerHTML = "";
    sel.appendChild(new Option(["请选择省", "请选择市（州）/省本级", "请选择区县/市本级"][level], ""));
    nodes.forEach(function (n) { sel.appendChild(new Option(n.name, n.code, false, n.code === selected)); });
    sel.disabled = nodes.length === 0;
    sel._nodes = nodes;
  }
  function onChange(level) {
    var sel = selects[level];
    var node = (sel._nodes || []).find(function (n) { return n.code === sel.value; });
    for (var l = level + 1; l < selects.length; l++) fill(l, [], "");
    if (node) fill(level + 1, node.children || [], "");
    hidden.value = sel.value || (level > 0 ? selects[level - 1].value : "");
  }
  selects.forEach(function (sel, level) { sel.addEventListener("change", function () { onChange(level); }); });
  var trail = path(tree, picker.dataset.value, []) || [];
  fill(0, tree, trail[0] && trail[0].code);
  for (var l = 1; l < selects.length; l++) {
    fill(l, trail[l - 1] ? (trail[l - 1].children || []) : [], trail[l] && trail[l].code);
  }
}

// Behaviour that templates ask for with data attributes, so that no page needs inline script or on* handlers
// (the Content-Security-Policy allows scripts from this site's files only; app/web.py).
// data-confirm on a form or a submit button: ask before the irreversible step (the message is plain text).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = event.submitter;
  var message = (button && button.dataset && button.dataset.confirm) || form.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
}, true);
// data-check-all on a checkbox: 全选 — it sets every enabled checkbox named by its value (anywhere on the page,
// as boxes may belong to a form by their form attribute), or with no value every checkbox of its own form.
document.addEventListener("change", function (event) {
  var all = event.target;
  if (!all.matches || !all.matches("input[data-check-all]")) return;
  var boxes = all.dataset.checkAll
    ? document.querySelectorAll('input[type=checkbox][name="' + all.dataset.checkAll + '"]:not(:disabled)')
    : (all.form ? all.form.querySelectorAll("input[type=checkbox][name]:not(:disabled)") : []);
  boxes.forEach(function (box) { box.checked = all.checked; });
});
// data-autosubmit on a select: choosing an option reloads the list (its form is a GET filter).
document.addEventListener("change", function (event) {
  if (event.target.matches && event.target.matches("select[data-autosubmit]") && event.target.form) {
    event.target.form.submit();
  }
});
document.addEventListener("click", function (event) {
  var target = event.target;
  if (!target.closest) return;
  // data-select-all on a read-only input: one click selects the whole value for copying.
  if (target.matches("input[data-select-all]")) target.select();
  // data-history-back on a link: back to the page the user came from, else the link's own address.
  var back = target.closest("a[data-history-back]");
  if (back && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
// data-filter-options="<select id>" on a search box: only the options (and their optgroups) matching the words show,
// so a long list (现职称, ~200 titles grouped by series) is found by typing.
document.addEventListener("input", function (event) {
  var box = event.target;
  if (!box.dataset || !box.dataset.filterOptions) return;
  var select = document.getElementById(box.dataset.filterOptions);
  if (!select) return;
  var words = box.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  select.querySelectorAll("optgroup").forEach(function (group) {
    var shown = 0;
    group.querySelectorAll("option").forEach(function (option) {
      var text = (group.label + " " + option.textContent).toLowerCase();
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      option.hidden = !match;
      if (match) shown += 1;
    });
    group.hidden = shown === 0;
  });
});
