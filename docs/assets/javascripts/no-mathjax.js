// The handbook's notebooks contain no math. mkdocs-jupyter's loader fetches MathJax
// (from a CDN by default) unless window.MathJax is already usable; this local stand-in
// is loaded on every page first, so the loader never fetches anything.
window.MathJax = window.MathJax || {
  startup: { promise: Promise.resolve() },
  typesetPromise: function () { return Promise.resolve(); },
  typesetClear: function () {},
  texReset: function () {},
};
