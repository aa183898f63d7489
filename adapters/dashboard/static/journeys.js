// The journey builder: the trigger, the entry rule and the goal, then the steps as a vertical
// list, each branch a list of its own under its step. Everything is written into the journey's
// JSON (the textarea under "Edit as JSON", which is what the form posts); editing the JSON by hand
// redraws the lists. Each step shows its figures for the current version.
"use strict";

(() => {
  const form = document.getElementById("journey-builder");
  if (!form) return;
  const data = JSON.parse(document.getElementById("journey-data").textContent);
  const json = document.getElementById("journey-definition");
  const start = document.getElementById("journey-start");
  const stepsRoot = document.getElementById("journey-steps");
  const KINDS = [
    ["send", "Send an email"],
    ["wait", "Wait"],
    ["wait_until", "Wait until a time of day"],
    ["wait_for_event", "Wait for an event"],
    ["condition", "If the contact matches"],
    ["set_property", "Set a property"],
    ["add_to_list", "Add to a list"],
    ["remove_from_list", "Remove from a list"],
    ["set_topic", "Subscribe to or leave a topic"],
    ["webhook", "Call a webhook"],
    ["exit", "Leave the journey"],
  ];
  const LABEL = Object.fromEntries(KINDS);
  const BRANCHES = {
    wait_for_event: [["received", "If it happens"], ["timedOut", "If it does not happen in time"]],
    condition: [["yes", "If it matches"], ["no", "If it does not"]],
  };
  let model;
  let counter = 0;

  function el(tag, attributes = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  // A labelled control whose changes are written into `target[key]` (numbers as numbers).
  function field(text, control, target, key, { number = false, blank = undefined } = {}) {
    const id = `j-${++counter}`;
    control.id = id;
    const current = target[key];
    if (current !== undefined && current !== null) control.value = typeof current === "object" ? JSON.stringify(current) : String(current);
    control.addEventListener("change", () => {
      let value = control.value;
      if (number) value = value === "" ? undefined : Number(value);
      if (value === "" && blank !== undefined) value = blank;
      if (value === undefined || value === "") delete target[key];
      else target[key] = value;
      save();
    });
    return el("div", { class: "j-field" }, [el("label", { for: id, text }), control]);
  }

  function select(options, empty) {
    const box = el("select");
    if (empty) box.append(el("option", { value: "", text: empty }));
    for (const [value, text] of options) box.append(el("option", { value, text }));
    return box;
  }

  const named = (items) => items.map((i) => [i.id, i.name]);
  const number = (min) => el("input", { type: "number", min: String(min), step: "1", inputmode: "numeric" });

  function duration(step, legend) {
    const set = el("fieldset", { class: "j-duration" }, [el("legend", { text: legend })]);
    for (const unit of ["days", "hours", "minutes"]) set.append(field(unit, number(0), step, unit, { number: true }));
    return set;
  }

  function fieldsOf(step) {
    switch (step.type) {
      case "wait":
        return [duration(step, "For")];
      case "wait_until":
        return [
          field("Time of day", el("input", { type: "time", required: "" }), step, "time"),
          field("Time zone property (optional)", select(data.properties.filter((p) => p.type === "text").map((p) => [p.key, p.key]), "none"), step, "timezoneProperty"),
          field("Otherwise, time zone", el("input", { type: "text", placeholder: "UTC" }), step, "timezone"),
        ];
      case "wait_for_event":
        return [field("Event", el("input", { type: "text", required: "", placeholder: "activated" }), step, "event"), duration(step, "At most")];
      case "condition": {
        const box = el("textarea", { rows: "2", spellcheck: "false", placeholder: '{"property": "plan", "op": "eq", "value": "pro"}' });
        const wrap = field("Segment filter (JSON)", box, {}, "x");
        box.value = JSON.stringify(step.filter || {});
        box.addEventListener("change", () => {
          try {
            step.filter = JSON.parse(box.value);
            box.removeAttribute("aria-invalid");
          } catch {
            box.setAttribute("aria-invalid", "true");
            return;
          }
          save();
        });
        return [wrap];
      }
      case "send":
        return [
          field("Template", select(named(data.templates), "Choose a template"), step, "templateId"),
          field("From", el("input", { type: "text", placeholder: "Acme <hello@acme.com>" }), step, "from"),
        ];
      case "set_property":
        return [
          field("Property", select(data.properties.map((p) => [p.key, p.key]), "Choose a property"), step, "property"),
          field("Value", el("input", { type: "text" }), step, "value", { blank: null }),
        ];
      case "add_to_list":
      case "remove_from_list":
        return [field("List", select(named(data.lists), "Choose a list"), step, "listId")];
      case "set_topic": {
        const choice = select([["true", "Subscribe"], ["false", "Unsubscribe"]]);
        const wrap = field("Choice", choice, {}, "x");
        choice.value = step.subscribed === false ? "false" : "true";
        choice.addEventListener("change", () => { step.subscribed = choice.value === "true"; save(); });
        return [field("Topic", select(named(data.topics), "Choose a topic"), step, "topicId"), wrap];
      }
      case "webhook":
        return [field("Endpoint", select(named(data.webhooks), "Choose an endpoint"), step, "webhookId")];
      default:
        return [];
    }
  }

  function figures(step) {
    const found = data.stats[step.id];
    if (!found) return null;
    const parts = [`${found.passed.toLocaleString()} passed`];
    if (found.waiting) parts.push(`${found.waiting.toLocaleString()} here now`);
    if (found.exited) parts.push(`${found.exited.toLocaleString()} left here`);
    if (step.type === "send") parts.push(`${found.sent.toLocaleString()} sent`, `${found.opened.toLocaleString()} opened`, `${found.clicked.toLocaleString()} clicked`);
    return el("span", { class: "j-figures", text: parts.join(" · ") });
  }

  function move(list, index, by) {
    const [step] = list.splice(index, 1);
    list.splice(index + by, 0, step);
    save(true);
  }

  function stepItem(list, index) {
    const step = list[index];
    const title = `${LABEL[step.type] || step.type} (${step.id || "new"})`;
    const head = el("div", { class: "j-head" }, [el("strong", { text: LABEL[step.type] || step.type }), el("code", { text: step.id || "new" })]);
    const stats = figures(step);
    if (stats) head.append(stats);
    const tools = el("div", { class: "j-tools" });
    const button = (text, label, act, disabled) => {
      const b = el("button", { type: "button", class: "small", "aria-label": `${label} ${title}`, text });
      if (disabled) b.disabled = true;
      b.addEventListener("click", act);
      tools.append(b);
    };
    button("↑", "Move up", () => move(list, index, -1), index === 0);
    button("↓", "Move down", () => move(list, index, 1), index === list.length - 1);
    button("Remove", "Remove", () => { list.splice(index, 1); save(true); });
    head.append(tools);
    const item = el("li", { class: `j-step j-${step.type}` }, [head, el("div", { class: "j-fields" }, fieldsOf(step))]);
    for (const [name, text] of BRANCHES[step.type] || []) {
      step[name] = step[name] || [];
      item.append(el("div", { class: "j-branch" }, [el("p", { class: "j-branch-title", text }), steps(step[name], `${title}: ${text}`)]));
    }
    return item;
  }

  // The next unused "s<n>": a step gets its id when it is added, so its label and figures are stable.
  function freeId() {
    const taken = new Set();
    const walk = (list) => list.forEach((s) => {
      taken.add(s.id);
      for (const [name] of BRANCHES[s.type] || []) walk(s[name] || []);
    });
    walk(model.steps);
    let n = 1;
    while (taken.has(`s${n}`)) n += 1;
    return `s${n}`;
  }

  function steps(list, where) {
    const wrap = el("div");
    const items = el("ol", { class: "j-steps" });
    list.forEach((_, index) => items.append(stepItem(list, index)));
    if (!list.length) items.append(el("li", { class: "j-empty help", text: "No steps: goes on after." }));
    const kind = select(KINDS);
    const add = el("button", { type: "button", class: "small", "aria-label": `Add a step to ${where}`, text: "Add" });
    add.addEventListener("click", () => {
      const step = { id: freeId(), type: kind.value };
      if (step.type === "wait") step.hours = 1;
      if (step.type === "wait_for_event") Object.assign(step, { event: "", days: 1 });
      if (step.type === "wait_until") Object.assign(step, { time: "09:00", timezone: "UTC" });
      if (step.type === "condition") step.filter = {};
      if (step.type === "set_topic") step.subscribed = true;
      if (step.type === "set_property") step.value = "";
      list.push(step);
      save(true);
    });
    const id = `j-${++counter}`;
    kind.id = id;
    wrap.append(items, el("div", { class: "row j-add" }, [el("label", { for: id, class: "sr-only", text: `Kind of step to add to ${where}` }), kind, add]));
    return wrap;
  }

  function drawStart() {
    start.replaceChildren();
    const trigger = model.trigger;
    const kind = select([["event", "An event your app records"], ["list", "A contact joins a list"], ["segment", "A person comes to match a segment"], ["date", "A date property comes round"], ["api", "An API call"]]);
    const picker = field("Starts when", kind, trigger, "type");
    kind.addEventListener("change", () => { model.trigger = { type: kind.value, ...(kind.value === "date" ? { offsetDays: 0 } : {}) }; save(true); });
    start.append(picker);
    if (trigger.type === "event") start.append(field("Event name", el("input", { type: "text", required: "", placeholder: "signed_up" }), trigger, "event"));
    if (trigger.type === "list") start.append(field("List", select(named(data.lists), "Choose a list"), trigger, "listId"));
    if (trigger.type === "segment") start.append(field("Segment", select(named(data.segments), "Choose a segment"), trigger, "segmentId"));
    if (trigger.type === "date") {
      start.append(field("Date property", select(data.properties.filter((p) => p.type === "date").map((p) => [p.key, p.key]), "Choose a date property"), trigger, "property"));
      start.append(field("Days after the date (before: negative)", el("input", { type: "number", min: "-365", max: "365", step: "1" }), trigger, "offsetDays", { number: true }));
    }
    model.entry = model.entry || { rule: "once" };
    const rule = select([["once", "Once ever"], ["once_per", "At most once in some days"], ["every_time", "Every time"]]);
    start.append(field("A contact enters", rule, model.entry, "rule"));
    rule.addEventListener("change", () => { if (rule.value === "once_per") model.entry.days = model.entry.days || 30; else delete model.entry.days; save(true); });
    if (model.entry.rule === "once_per") start.append(field("Days", number(1), model.entry, "days", { number: true }));
    const goal = model.goal || {};
    const box = el("input", { type: "text", placeholder: "upgraded" });
    const wrap = field("Goal: an event that ends the journey early (optional)", box, goal, "event");
    box.addEventListener("change", () => { model.goal = box.value ? { event: box.value } : null; save(); });
    start.append(wrap);
  }

  function draw() {
    counter = 0;
    drawStart();
    stepsRoot.replaceChildren(steps(model.steps, "the journey"));
  }

  function save(redraw = false) {
    json.value = JSON.stringify(model, null, 2);
    if (redraw) draw();
  }

  function load() {
    try {
      model = JSON.parse(json.value);
    } catch {
      return false;
    }
    if (!model || typeof model !== "object" || !Array.isArray(model.steps) || !model.trigger) return false;
    draw();
    return true;
  }

  json.addEventListener("change", load);
  load();
})();
