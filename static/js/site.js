// The public site's only script, in a file so the Content-Security-Policy needs no inline script.

// The phone-size menu button. Without it the menu simply stays open.
document.addEventListener("DOMContentLoaded", function () {
  var header = document.querySelector("[data-menu]");
  var button = header && header.querySelector(".menu-toggle");
  if (!button) return;
  header.classList.add("menu-ready");
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = header.classList.toggle("menu-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});

// Small progressive enhancements: filters that submit on change, referral links selected on click.
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("click", function (event) {
  if (event.target.matches("[data-select-on-click]")) event.target.select();
});
