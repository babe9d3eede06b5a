/* backroom support widget: <script src="https://backroom.example.com/widget.js" data-store="acme"
   data-identity="TOKEN-FROM-YOUR-BACKEND (optional)" async></script> */
(function () {
  var script = document.currentScript;
  var base = new URL(script.src).origin;
  var store = script.getAttribute("data-store") || "";
  var identity = script.getAttribute("data-identity") || "";
  var key = "backroom-support-session";
  var session = localStorage.getItem(key);
  if (!session) {
    session = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^\w-]/g, "");
    localStorage.setItem(key, session);
  }
  var box = document.createElement("div");
  box.setAttribute("style", "position:fixed;bottom:16px;right:16px;width:320px;font:14px sans-serif;" +
    "background:#fff;border:1px solid #ccc;border-radius:8px;box-shadow:0 2px 12px rgba(0,0,0,.15);z-index:99999");
  box.innerHTML = '<div style="padding:8px 12px;font-weight:bold;border-bottom:1px solid #eee">Help</div>' +
    '<div class="br-log" style="height:260px;overflow-y:auto;padding:8px 12px"></div>' +
    '<form style="display:flex;border-top:1px solid #eee"><input name="q" autocomplete="off" ' +
    'placeholder="Ask about your order…" style="flex:1;border:0;padding:10px"><button>Send</button></form>';
  document.body.appendChild(box);
  var log = box.querySelector(".br-log");
  function add(who, text) {
    var p = document.createElement("p");
    p.style.margin = "6px 0";
    p.textContent = (who === "you" ? "You: " : "") + text;  // text, never HTML: nothing a reply says can run
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
  }
  box.querySelector("form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = e.target.elements.q;
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    add("you", text);
    fetch(base + "/widget/messages", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Backroom-Store": store},
      body: JSON.stringify({session: session, text: text, identity: identity || null})
    }).then(function (r) { return r.json(); })
      .then(function (d) { add("agent", d.reply || "Sorry, something went wrong. Please try again."); })
      .catch(function () { add("agent", "Sorry, we could not reach support. Please try again."); });
  });
})();
