// The dashboard's only script: a confirmation before destructive forms, and the live event feed.
// Every page works without it except the live feed (reload /events instead).
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;  // text, never markup: ids and values come from users
  row.appendChild(td);
  return td;
}

function startFeed() {
  const state = document.getElementById("feed-state");
  const body = document.querySelector("#feed tbody");
  if (!state || !body || !state.dataset.stream) return;
  const source = new EventSource(state.dataset.stream);
  source.addEventListener("change", (message) => {
    const e = JSON.parse(message.data);
    const row = document.createElement("tr");
    row.className = "fresh";
    cell(row, e.kind); cell(row, e.id); cell(row, e.op);
    cell(row, e.version === null || e.version === undefined ? "" : String(e.version)).className = "num";
    const details = Object.keys(e).filter((k) => !["kind", "id", "op", "version", "at"].includes(k))
      .map((k) => k + "=" + e[k]).join(" ");
    cell(row, details);
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
  });
  source.addEventListener("gap", (message) => {
    const g = JSON.parse(message.data);
    const row = document.createElement("tr");
    const td = cell(row, "events may be missing here (" + g.gap + (g.missed ? ", " + g.missed + " lost" : "") + ")");
    td.colSpan = 5; td.className = "err";
    body.insertBefore(row, body.firstChild);
  });
  source.onopen = () => { state.dataset.live = "1"; };
}

document.addEventListener("DOMContentLoaded", startFeed);
