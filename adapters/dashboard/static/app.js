// The dashboard's few behaviours, without inline script (the pages' CSP allows none):
// copy buttons, confirmations, selects that submit, htmx's CSRF header, and the overview chart.
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  const text = source ? source.textContent.trim() : "";
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
});

document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});

// A route's form shows the fields of the action chosen (all of them without script).
function showActionFields(form) {
  const action = form.querySelector("select[name=action]").value;
  for (const part of form.querySelectorAll("[data-for-action]")) {
    part.hidden = part.dataset.forAction !== action;
  }
}
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-route-form]");
  if (form && event.target.name === "action") showActionFields(form);
});
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-route-form]")) showActionFields(form);
});

document.addEventListener("htmx:configRequest", (event) => {
  const token = document.body.dataset.csrf;
  if (token) event.detail.headers["X-CSRF-Token"] = token;
});

function drawChart() {
  const box = document.getElementById("chart");
  if (!box || typeof uPlot === "undefined") return;
  const data = JSON.parse(box.dataset.chart);
  // The stylesheet's colours, so the chart follows the light or dark palette as the page does.
  const style = getComputedStyle(document.documentElement);
  const colour = (name) => style.getPropertyValue(name).trim();
  const ink = colour("--muted"), grid = colour("--line");
  const axis = { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid } };
  const times = data.times || data.days.map((day) => Date.parse(day + "T00:00:00Z") / 1000);
  const names = Object.keys(data.series);
  const options = {
    width: box.clientWidth,
    height: 300,
    scales: { x: { time: true } },
    series: [{}, ...names.map((name) => ({ label: name, stroke: colour(`--c-${name}`) || ink, width: 2 }))],
    axes: [axis, { ...axis, size: 50 }],
    // A page that writes its own legend (with totals) does not get uPlot's second one.
    legend: { show: box.dataset.ownLegend === undefined },
  };
  if (box.plot) box.plot.destroy();
  box.textContent = "";
  box.plot = new uPlot(options, [times, ...names.map((name) => data.series[name])], box);
}

document.addEventListener("DOMContentLoaded", drawChart);
window.addEventListener("resize", () => {
  const box = document.getElementById("chart");
  if (box && box.plot) box.plot.setSize({ width: box.clientWidth, height: 300 });
});
// Switching the system between light and dark redraws the chart in the other palette.
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", drawChart);
