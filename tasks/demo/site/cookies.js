// A cookie banner that stays until answered, on every page.
(function () {
  if (localStorage.getItem("cookies")) return;
  const bar = document.createElement("div");
  bar.className = "cookie-banner";
  bar.id = "cookies";
  bar.innerHTML = '<span>We use cookies to remember your searches.</span>' +
    '<button class="secondary" id="reject-cookies">Reject all</button><button id="accept-cookies">Accept all</button>';
  document.body.appendChild(bar);
  bar.addEventListener("click", (e) => {
    if (e.target.tagName !== "BUTTON") return;
    localStorage.setItem("cookies", e.target.id === "accept-cookies" ? "accepted" : "rejected");
    bar.remove();
  });
})();
