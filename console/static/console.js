// The console's only script: ask before a form that changes money or a claim is sent.
// Served by the app itself (no CDN); the server checks the CSRF token either way.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
