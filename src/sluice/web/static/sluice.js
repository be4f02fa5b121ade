// Progressive enhancement only: every page works without this file.
// Adds a "copy" button to code examples.
document.addEventListener("DOMContentLoaded", () => {
  const label = document.documentElement.lang === "en" ? ["Copy", "Copied"] : ["复制", "已复制"];
  for (const block of document.querySelectorAll("pre.copy")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = label[0];
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(block.querySelector("code").textContent);
        button.textContent = label[1];
        setTimeout(() => { button.textContent = label[0]; }, 1500);
      } catch (error) {
        button.textContent = "×";
      }
    });
    block.appendChild(button);
  }
});
