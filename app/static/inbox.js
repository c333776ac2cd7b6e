// 待办事项: 常用意见 picker, 全选 for batch review, and the diagram with the current node marked.
document.querySelectorAll("select[data-opinion-target]").forEach(function (picker) {
  picker.addEventListener("change", function () {
    var box = document.getElementById(picker.dataset.opinionTarget);
    if (box && picker.value) {
      box.value = box.value ? box.value.replace(/\s+$/, "") + "\n" + picker.value : picker.value;
      box.focus();
    }
    picker.value = "";
  });
});

(function () {
  var container = document.getElementById("diagram");
  if (!container || typeof BpmnJS === "undefined") return;
  // The navigated viewer keeps the bpmn.io watermark visible, as its licence requires.
  var viewer = new BpmnJS({container: container});
  fetch(container.dataset.xmlUrl, {credentials: "same-origin"})
    .then(function (response) {
      if (!response.ok) throw new Error("流程图加载失败（" + response.status + "）");
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      canvas.zoom("fit-viewport");
      var mark = container.dataset.mark;
      if (mark && viewer.get("elementRegistry").get(mark)) canvas.addMarker(mark, container.dataset.markClass);
    })
    .catch(function (error) {
      container.textContent = error.message || "流程图加载失败";
      container.classList.add("text-danger", "p-3");
    });
})();
