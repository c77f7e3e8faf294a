// A minimal stand-in for the DOM, enough for the UI's pages under Node (each test file sets
// up its own document, storage and location around it).
import assert from "node:assert/strict";

export class FakeNode {
  constructor() { this.children = []; this.listeners = {}; }
  append(...kids) {
    for (const kid of kids) {
      assert.ok(kid instanceof FakeNode || typeof kid === "string", `appended ${kid}`);
      this.children.push(typeof kid === "string" ? new FakeText(kid) : kid);
    }
  }
  replaceChildren(...kids) { this.children = []; this.append(...kids); }
  addEventListener(type, f) { (this.listeners[type] ||= []).push(f); }
  fire(type, event = {}) { return Promise.all((this.listeners[type] || []).map((f) => f({ preventDefault() {}, ...event }))); }
  get textContent() { return this.children.map((c) => c.textContent).join(" "); }
  set textContent(v) { this.children = [new FakeText(String(v))]; }
  *walk() { yield this; for (const c of this.children) yield* c.walk(); }
}
export class FakeText extends FakeNode {
  constructor(text) { super(); this.text = text; }
  get textContent() { return this.text; }
}
export class FakeElement extends FakeNode {
  constructor(tag) {
    super();
    Object.assign(this, { tagName: tag, attrs: {}, style: {}, dataset: {}, hidden: false, value: "", checked: false, disabled: false });
  }
  setAttribute(k, v) { this.attrs[k] = v; if (k.startsWith("data-")) this.dataset[k.slice(5)] = v; if (k === "value") this.value = v; if (k === "disabled") this.disabled = true; }
  set className(v) { this.attrs.class = v; }
  querySelectorAll(selector) {
    if (/^[a-z]+$/.test(selector)) return [...this.walk()].filter((n) => n !== this && n.tagName === selector);
    const [, cls, data] = /^\.([\w-]+)\[data-([\w-]+)\]$/.exec(selector);
    return [...this.walk()].filter((n) => n.attrs && n.attrs.class === cls && ("data-" + data) in n.attrs);
  }
  focus() {}
  setPointerCapture() {}
  get clientWidth() { return 1200; }
  get clientLeft() { return 0; }
  get clientTop() { return 0; }
  getBoundingClientRect() { return { left: 0, top: 0, width: 1200 }; }
}
