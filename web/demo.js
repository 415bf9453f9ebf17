// Demo page only (web/index.html): switch whose local details (office hours, counters) the bot uses.
// A file of its own, not an inline script, so the page's CSP allows scripts from the bot alone.
(function () {
  var select = document.getElementById("municipality");
  try {
    var saved = JSON.parse(sessionStorage.getItem("mnc-chat:v1") || "{}");
    if (saved.municipality !== undefined) select.value = saved.municipality || "";
  } catch (err) { /* storage disabled: keep the default */ }
  select.addEventListener("change", function () {
    if (window.MyNumberChat) window.MyNumberChat.setMunicipality(select.value || null);
  });
})();
