// The operator page's live part: fetch it, rendered by the server, every few seconds and
// put it in place, so the figures and charts update without reloading the page.
"use strict";

(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const status = document.getElementById("live-status");
  const POLL_MS = 5000;

  async function refresh() {
    try {
      const response = await fetch(live.dataset.liveUrl, { headers: { Accept: "text/html" } });
      if (response.status === 401 || response.status === 403) {
        status.textContent = "signed out: reload the page to sign in";
        return;  // no more polling
      }
      if (response.ok) {
        live.innerHTML = await response.text();  // rendered by the server, escaped there
        live.dataset.updatedAt = String(Date.now());
        status.textContent = "live: updated " + new Date().toLocaleTimeString();
      } else {
        status.textContent = "live: the server answered " + response.status + "; trying again";
      }
    } catch (e) {
      status.textContent = "live: cannot reach the server; trying again";
    }
    setTimeout(refresh, POLL_MS);
  }
  setTimeout(refresh, POLL_MS);
})();
