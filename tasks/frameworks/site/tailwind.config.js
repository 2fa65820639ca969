// Tailwind reads the pages for the classes they use and writes only those (build/tailwind.css, `npm run build`).
module.exports = {
  content: ["./tailwind*.html"],
  plugins: [require("@tailwindcss/forms")],
};
