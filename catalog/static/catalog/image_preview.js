// Image inputs in the catalog admin preview the chosen file before upload (a file, not an inline script: CSP).
(function () {
    function bind(wrapper) {
        if (wrapper.dataset.imagePreviewBound) return;
        wrapper.dataset.imagePreviewBound = "1";
        var input = wrapper.querySelector("input[type=file]");
        var preview = wrapper.querySelector("[data-image-preview-target]");
        if (!input || !preview) return;
        input.addEventListener("change", function () {
            if (input.files && input.files[0]) {
                preview.src = URL.createObjectURL(input.files[0]);
                preview.style.display = "";
            }
        });
    }
    function bindAll() {
        document.querySelectorAll("[data-image-preview]").forEach(bind);
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", bindAll);
    } else {
        bindAll();
    }
})();
