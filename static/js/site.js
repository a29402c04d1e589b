// Small enhancements; every page works without this file.
(function () {
  "use strict";
  // After htmx swaps content in, move focus to the region that changed so screen readers follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.hasAttribute("data-focus-after-swap")) {
      target.focus();
    }
  });
})();
