// The handbook's notebooks contain no math. mkdocs-jupyter would otherwise point
// its MathJax loader at a CDN; this local stub keeps every request on the site.
window.MathJax = window.MathJax || {};
