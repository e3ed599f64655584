// Suifang nurse pages: a little progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // Idle timeout: the server ends the session after N idle minutes; go to sign-in when it has.
  var minutes = parseInt(document.body.getAttribute("data-idle-minutes") || "0", 10);
  if (minutes > 0) {
    var deadline;
    var reset = function () { deadline = Date.now() + minutes * 60 * 1000; };
    reset();
    setInterval(function () {
      if (Date.now() > deadline) {
        window.location.href = "/ui/login?expired=1&next=" + encodeURIComponent(window.location.pathname);
      }
    }, 30 * 1000);
    // Only server round-trips extend the session, and each page load restarts this timer.
  }
  // Play one recording at a time.
  document.addEventListener("play", function (event) {
    var players = document.getElementsByTagName("audio");
    for (var i = 0; i < players.length; i++) {
      if (players[i] !== event.target) { players[i].pause(); }
    }
  }, true);
  // Forms: avoid double submission.
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button[type=submit]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
})();
