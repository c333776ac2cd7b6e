// 申报审核 lists: 全选 of the declarations the user may review (批量通过 / 批量退回 / 批量不通过).
document.querySelectorAll("[data-check-all]").forEach(function (all) {
  all.addEventListener("change", function () {
    all.closest("form").querySelectorAll("input[name=application_ids]:not(:disabled)").forEach(function (box) {
      box.checked = all.checked;
    });
  });
});
