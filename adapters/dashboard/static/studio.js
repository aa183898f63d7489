// The template studio: GrapesJS with its newsletter preset, saving through the dashboard (the
// server inlines the CSS and checks the template as the API does), the sample-data panel, the
// server-rendered previews and the test send. No inline script: the page's CSP allows none.
"use strict";

(() => {
  const root = document.getElementById("studio");
  if (!root || typeof grapesjs === "undefined") return;
  const initial = JSON.parse(document.getElementById("studio-data").textContent);
  const preset = window["grapesjs-preset-newsletter"];
  const statusLine = document.getElementById("studio-status");
  const csrf = document.body.dataset.csrf;

  const editor = grapesjs.init({
    container: "#gjs",
    height: "620px",
    storageManager: false,
    telemetry: false, // GrapesJS reports usage to its vendor by default; nothing leaves for them
    cssIcons: "", // the icon font would come from a CDN; the preset's buttons are SVG
    assetManager: { upload: false },
    components: initial.body,
    style: initial.css,
    plugins: [preset.default || preset],
    pluginsOpts: { [preset.default || preset]: { inlineCss: false } },
  });
  editor.on("load", () => {
    // What GrapesJS leaves out for screen readers and keyboards: a name for the canvas frame and
    // a way to scroll its side panel without a mouse.
    const frame = root.querySelector("iframe.gjs-frame");
    if (frame) frame.title = "The email being designed";
    const panel = root.querySelector(".gjs-pn-views-container");
    if (panel) {
      panel.tabIndex = 0;
      panel.setAttribute("role", "region");
      panel.setAttribute("aria-label", "Blocks, styles, settings and layers");
    }
    root.dataset.ready = "true";
  });
  let dirty = false;
  editor.on("update", () => { dirty = true; });
  for (const id of ["studio-name", "studio-subject", "studio-text"]) {
    document.getElementById(id).addEventListener("input", () => { dirty = true; });
  }
  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault();
  });

  function say(line, text, failed) {
    line.textContent = text;
    line.classList.toggle("error-text", Boolean(failed));
  }

  async function post(url, fields) {
    const answer = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    });
    let body = {};
    try { body = await answer.json(); } catch { body = { error: `The server answered ${answer.status}.` }; }
    return { ok: answer.ok, body };
  }

  function sample() {
    const data = {};
    for (const input of document.querySelectorAll("#studio-variables [data-variable]")) data[input.name] = input.value;
    return data;
  }

  function refreshPreviews() {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(sample())) if (value) query.set(`v.${name}`, value);
    const url = `${root.dataset.preview}?${query}`;
    for (const frame of document.querySelectorAll("iframe.preview")) frame.src = url;
  }

  function showVariables(names) {
    const box = document.getElementById("studio-variables");
    const filled = JSON.parse(box.dataset.campaign || "[]");
    const values = sample();
    box.textContent = "";
    for (const name of names) {
      const field = document.createElement("div");
      const label = document.createElement("label");
      const input = document.createElement("input");
      label.htmlFor = input.id = `var-${name}`;
      label.textContent = name;
      if (!filled.includes(name)) {
        const note = document.createElement("span");
        note.className = "help";
        note.textContent = " (not filled by campaigns)";
        label.append(note);
      }
      input.name = name;
      input.dataset.variable = "";
      input.value = values[name] || "";
      field.append(label, input);
      box.append(field);
    }
    document.getElementById("no-variables").hidden = names.length > 0;
  }

  async function save() {
    say(statusLine, "Saving…");
    const { ok, body } = await post(root.dataset.save, {
      name: document.getElementById("studio-name").value,
      subject: document.getElementById("studio-subject").value,
      html: editor.getHtml(),
      css: editor.getCss(),
      text: document.getElementById("studio-text").value,
    });
    if (!ok) {
      say(statusLine, `Not saved: ${body.error}`, true);
      return;
    }
    dirty = false;
    say(statusLine, `Saved as version ${body.version}.`);
    document.getElementById("studio-versions").innerHTML = body.versions_html;
    showVariables(body.variables);
    refreshPreviews();
  }

  document.getElementById("studio-save").addEventListener("click", save);
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      save();
    }
  });
  document.getElementById("studio-sample").addEventListener("submit", (event) => {
    event.preventDefault();
    refreshPreviews();
  });
  document.getElementById("studio-test").addEventListener("submit", async (event) => {
    event.preventDefault();
    const line = document.getElementById("test-status");
    const form = event.target;
    say(line, "Sending…");
    const { ok, body } = await post(root.dataset.test, {
      to: form.elements.to.value,
      from: form.elements.from.value,
      data: JSON.stringify(sample()),
    });
    if (!ok) {
      say(line, `Not sent: ${body.error}`, true);
      return;
    }
    line.textContent = "Test queued: ";
    const link = document.createElement("a");
    link.href = body.url;
    link.textContent = `see ${body.id} in the email log`;
    line.append(link);
    line.classList.remove("error-text");
  });
})();
