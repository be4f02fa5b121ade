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

// An upload form (data-upload) shows how much of the file has been sent, then that the file is being checked.
// Without this script the form posts normally and the browser shows its own progress.
function enhanceUploads(root) {
  for (const form of root.querySelectorAll("form[data-upload]")) {
    form.addEventListener("submit", (event) => sendWithProgress(event, form));
  }
}

function sendWithProgress(event, form) {
  const bar = form.querySelector("progress");
  const status = form.querySelector("[data-upload-status]");
  const button = form.querySelector("button[type=submit]");
  const file = form.querySelector("input[type=file]").files[0];
  const most = Number(form.dataset.max || "0");
  if (file && most && file.size > most) {  // refused before a byte is sent (the server refuses it too)
    event.preventDefault();
    status.hidden = false;
    status.textContent = status.dataset.tooLarge;
    return;
  }
  event.preventDefault();
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("Accept", "text/html");
  bar.hidden = false;
  status.hidden = false;
  button.disabled = true;
  request.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    const percent = Math.round((progress.loaded / progress.total) * 100);
    bar.value = percent;
    status.textContent = status.dataset.sending.replace("{percent}", String(percent));
  });
  request.upload.addEventListener("load", () => {
    bar.removeAttribute("value");  // indeterminate while the server checks and writes the version
    status.textContent = status.dataset.checking;
  });
  request.addEventListener("load", () => {
    if (request.status < 400 && request.responseURL && request.responseURL !== form.action) {
      window.location.assign(request.responseURL);  // the new version's page
      return;
    }
    const page = new DOMParser().parseFromString(request.responseText, "text/html");
    document.title = page.title;
    document.body.replaceWith(page.body);  // the same page, with what was wrong
    enhanceUploads(document.body);
  });
  const failed = () => {
    button.disabled = false;
    bar.hidden = true;
    status.textContent = status.dataset.failed;
  };
  request.addEventListener("error", failed);
  request.addEventListener("abort", failed);
  request.addEventListener("timeout", failed);
  request.send(new FormData(form));
}

document.addEventListener("DOMContentLoaded", () => enhanceUploads(document));
