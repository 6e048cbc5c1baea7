// Keyboard shortcuts for the moderation queue: a = approve, r = focus the reject reason (Enter rejects), s = skip.
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
})();
