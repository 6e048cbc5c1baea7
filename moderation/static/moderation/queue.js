// The moderation queue: keyboard shortcuts (a = approve, r = focus the reject reason, Enter rejects, s = skip), and
// approve/reject without reloading the page: the form is posted with fetch() to its data-fetch-action, which answers
// with the outcome and the next proof's section (already claimed for this moderator); the section is swapped in, the
// decided proof's row leaves the table and the address bar follows (history.replaceState), so a reload shows the
// proof on screen. Without this script, or when the answer is not JSON, the forms post as plain forms.
(function () {
  const typing = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const submit = (id) => {
      const form = document.getElementById(id);
      if (form) { event.preventDefault(); form.requestSubmit(); }
    };
    if (event.key === "a") submit("approve-form");
    else if (event.key === "s") submit("skip-form");
    else if (event.key === "r") {
      const reason = document.getElementById("reject-reason");
      if (reason) { event.preventDefault(); reason.focus(); }
    }
  });
  const all = document.getElementById("select-all");
  if (all) all.addEventListener("change", () => {
    document.querySelectorAll('input[name="proofs"]').forEach((box) => { box.checked = all.checked; });
  });

  const slot = document.getElementById("current-slot");
  const notice = document.getElementById("mod-message");
  let busy = false;

  const show = (text, ok) => {
    if (!notice) return;
    notice.textContent = text;
    notice.className = "mod-message " + (ok ? "mod-message-ok" : "mod-message-error");
    notice.hidden = !text;
  };
  const bump = (testid, by) => {
    const el = document.querySelector(`[data-testid="${testid}"]`);
    const value = el ? parseInt(el.textContent, 10) : NaN;
    if (!Number.isNaN(value)) el.textContent = String(Math.max(0, value + by));
  };

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!slot || !form.dataset || !form.dataset.fetchAction) return;
    event.preventDefault();
    if (busy) return;
    busy = true;
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => { button.disabled = true; });
    try {
      const body = new FormData(form);
      const response = await fetch(form.dataset.fetchAction + window.location.search, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": body.get("csrfmiddlewaretoken") || "" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (!type.includes("application/json")) {
        show(response.status === 403
          ? "You are not allowed to do this, or the page is too old: reload it."
          : `The server answered ${response.status}; nothing was changed here. Reload the page.`, false);
        return;
      }
      const answer = await response.json();
      show(answer.message, answer.ok);
      if (answer.decided) {
        const row = document.querySelector(`tr[data-proof="${answer.decided}"]`);
        if (row) row.remove();
      }
      if (answer.changed) {
        bump("pending-count", -1);
        bump("done-today", 1);
        bump("done-by-me", 1);
      }
      if (typeof answer.html === "string") {
        slot.innerHTML = answer.html;
        if (answer.url) window.history.replaceState(null, "", answer.url);
      }
    } catch (error) {
      show("The network failed; nothing was changed here. Try again.", false);
    } finally {
      busy = false;
      buttons.forEach((button) => { if (button.isConnected) button.disabled = false; });
    }
  });
})();
