// listener: dates in the reader's own time zone, and new mentions in the inbox without a reload.
// Served from this site (the Content-Security-Policy allows no inline or foreign script).
"use strict";

function localTimes(root) {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const el of root.querySelectorAll("time[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.title = el.textContent;
      el.textContent = format.format(when);
    }
  }
}

async function refreshQueue(live) {
  try {
    const response = await fetch(live.dataset.rowsUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!response.ok || response.redirected) return;
    // The server escapes every stranger's word in this fragment; parsing it inert first keeps it that way.
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.getElementById("queue");
    const current = document.getElementById("queue");
    if (fresh && current && fresh.dataset.newest !== current.dataset.newest) {
      localTimes(fresh);
      current.replaceWith(document.adoptNode(fresh));
    }
  } catch (e) {
    // offline for a moment: try again at the next turn
  }
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  const live = document.getElementById("live");
  if (live && !live.dataset.paused) {
    setInterval(() => refreshQueue(live), 10000);
  }
});
