// 流程实例: draw the version the instance runs on and mark its completed, active and waiting elements.
(function () {
  var container = document.getElementById("instance-diagram");
  if (!container || !window.BpmnJS) return;
  var viewer = new window.BpmnJS({container: container});
  fetch(container.dataset.xmlUrl, {credentials: "same-origin"})
    .then(function (r) { return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      ["completed", "active", "waiting"].forEach(function (state) {
        (container.dataset[state] || "").split(" ").forEach(function (id) {
          if (id && registry.get(id)) canvas.addMarker(id, "pa-" + state);
        });
      });
      container.dataset.ready = "1";
    })
    .catch(function (err) {
      container.textContent = "流程图无法显示：" + err.message;
    });
})();
