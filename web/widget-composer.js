// The text box: Enter sends, Shift+Enter is a newline, and Enter that confirms a Japanese IME
// conversion never sends.
//
// Chrome and Firefox mark that keydown with isComposing (and keyCode 229). Safari fires
// compositionend first and then a keydown that no longer says it is composing, so a
// composition that has just ended is remembered until the key is released (or a moment
// passes).

const JUST_COMPOSED_MS = 300;
const MAX_HEIGHT_PX = 160;

// `send(text)` gets what was typed, never empty or whitespace only.
export function attachComposer({ form, input, send }) {
  let composing = false;
  let justComposed = false;
  let justComposedTimer = null;

  input.addEventListener("compositionstart", () => { composing = true; });
  input.addEventListener("compositionend", () => {
    composing = false;
    justComposed = true;
    clearTimeout(justComposedTimer);
    justComposedTimer = setTimeout(() => { justComposed = false; }, JUST_COMPOSED_MS);
  });
  input.addEventListener("keyup", () => {
    justComposed = false;
    clearTimeout(justComposedTimer);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    if (e.isComposing || e.keyCode === 229 || composing || justComposed) return;
    if (e.shiftKey) return; // the browser inserts the newline
    e.preventDefault();
    sendTyped();
  });
  input.addEventListener("input", autoGrow);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    sendTyped();
  });

  function sendTyped() {
    const text = input.value;
    if (text.trim()) {
      input.value = "";
      autoGrow();
      send(text);
    }
    input.focus();
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, MAX_HEIGHT_PX) + "px";
  }
}
