// The segment builder: rows of conditions, all or any of them, written into the filter's JSON
// (the textarea under "Edit as JSON", which is what the form posts). Editing the JSON by hand shows
// the rows again when the tree is flat enough for them; the count and sample follow either way
// (htmx posts the JSON on the "segment-changed" event).
"use strict";

(() => {
  const root = document.getElementById("segment-builder");
  if (!root) return;
  const data = JSON.parse(document.getElementById("segment-data").textContent);
  const json = document.getElementById("segment-filter");
  const rows = document.getElementById("segment-rows");
  const joiner = document.getElementById("segment-joiner");
  const note = document.getElementById("segment-json-note");
  const FIELDS = { email: "text", name: "text", company: "text", status: "status", created_at: "date" };
  const OPS = {
    text: [["eq", "is"], ["ne", "is not"], ["contains", "contains"], ["starts_with", "starts with"], ["exists", "is set"], ["missing", "is not set"]],
    number: [["eq", "="], ["ne", "≠"], ["gt", ">"], ["gte", "≥"], ["lt", "<"], ["lte", "≤"], ["exists", "is set"], ["missing", "is not set"]],
    date: [["eq", "on"], ["gt", "after"], ["gte", "on or after"], ["lt", "before"], ["lte", "on or before"], ["exists", "is set"], ["missing", "is not set"]],
    boolean: [["eq", "is"], ["ne", "is not"], ["exists", "is set"], ["missing", "is not set"]],
    status: [["eq", "is"], ["ne", "is not"]],
  };
  const DID = ["opened", "clicked", "replied", "sent", "delivered", "bounced", "complained", "unsubscribed"];
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

  function labelled(text, control) {
    const id = `seg-${++counter}`;
    control.id = id;
    return el("span", { class: "seg-part" }, [el("label", { for: id, class: "sr-only", text }), control]);
  }

  function select(options, value) {
    const box = el("select");
    for (const [key, text] of options) box.append(el("option", { value: key, text }));
    if (value !== undefined && value !== null) box.value = String(value);
    return box;
  }

  function kindOf(leaf) {
    if ("field" in leaf) return FIELDS[leaf.field] ? `field:${leaf.field}` : null;
    if ("property" in leaf) return `property:${leaf.property}`;
    for (const kind of ["list", "topic", "event", "campaign"]) if (kind in leaf) return kind;
    return null;
  }

  function typeOf(kind) {
    if (kind.startsWith("field:")) return FIELDS[kind.slice(6)];
    const found = data.properties.find((p) => `property:${p.key}` === kind);
    return found ? found.type : "text";
  }

  function valueInput(type, value) {
    if (type === "boolean") return select([["true", "true"], ["false", "false"]], value === false ? "false" : "true");
    if (type === "status") return select(data.statuses.map((s) => [s, s]), value || "subscribed");
    const input = el("input", { type: type === "number" ? "number" : type === "date" ? "date" : "text" });
    if (type === "number") input.step = "any";
    if (value !== undefined && value !== null) input.value = String(value);
    return input;
  }

  function addRow(leaf = { field: "email", op: "contains", value: "" }, negated = false) {
    const row = el("li", { class: "seg-row" });
    const what = [
      ...Object.keys(FIELDS).map((f) => [`field:${f}`, f.replace("_", " ")]),
      ...data.properties.map((p) => [`property:${p.key}`, `${p.key} (property)`]),
      ["list", "in the list"],
      ...(data.topics.length ? [["topic", "gets the topic"]] : []),
      ["event", "did the event"],
      ["campaign", "with the campaign"],
    ];
    const kind = kindOf(leaf) || "field:email";
    const kindBox = labelled("Condition", select(what, kind));
    const negate = labelled("If or unless", select([["", "if"], ["not", "unless"]], negated ? "not" : ""));
    const detail = el("span", { class: "seg-detail" });
    const remove = el("button", { type: "button", class: "link danger", text: "Remove" });
    remove.setAttribute("aria-label", "Remove this condition");
    row.append(negate, kindBox, detail, remove);
    rows.append(row);
    fill(row, kind, leaf);
    kindBox.querySelector("select").addEventListener("change", (event) => {
      fill(row, event.target.value, {});
      changed();
    });
    remove.addEventListener("click", () => {
      row.remove();
      changed();
    });
  }

  function fill(row, kind, leaf) {
    const detail = row.querySelector(".seg-detail");
    detail.replaceChildren();
    row.dataset.kind = kind;
    if (kind === "list") {
      detail.append(labelled("List", select(data.lists.map((l) => [l.id, l.name]), leaf.list)));
    } else if (kind === "topic") {
      detail.append(labelled("Topic", select(data.topics.map((t) => [t.id, t.name]), leaf.topic)));
    } else if (kind === "event") {
      const name = el("input", { type: "text", placeholder: "signed_up", value: leaf.event || "" });
      const times = el("input", { type: "number", min: "1", value: String(leaf.atLeast || 1) });
      const days = el("input", { type: "number", min: "1", max: "3650", value: String(leaf.days || 30) });
      detail.append(labelled("Event name", name), " at least ", labelled("Times", times), " times in the last ",
        labelled("Days", days), " days");
    } else if (kind === "campaign") {
      detail.append(labelled("Campaign", select(data.campaigns.map((c) => [c.id, c.name]), leaf.campaign)),
        labelled("Did", select(DID.map((d) => [d, d]), leaf.did || "opened")));
    } else {
      const type = typeOf(kind);
      const op = labelled("Operator", select(OPS[type], leaf.op || OPS[type][0][0]));
      const value = labelled("Value", valueInput(type, leaf.value));
      detail.append(op, value);
      const sync = () => { value.hidden = ["exists", "missing"].includes(op.querySelector("select").value); };
      op.querySelector("select").addEventListener("change", sync);
      sync();
    }
  }

  function leafOf(row) {
    const kind = row.dataset.kind;
    const parts = [...row.querySelectorAll(".seg-detail select, .seg-detail input")];
    if (kind === "list") return { list: parts[0].value };
    if (kind === "topic") return { topic: parts[0].value };
    if (kind === "event") return { event: parts[0].value.trim(), atLeast: Number(parts[1].value), days: Number(parts[2].value) };
    if (kind === "campaign") return { campaign: parts[0].value, did: parts[1].value };
    const [scope, name] = kind.split(/:(.*)/s);
    const type = typeOf(kind);
    const leaf = { [scope]: name, op: parts[0].value };
    if (!["exists", "missing"].includes(leaf.op)) {
      const raw = parts[1].value;
      leaf.value = type === "number" ? (raw === "" ? raw : Number(raw)) : type === "boolean" ? raw === "true" : raw;
    }
    return leaf;
  }

  function changed() {
    const leaves = [...rows.children].map((row) => {
      const leaf = leafOf(row);
      return row.querySelector(".seg-part select").value === "not" ? { not: leaf } : leaf;
    });
    json.value = leaves.length ? JSON.stringify({ [joiner.value]: leaves }, null, 2) : "";
    note.hidden = true;
    document.body.dispatchEvent(new Event("segment-changed"));
  }

  function show(tree) {
    rows.replaceChildren();
    if (!tree) return true;
    const top = tree.and ? "and" : tree.or ? "or" : null;
    const leaves = top ? tree[top] : [tree];
    const flat = Array.isArray(leaves) && leaves.every((leaf) => {
      const inner = leaf && leaf.not ? leaf.not : leaf;
      return inner && typeof inner === "object" && !inner.and && !inner.or && !inner.not && kindOf(inner);
    });
    if (!flat) return false;
    joiner.value = top || "and";
    for (const leaf of leaves) addRow(leaf.not || leaf, Boolean(leaf.not));
    return true;
  }

  document.getElementById("segment-add").addEventListener("click", () => {
    addRow();
    changed();
  });
  rows.addEventListener("change", changed);
  rows.addEventListener("input", changed);
  joiner.addEventListener("change", changed);
  json.addEventListener("input", () => {
    let tree = null;
    try {
      tree = json.value.trim() ? JSON.parse(json.value) : null;
    } catch {
      tree = undefined;
    }
    note.hidden = tree !== undefined && show(tree);
    document.body.dispatchEvent(new Event("segment-changed"));
  });
  const first = json.value.trim() ? JSON.parse(json.value) : null;
  note.hidden = show(first);
  if (!first) addRow();
  if (!first) changed();
})();
