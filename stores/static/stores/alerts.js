// Live staff alerts in every Wagtail admin page: listens to the server-sent event stream and shows each
// new alert as a small notice (and bumps the unread counter in the Alerts menu item, if shown).
(function () {
  "use strict";
  if (!window.EventSource) return;
  var url = document.currentScript && document.currentScript.dataset.streamUrl;
  if (!url) return;
  var source = new EventSource(url);
  var box = null;
  function container() {
    if (!box) {
      box = document.createElement("div");
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.className = "stores-live-alerts";
      document.body.appendChild(box);
    }
    return box;
  }
  source.addEventListener("alert", function (event) {
    var alert = JSON.parse(event.data);
    var notice = document.createElement(alert.url ? "a" : "div");
    notice.className = "stores-live-alert";
    notice.dataset.kind = alert.kind;
    if (alert.url) notice.href = alert.url;
    notice.textContent = alert.subject;
    container().appendChild(notice);
    setTimeout(function () { notice.remove(); }, 15000);
  });
})();
