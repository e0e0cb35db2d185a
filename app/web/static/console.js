// The agent console's live part: poll the agent's state, show the caller being put through
// (the server renders the screen pop; this only places it), and send state changes.
"use strict";

(function () {
  const panel = document.getElementById("state-panel");
  if (!panel) return;
  const stateUrl = panel.dataset.stateUrl;
  const changeUrl = panel.dataset.changeUrl;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const stateEl = document.getElementById("state");
  const noteEl = document.getElementById("state-note");
  const callEl = document.getElementById("call");
  const POLL_MS = 2000;
  const KEPT_FIELDS = "[name=notes], [name=disposition]";  // the wrap-up's, as entered
  let shown = "";  // "<call sid> <state>" whose screen pop is on the page

  function showState(status) {
    stateEl.textContent = status.state.replace("_", " ");
    stateEl.dataset.state = status.state;
    noteEl.textContent = status.state === "wrap_up" ? "(save the wrap-up to take the next call)" : "";
    // Only an agent between calls can change; the server refuses otherwise anyway.
    const busy = ["offered", "on_call", "wrap_up"].includes(status.state);
    document.querySelectorAll(".state-change button").forEach(function (button) {
      button.disabled = busy || button.value === status.state;
    });
  }

  async function showCall(status) {
    const key = status.call_url ? status.call_sid + " " + status.state : "";
    if (key === shown) return;
    if (!status.call_url) {
      shown = key;
      if (status.state !== "wrap_up") callEl.innerHTML = '<p class="idle">No caller right now.</p>';
      return;
    }
    // What the agent already entered in the wrap-up survives a new rendering of it.
    const entered = {};
    callEl.querySelectorAll(KEPT_FIELDS).forEach(function (field) {
      if (field.value) entered[field.name] = field.value;
    });
    const response = await fetch(status.call_url + "?part=1", { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    callEl.innerHTML = await response.text();  // rendered by the server, escaped there
    callEl.querySelectorAll(KEPT_FIELDS).forEach(function (field) {
      if (entered[field.name]) field.value = entered[field.name];
    });
    shown = key;
  }

  async function poll() {
    try {
      const response = await fetch(stateUrl, { headers: { Accept: "application/json" } });
      if (response.status === 401) {
        window.location = (await response.json()).sign_in;
        return;
      }
      if (response.ok) {
        const status = await response.json();
        showState(status);
        await showCall(status);
      }
    } catch (error) {
      noteEl.textContent = "(connection lost, retrying)";
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.querySelectorAll(".state-change button").forEach(function (button) {
    button.addEventListener("click", async function (event) {
      event.preventDefault();
      const body = new URLSearchParams({ state: button.value });
      const response = await fetch(changeUrl, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
        body: body,
      });
      const status = await response.json();
      if (status.state) showState(status);
      if (!response.ok && status.error) noteEl.textContent = "(" + status.error + ")";
    });
  });

  poll();
})();
