/** A tiny element builder: attributes as strings, `on*` handlers, children as nodes or text. */
export type Child = Node | string | null | undefined | false;

export interface Attrs {
  [name: string]: string | number | boolean | null | undefined | EventListener;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
}

let uid = 0;
export const nextId = (prefix: string): string => `${prefix}-${++uid}`;

/** RGBA bytes as ImageData (copied, so the source may be any typed array view). */
export function imageData(rgba: ArrayLike<number>, width: number, height: number): ImageData {
  const img = new ImageData(width, height);
  img.data.set(rgba.length === width * height * 4 ? rgba : Array.prototype.slice.call(rgba, 0, width * height * 4));
  return img;
}
