// Keyward console: small enhancements only; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.copy").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var field = document.getElementById(btn.dataset.copy);
      if (!field) return;
      // An input (a secret) or a <pre> (a snippet): copy exactly what is shown.
      var text = "value" in field ? field.value : field.textContent;
      if (field.select) {
        field.select();
      } else {
        window.getSelection().selectAllChildren(field);
      }
      var done = function () { btn.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
});

// A secret page restored from the back-forward cache (no-store should prevent it)
// shows no secret: the fields are emptied.
window.addEventListener("pageshow", function (ev) {
  if (!ev.persisted) return;
  document.querySelectorAll("input.secret").forEach(function (f) {
    f.value = "(no longer shown)";
  });
});
