// The handbook's notebooks contain no math. hooks/notebook_lean.py removes mkdocs-jupyter's
// MathJax loader from every page; should one remain, it loads this local stand-in (set as
// custom_mathjax_url) instead of fetching MathJax from a CDN.
window.MathJax = window.MathJax || {
  startup: { promise: Promise.resolve() },
  typesetPromise: function () { return Promise.resolve(); },
  typesetClear: function () {},
  texReset: function () {},
};
