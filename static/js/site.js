// The public site's only script: the phone-size menu button. Without it the menu simply stays open.
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
