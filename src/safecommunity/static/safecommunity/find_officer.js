// "Use my location": read the browser's position and ask the page for that point. Shown only
// where the browser can locate (and on a secure origin, where it is allowed to).
(function () {
  "use strict";
  var form = document.getElementById("fo-locate");
  if (!form || !window.isSecureContext || !("geolocation" in navigator)) return;
  var status = form.querySelector("[role=status]");
  var button = form.querySelector("button");
  form.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = form.dataset.locating;
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        form.elements.lat.value = position.coords.latitude.toFixed(6);
        form.elements.lng.value = position.coords.longitude.toFixed(6);
        form.submit();
      },
      function () {
        status.textContent = form.dataset.denied;
        button.disabled = false;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });
})();
