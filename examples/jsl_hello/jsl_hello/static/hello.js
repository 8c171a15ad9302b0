// Sends the form to the greeting API and shows the answer (or the API's error message).
(function () {
  "use strict";
  const form = document.getElementById("hello-form");
  const answer = document.getElementById("hello-answer");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch(answer.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-XSRFToken": answer.dataset.xsrf },
      body: JSON.stringify({ name: form.elements.name.value }),
    });
    const body = await response.json();
    answer.textContent = response.ok ? body.greeting : `Error: ${body.message}`;
    answer.classList.toggle("error", !response.ok);
  });
})();
