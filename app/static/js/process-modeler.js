// 流程编辑器 (FEATURES P4): bpmn-js Modeler plus a properties panel for exactly what our engine reads.
//
// - spiffworkflow extensions (formKey/post properties, variableName, serviceTaskOperator) are typed by our own
//   moddle descriptor (spiffworkflow-moddle.json), so bpmn-js keeps and edits them;
// - a multi-instance loopDataInputRef/loopDataOutputRef naming a plain task-data variable is not an element id,
//   so bpmn-moddle drops it on import ("unresolved reference"); it is restored as a detached reference whose
//   id is the variable name, which the XML writer prints back unchanged;
// - saving posts the XML with the hash the page was opened on: the server answers 201 (new version),
//   400 with every problem and its element id (shown beside the element), or 409 (someone deployed meanwhile).
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("modeler-config").textContent);
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const panel = document.getElementById("properties-panel");
  const messageBox = document.getElementById("modeler-message");
  const saveButton = document.getElementById("save-diagram");
  const LOOP_REFERENCES = ["bpmn:loopDataInputRef", "bpmn:loopDataOutputRef"];
  const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
  const VARIABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

  let modeler, moddle, modeling, registry, canvas, overlays;
  let baseHash = config.base_hash;
  let selected = null;
  let panelIsUpdating = false;
  let problemMarkers = [];

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach((child) => child && node.appendChild(child));
    return node;
  }

  function field(label, id, control, help) {
    control.id = id;
    control.classList.add(control.tagName === "SELECT" ? "form-select" : "form-control", "form-control-sm");
    return el("div", {class: "mb-2"}, [
      el("label", {class: "form-label mb-0 small", for: id, text: label}),
      control,
      help ? el("div", {class: "form-text", text: help}) : null,
    ]);
  }

  function input(value, onChange, attrs) {
    return el("input", Object.assign({value: value || "", onchange: (e) => onChange(e.target.value.trim(), e.target)}, attrs));
  }

  function textarea(value, onChange, rows) {
    const node = el("textarea", {rows: rows || 3, onchange: (e) => onChange(e.target.value, e.target)});
    node.value = value || "";
    return node;
  }

  function select(options, value, onChange, empty) {
    const node = el("select", {onchange: (e) => onChange(e.target.value)});
    if (empty !== undefined) node.appendChild(new Option(empty, ""));
    const known = options.some((o) => o.key === value);
    if (value && !known) node.appendChild(new Option(value + "（不存在）", value));
    options.forEach((o) => node.appendChild(new Option(o.title ? o.title + "（" + o.key + "）" : o.key, o.key)));
    node.value = value || "";
    return node;
  }

  function showMessage(kind, text, items) {
    messageBox.replaceChildren();
    if (!text) return;
    const box = el("div", {class: "alert alert-" + kind + " py-2", "data-testid": "modeler-" + kind, text: text});
    if (items && items.length) {
      box.appendChild(el("ul", {class: "mb-0"}, items.map((p) => el("li", {}, [
        p.element_id ? el("a", {href: "#", text: p.element_id, onclick: (e) => { e.preventDefault(); selectById(p.element_id); }}) : null,
        document.createTextNode((p.element_id ? "：" : "") + p.message),
      ]))));
    }
    messageBox.appendChild(box);
  }

  function selectById(id) {
    const element = registry.get(id);
    if (element) modeler.get("selection").select(element);
  }

  // ------------------------------------------------------------------ model helpers

  function update(element, properties) {
    panelIsUpdating = true;
    try { modeling.updateProperties(element, properties); } finally { panelIsUpdating = false; }
  }

  function updateModdle(element, target, properties) {
    panelIsUpdating = true;
    try { modeling.updateModdleProperties(element, target, properties); } finally { panelIsUpdating = false; }
  }

  function expression(body) {
    return body && body.trim() ? moddle.create("bpmn:FormalExpression", {body: body}) : undefined;
  }

  // A reference to a task-data variable: any object whose id is the name serializes as that name.
  function variableReference(name) {
    return name ? moddle.create("bpmn:Property", {id: name, name: name}) : undefined;
  }

  function extensionOf(element, type) {
    const ext = element.businessObject.extensionElements;
    return ext ? (ext.values || []).find((v) => v.$type === type) : undefined;
  }

  function ensureExtension(element, type, properties) {
    const found = extensionOf(element, type);
    if (found) return found;
    const bo = element.businessObject;
    let ext = bo.extensionElements;
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", {values: []});
      update(element, {extensionElements: ext});
    }
    const created = moddle.create(type, properties || {});
    created.$parent = ext;
    updateModdle(element, ext, {values: (ext.values || []).concat([created])});
    return created;
  }

  function removeExtension(element, item) {
    const ext = element.businessObject.extensionElements;
    if (ext && item) updateModdle(element, ext, {values: ext.values.filter((v) => v !== item)});
  }

  function taskProperty(element, name) {
    const props = extensionOf(element, "spiffworkflow:Properties");
    const prop = props && (props.properties || []).find((p) => p.name === name);
    return prop ? prop.value : "";
  }

  function setTaskProperty(element, name, value) {
    const props = ensureExtension(element, "spiffworkflow:Properties", {properties: []});
    const list = props.properties || [];
    const prop = list.find((p) => p.name === name);
    if (!value) {
      if (prop) updateModdle(element, props, {properties: list.filter((p) => p !== prop)});
    } else if (prop) {
      updateModdle(element, prop, {value: value});
    } else {
      const created = moddle.create("spiffworkflow:Property", {name: name, value: value});
      created.$parent = props;
      updateModdle(element, props, {properties: list.concat([created])});
    }
  }

  function setBodyExtension(element, type, value) {
    const found = extensionOf(element, type);
    if (!value) removeExtension(element, found);
    else if (found) updateModdle(element, found, {value: value});
    else ensureExtension(element, type, {value: value});
  }

  function is(bo, type) {
    return bo && bo.$instanceOf && bo.$instanceOf(type);
  }

  // ------------------------------------------------------------------ panel sections

  function generalSection(element) {
    const bo = element.businessObject;
    const isProcess = is(bo, "bpmn:Process") || is(bo, "bpmn:Collaboration");
    const nodes = [el("h6", {text: "基本信息"}), el("div", {class: "small text-secondary mb-2", text: "类型：" + bo.$type})];
    if (isProcess) {
      nodes.push(field("流程 id（不可修改）", "pp-id", input(bo.id, () => {}, {readonly: true})));
    } else {
      nodes.push(field("元素 id", "pp-id", input(bo.id, (value, node) => {
        if (value === bo.id) return;
        if (!ID_PATTERN.test(value)) { node.classList.add("is-invalid"); showMessage("warning", "id 只能由字母、数字和下划线组成，且不以数字开头"); return; }
        if (registry.get(value)) { node.classList.add("is-invalid"); showMessage("warning", "id " + value + " 已被其他元素使用"); return; }
        update(element, {id: value});
        showMessage("", "");
      }), "迁移按 id 对应任务：已有实例经过的元素请勿改 id"));
    }
    nodes.push(field("名称", "pp-name", input(bo.name, (value) => {
      panelIsUpdating = true;
      try {
        if (isProcess) modeling.updateProperties(element, {name: value || undefined});
        else modeling.updateLabel(element, value || undefined);
      } finally { panelIsUpdating = false; }
    })));
    return nodes;
  }

  function userTaskSection(element) {
    return [
      el("h6", {text: "用户任务"}),
      field("表单（formKey）", "pp-formKey", select(config.options.forms, taskProperty(element, "formKey"),
        (value) => setTaskProperty(element, "formKey", value), "请选择表单")),
      field("岗位（post）", "pp-post", select(config.options.posts, taskProperty(element, "post"),
        (value) => setTaskProperty(element, "post", value), "请选择岗位")),
      field("表单数据变量（variableName）", "pp-variableName", input(
        (extensionOf(element, "spiffworkflow:VariableName") || {}).value,
        (value) => setBodyExtension(element, "spiffworkflow:VariableName", value)),
        "留空则表单字段直接写入任务数据"),
    ];
  }

  function multiInstanceSection(element) {
    const bo = element.businessObject;
    const loop = is(bo.loopCharacteristics, "bpmn:MultiInstanceLoopCharacteristics") ? bo.loopCharacteristics : null;
    const mode = loop ? (loop.isSequential ? "sequential" : "parallel") : "";
    const nodes = [el("h6", {text: "多实例"}), field("方式", "pp-mi-mode", select(
      [{key: "sequential", title: "顺序"}, {key: "parallel", title: "并行"}], mode, (value) => {
        if (!value) update(element, {loopCharacteristics: undefined});
        else if (loop) updateModdle(element, loop, {isSequential: value === "sequential"});
        else update(element, {loopCharacteristics: moddle.create("bpmn:MultiInstanceLoopCharacteristics",
          {isSequential: value === "sequential"})});
        render();
      }, "不是多实例"))];
    if (!loop) return nodes;
    const variable = (property, label, help) => field(label, "pp-mi-" + property, input(
      loop[property] ? loop[property].id : "", (value, node) => {
        if (value && !VARIABLE_PATTERN.test(value)) { node.classList.add("is-invalid"); return; }
        node.classList.remove("is-invalid");
        updateModdle(element, loop, {[property]: variableReference(value)});
      }), help);
    const item = (property, label) => field(label, "pp-mi-" + property, input(
      loop[property] ? (loop[property].name || loop[property].id) : "", (value, node) => {
        if (value && !VARIABLE_PATTERN.test(value)) { node.classList.add("is-invalid"); return; }
        node.classList.remove("is-invalid");
        updateModdle(element, loop, {[property]: value ? moddle.create("bpmn:DataInput", {id: value, name: value}) : undefined});
      }));
    nodes.push(
      variable("loopDataInputRef", "输入集合（loopDataInputRef）", "任务数据中的列表变量名，每个元素一个实例"),
      item("inputDataItem", "输入元素（inputDataItem）"),
      variable("loopDataOutputRef", "输出集合（loopDataOutputRef）"),
      item("outputDataItem", "输出元素（outputDataItem）"),
      field("完成条件（completionCondition）", "pp-mi-completion", textarea(
        loop.completionCondition ? loop.completionCondition.body : "",
        (value) => updateModdle(element, loop, {completionCondition: expression(value)}), 2)),
    );
    return nodes;
  }

  function flowSection(element) {
    const bo = element.businessObject;
    const source = element.source;
    const nodes = [el("h6", {text: "连线"}), field("条件表达式", "pp-condition", textarea(
      bo.conditionExpression ? bo.conditionExpression.body : "",
      (value) => update(element, {conditionExpression: expression(value)}), 2),
      "Python 表达式，如 review_decision == \"pass\"")];
    if (source && (is(source.businessObject, "bpmn:ExclusiveGateway") || is(source.businessObject, "bpmn:InclusiveGateway"))) {
      const box = el("input", {type: "checkbox", class: "form-check-input", id: "pp-default",
        onchange: (e) => update(source, {default: e.target.checked ? bo : undefined})});
      box.checked = source.businessObject.default === bo;
      nodes.push(el("div", {class: "form-check mb-2"}, [box, el("label", {class: "form-check-label", for: "pp-default", text: "设为网关的默认流向"})]));
    }
    return nodes;
  }

  function gatewaySection(element) {
    const bo = element.businessObject;
    const outgoing = (bo.outgoing || []).map((f) => ({key: f.id, title: f.name || ""}));
    return [el("h6", {text: "网关"}), field("默认流向", "pp-gateway-default", select(outgoing,
      bo.default ? bo.default.id : "", (value) => update(element, {default: value ? registry.get(value).businessObject : undefined}),
      "无（无条件成立时流程会出错）"), "没有任何条件成立时走默认流向；拆分网关必须设置")];
  }

  function timerSection(element, timer) {
    const kinds = [{key: "timeDuration", title: "时长"}, {key: "timeDate", title: "日期时间"}, {key: "timeCycle", title: "周期"}];
    const current = kinds.find((k) => timer[k.key]) || kinds[0];
    const value = timer[current.key] ? timer[current.key].body : "";
    let chosen = current.key;
    const write = (kind, body) => updateModdle(element, timer, {timeDuration: undefined, timeDate: undefined,
      timeCycle: undefined, [kind]: expression(body)});
    const bodyInput = input(value, (body) => write(chosen, body));
    return [el("h6", {text: "定时器"}),
      field("类型", "pp-timer-kind", select(kinds, current.key, (kind) => { chosen = kind; write(kind, bodyInput.value); })),
      field("表达式", "pp-timer-value", bodyInput, "Python 表达式，如 \"P3D\"（3 天）或 \"2026-07-01T09:00:00+08:00\"")];
  }

  function serviceTaskSection(element) {
    const operator = extensionOf(element, "spiffworkflow:ServiceTaskOperator");
    const nodes = [el("h6", {text: "服务任务"}), field("函数（白名单）", "pp-service-function", select(
      config.options.functions, operator ? operator.id : "", (value) => {
        if (!value) { removeExtension(element, operator); render(); return; }
        if (operator) updateModdle(element, operator, {id: value});
        else ensureExtension(element, "spiffworkflow:ServiceTaskOperator", {id: value});
        render();
      }, "请选择函数"))];
    if (!operator) return nodes;
    nodes.push(field("结果变量", "pp-service-result", input(operator.resultVariable,
      (value) => updateModdle(element, operator, {resultVariable: value || undefined}))));
    const list = operator.parameterList ? operator.parameterList.parameters || [] : [];
    const rows = list.map((p, index) => el("div", {class: "input-group input-group-sm mb-1"}, [
      input(p.id, (value) => updateModdle(element, p, {id: value}), {class: "form-control", "aria-label": "参数名", placeholder: "参数名"}),
      input(p.type, (value) => updateModdle(element, p, {type: value}), {class: "form-control", "aria-label": "类型", placeholder: "类型"}),
      input(p.value, (value) => updateModdle(element, p, {value: value}), {class: "form-control", "aria-label": "值表达式", placeholder: "值表达式"}),
      el("button", {type: "button", class: "btn btn-outline-danger", text: "×", "aria-label": "删除参数", onclick: () => {
        updateModdle(element, operator.parameterList, {parameters: list.filter((_, i) => i !== index)}); render();
      }}),
    ]));
    nodes.push(el("div", {class: "small mb-1", text: "参数（名、类型、值表达式）"}), ...rows, el("button", {
      type: "button", class: "btn btn-sm btn-outline-secondary", text: "添加参数", onclick: () => {
        let parameters = operator.parameterList;
        if (!parameters) {
          parameters = moddle.create("spiffworkflow:Parameters", {parameters: []});
          updateModdle(element, operator, {parameterList: parameters});
        }
        const created = moddle.create("spiffworkflow:Parameter", {id: "param", type: "str", value: "\"\""});
        created.$parent = parameters;
        updateModdle(element, parameters, {parameters: (parameters.parameters || []).concat([created])});
        render();
      }}));
    return nodes;
  }

  function scriptSection(element) {
    return [el("h6", {text: "脚本任务"}), field("脚本（Python，仅可调用白名单函数）", "pp-script", textarea(
      element.businessObject.script, (value) => update(element, {script: value || undefined, scriptFormat: "python"}), 5))];
  }

  function callActivitySection(element) {
    const processes = config.options.processes.filter((p) => p !== config.process_id).map((p) => ({key: p}));
    return [el("h6", {text: "调用活动"}), field("调用的流程", "pp-called", select(processes,
      element.businessObject.calledElement, (value) => update(element, {calledElement: value || undefined}), "请选择流程"))];
  }

  function render() {
    if (!modeler) return;
    const element = selected && registry.get(selected.id) ? selected : canvas.getRootElement();
    const bo = element.businessObject;
    const sections = generalSection(element);
    if (is(bo, "bpmn:UserTask")) sections.push(...userTaskSection(element));
    if (is(bo, "bpmn:ServiceTask")) sections.push(...serviceTaskSection(element));
    if (is(bo, "bpmn:ScriptTask")) sections.push(...scriptSection(element));
    if (is(bo, "bpmn:CallActivity")) sections.push(...callActivitySection(element));
    if (is(bo, "bpmn:Activity")) sections.push(...multiInstanceSection(element));
    if (is(bo, "bpmn:SequenceFlow")) sections.push(...flowSection(element));
    if (is(bo, "bpmn:ExclusiveGateway") || is(bo, "bpmn:InclusiveGateway")) sections.push(...gatewaySection(element));
    const timer = (bo.eventDefinitions || []).find((d) => is(d, "bpmn:TimerEventDefinition"));
    if (timer) sections.push(...timerSection(element, timer));
    panel.replaceChildren(...sections);
    panel.dataset.elementId = bo.id;
  }

  // ------------------------------------------------------------------ problems beside their elements

  function clearProblems() {
    overlays.remove({type: "pa-problem"});
    problemMarkers.forEach((id) => registry.get(id) && canvas.removeMarker(id, "pa-problem"));
    problemMarkers = [];
  }

  function showProblems(problems) {
    const byElement = {};
    problems.forEach((p) => { if (p.element_id && registry.get(p.element_id)) (byElement[p.element_id] = byElement[p.element_id] || []).push(p.message); });
    Object.entries(byElement).forEach(([id, messages]) => {
      canvas.addMarker(id, "pa-problem");
      problemMarkers.push(id);
      messages.forEach((message, index) => overlays.add(id, "pa-problem", {
        position: {bottom: -4 - index * 20, left: 0},
        html: el("span", {class: "pa-problem-badge", title: message, "data-problem-for": id, text: message}),
      }));
    });
  }

  // ------------------------------------------------------------------ save

  async function save() {
    saveButton.disabled = true;
    clearProblems();
    showMessage("info", "正在校验……");
    try {
      const {xml} = await modeler.saveXML({format: true});
      const response = await fetch(config.deploy_url, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken},
        body: JSON.stringify({xml: xml, base_hash: baseHash}),
      });
      const data = await response.json().catch(() => ({error: "服务器返回了无法识别的响应（HTTP " + response.status + "）"}));
      if (response.status === 201) {
        baseHash = data.sha256;
        showMessage("success", data.message + "。新实例将按新版本运行，已运行的实例保持原版本。");
      } else if (response.status === 409) {
        showMessage("danger", data.error);
      } else {
        showMessage("danger", data.error || ("保存失败（HTTP " + response.status + "）"), data.problems || []);
        showProblems(data.problems || []);
      }
    } catch (err) {
      showMessage("danger", "保存失败：" + err.message);
    } finally {
      saveButton.disabled = false;
    }
  }

  // ------------------------------------------------------------------ start

  // fit-viewport fills the whole canvas, under the tool palette at its left: the start event hid beneath it.
  // Shrink and move the diagram so that it starts right of the palette.
  function clearOfPalette() {
    const container = document.getElementById("modeler-canvas");
    const palette = container.querySelector(".djs-palette");
    if (!palette) return;
    const margin = palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 16;
    let box = canvas.viewbox();
    const width = container.clientWidth;
    if (box.inner.width * box.scale > width - margin) {
      canvas.zoom(box.scale * (width - margin - 16) / (box.inner.width * box.scale), {x: width / 2, y: 0});
      box = canvas.viewbox();
    }
    const left = (box.inner.x - box.x) * box.scale;
    if (left < margin) canvas.scroll({dx: margin - left, dy: 0});
  }

  Promise.all([
    fetch(config.moddle_url, {credentials: "same-origin"}).then((r) => r.json()),
    fetch(config.xml_url, {credentials: "same-origin"}).then((r) => r.text()),
  ]).then(([descriptor, xml]) => {
    modeler = new window.BpmnJS({container: "#modeler-canvas", moddleExtensions: {spiffworkflow: descriptor}});
    return modeler.importXML(xml);
  }).then((result) => {
    moddle = modeler.get("moddle");
    modeling = modeler.get("modeling");
    registry = modeler.get("elementRegistry");
    canvas = modeler.get("canvas");
    overlays = modeler.get("overlays");
    (result.warnings || []).forEach((warning) => {
      if (warning.element && LOOP_REFERENCES.includes(warning.property) && warning.value) {
        warning.element.set(warning.property, variableReference(warning.value));
      }
    });
    canvas.zoom("fit-viewport");
    clearOfPalette();
    const eventBus = modeler.get("eventBus");
    eventBus.on("selection.changed", (event) => { selected = event.newSelection[0] || null; render(); });
    eventBus.on("elements.changed", (event) => {
      if (!panelIsUpdating && (!selected || event.elements.some((e) => e.id === selected.id))) render();
    });
    render();
    saveButton.disabled = false;
    saveButton.addEventListener("click", save);
    document.body.dataset.modelerReady = "1";
  }).catch((err) => {
    showMessage("danger", "流程图无法打开：" + err.message);
  });
})();
