// useStylesheet adds a stylesheet of the console's own (a file next to
// this one) to the page once. A <link> to this origin is what the
// Content-Security-Policy (style-src 'self') allows; inline style is not.

const added = new Set();

export function useStylesheet(name) {
  const href = new URL(name, import.meta.url).href;
  if (added.has(href)) return;
  added.add(href);
  if ([...document.querySelectorAll('link[rel="stylesheet"]')].some(l => l.href === href)) return;
  document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href }));
}
