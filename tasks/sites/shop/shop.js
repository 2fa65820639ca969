// Shared by every page of the shop: catalogue, cart in sessionStorage, cookie banner.
const CATALOGUE = [];
const COLOURS = ["Blue", "Red", "Green", "Black", "White", "Grey"];
["mug", "lamp", "notebook"].forEach((kind) => {
  for (let i = 1; i <= 14; i++) {
    const name = `${COLOURS[i % COLOURS.length]} ${kind} ${i}`;
    CATALOGUE.push({ id: `${kind}-${i}`, name, kind, price: 5 + ((i * 7) % 23) });
  }
});
[["Studio headphones", "audio"], ["Bookshelf speaker", "audio"], ["Travel laptop", "laptops"],
 ["Gaming laptop", "laptops"], ["Pocket phone", "phones"], ["Camera phone", "phones"]].forEach(([name, kind], i) =>
  CATALOGUE.push({ id: `${kind}-${i}`, name, kind, price: 99 + i * 50 }));

const cart = () => JSON.parse(sessionStorage.getItem("cart") || "[]");
const saveCart = (items) => sessionStorage.setItem("cart", JSON.stringify(items));

function header() {
  document.body.insertAdjacentHTML("afterbegin", `
    <header><span class="brand"><a href="index.html">Nimbus Shop</a></span>
      <nav class="menu"><span class="menu-title">Categories</span>
        <div class="submenu"><a href="category.html?c=laptops">Laptops</a><a href="category.html?c=phones">Phones</a>
        <a href="category.html?c=audio">Audio</a></div></nav>
      <a href="deals.html">Deals</a>
      <form action="search.html" class="search"><input type="search" name="q" placeholder="Search products" aria-label="Search products"></form>
      <a href="cart.html" id="cart-link">Cart (${cart().length})</a></header>`);
  if (!localStorage.getItem("cookies")) {
    document.body.insertAdjacentHTML("beforeend", `<div class="banner" id="cookies"><span>We use cookies for the cart and
      statistics.</span><button class="secondary" id="reject">Reject cookies</button><button id="accept">Allow cookies</button></div>`);
    document.getElementById("cookies").addEventListener("click", (e) => {
      if (e.target.tagName !== "BUTTON") return;
      localStorage.setItem("cookies", e.target.id);
      document.getElementById("cookies").remove();
    });
  }
}
document.addEventListener("DOMContentLoaded", header);
