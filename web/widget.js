/*
 * My Number Card e-certificate chat widget: the one file a page embeds.
 *
 *   <script src="https://BOT/widget.js" data-municipality="zama"
 *           data-title="マイナンバーカード電子証明書のご案内" data-color="#0b5fa5"></script>
 *
 * It reads its tag and loads the widget itself, widget-app.js and the parts that one imports
 * (ES modules, each a file in web/), from the address it came from: no build step, each part
 * served as it is written. A module script added to the page delays the page's load event
 * like the tag itself, so the launcher is there when the page has loaded. A page that enforces
 * Trusted Types takes a script address only from a policy: ours, "mnc-chat", vouches for that
 * one address and nothing else. The widget draws into a shadow root, and inserts all text
 * from the user or the bot as text nodes; nothing is ever parsed as HTML.
 */
(function () {
  "use strict";

  if (window.MyNumberChat) return; // a second copy of the tag must not build a second widget

  var script = document.currentScript || findOwnScript();
  var data = (script && script.dataset) || {};
  var base = new URL("./", (script && script.src) || location.href).href;
  var entry = new URL("widget-app.js", base).href;

  // The page's API at once; what it asks before the widget has loaded is done then, in order.
  var calls = [];
  var api = {};
  ["open", "close", "newConversation", "setMunicipality"].forEach(function (name) {
    api[name] = function () { calls.push([name, Array.prototype.slice.call(arguments)]); };
  });
  Object.defineProperty(api, "boot", { // for widget-app.js, which takes it away
    configurable: true,
    value: { base: base, calls: calls, data: {
      municipality: data.municipality, title: data.title, color: data.color,
    } },
  });
  window.MyNumberChat = api;

  var tag = document.createElement("script");
  tag.type = "module";
  tag.src = scriptUrl(entry);
  tag.addEventListener("error", function () {
    console.error("MyNumberChat: " + entry + " did not load. Is this page's origin in the bot's CORS_ALLOW_ORIGINS?");
  });
  (document.head || document.documentElement).appendChild(tag);

  function scriptUrl(url) {
    if (!window.trustedTypes || !window.trustedTypes.createPolicy) return url;
    return window.trustedTypes.createPolicy("mnc-chat", {
      createScriptURL: function (value) {
        if (value !== url) throw new TypeError("mnc-chat loads " + url + " only");
        return value;
      },
    }).createScriptURL(url);
  }

  function findOwnScript() {
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }
})();
