// Small progressive enhancements of the public site, in a file so the Content-Security-Policy needs no inline script.
document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("click", function (event) {
    if (event.target.matches("[data-select-on-click]")) event.target.select();
});
