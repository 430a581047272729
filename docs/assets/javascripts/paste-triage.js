/*
 * Paste box of the debugging playbook: census and triage of a pasted FD snapshot, computed in
 * the page. A port of leaklab's snapshot_parse.py (formats and paste-noise rules), census.py's
 * categorize() and triage.py's rule; the lookup rows come from assets/leaklab/lookup.json,
 * which hooks/leaklab_data.py exports from leaklab/lookup.py at build time. The only request is
 * that JSON file, fetched from the site's own origin by a relative URL.
 */
(function () {
  "use strict";

  var CATEGORIES = ["socket", "pipe", "eventpoll", "pidfd", "eventfd", "timerfd", "signalfd",
    "inotify", "anon_inode", "file", "dev", "sqlite_db", "sqlite_wal", "sqlite_shm"];
  var RANKED = CATEGORIES.concat(["unclassified"]);
  var ANON = {
    "[eventpoll]": "eventpoll", "[pidfd]": "pidfd", "[eventfd]": "eventfd",
    "[timerfd]": "timerfd", "[signalfd]": "signalfd", "inotify": "inotify",
    "[inotify]": "inotify"
  };
  var MODE = /(?:^|[\s>|])l[-rwxsStT]{9}[.+@]?\s/;
  var ARROW = /\s(\d+)\s*->\s*(.*)$/;
  var PID_IN_PATH = /\/proc\/(\d+)\/fd/;
  var MAX_JOIN = 4;
  var SECTION = /^=== (.+) ===$/;
  var REPORT_HEADER = /^# PID (\d+)\b/;
  var HIST_LINE = /^\s*(\d+) (\S.*)$/;
  var COUNT_LINE = /^(socket|pipe|eventpoll|pidfd|WAL files|SHM files|\.db files):\s*(\d+)$/;
  var REPORT_CATEGORIES = {
    "socket": "socket", "pipe": "pipe", "eventpoll": "eventpoll", "pidfd": "pidfd",
    "WAL files": "sqlite_wal", "SHM files": "sqlite_shm", ".db files": "sqlite_db"
  };

  function categorize(target) {
    if (target.indexOf("socket:") === 0) return "socket";
    if (target.indexOf("pipe:") === 0) return "pipe";
    if (target.indexOf("anon_inode:") === 0) {
      return ANON[target.slice("anon_inode:".length)] || "anon_inode";
    }
    if (target.indexOf("pidfd:") === 0) return "pidfd";
    if (target.charAt(0) !== "/") return "anon_inode";
    var path = target.replace(/ \(deleted\)$/, "");
    var name = path.slice(path.lastIndexOf("/") + 1);
    if (/-wal$/.test(name)) return "sqlite_wal";
    if (/-shm$/.test(name)) return "sqlite_shm";
    if (/\.db$/.test(name) || name.indexOf(".sqlite") !== -1) return "sqlite_db";
    if (path.indexOf("/dev/") === 0 && path.indexOf("/dev/shm/") !== 0) return "dev";
    return "file";
  }

  function zero() {
    var counts = {};
    CATEGORIES.forEach(function (c) { counts[c] = 0; });
    return counts;
  }

  function sum(counts) {
    return CATEGORIES.reduce(function (n, c) { return n + (counts[c] || 0); }, 0);
  }

  function isContinuation(line) {
    return line !== "" && !/\s/.test(line) && !/[$#>%]$/.test(line);
  }

  // What every line of one ls listing shares (column offset of the FD number, links, owner,
  // group, size): a line shaped otherwise right after an entry is part of that entry's target
  // (a file name with a newline), not an FD. Same rule as leaklab's snapshot_parse._shape.
  function shape(line) {
    var mode = MODE.exec(line), arrow = ARROW.exec(line);
    if (!mode || !arrow) return null;
    var start = mode.index + (line[mode.index] === "l" ? 0 : 1);
    var prefix = line.slice(start, arrow.index);
    return [prefix.length].concat(prefix.split(/\s+/).filter(Boolean).slice(1, 5)).join("|");
  }

  function parseLs(text) {
    var targets = {}, pid = 0, pending = null, parts = 0, lastFd = null, found = false;
    var lastShape = null;
    function finish(entry) {
      var m = ARROW.exec(entry);
      targets[m[1]] = m[2].trim();
      found = true;
      lastShape = shape(entry);
      return m[1];
    }
    text.split("\n").forEach(function (raw) {
      var line = raw.trim(), m;
      if (pid === 0 && (m = PID_IN_PATH.exec(line))) pid = Number(m[1]);
      if (pending !== null) {
        var joined = pending + line;
        parts += 1;
        pending = null;
        if (ARROW.test(joined)) lastFd = finish(joined);
        else if (line && parts < MAX_JOIN) pending = joined;
        return;
      }
      if (MODE.test(line)) {
        if (lastFd !== null && ARROW.test(line) && shape(line) !== lastShape) {
          targets[lastFd] += "\n" + line;
          return;
        }
        if (ARROW.test(line)) lastFd = finish(line);
        else { pending = line; parts = 1; lastFd = null; }
        return;
      }
      if (lastFd !== null && isContinuation(line) && !/\]$/.test(targets[lastFd])) {
        targets[lastFd] += line;
        return;
      }
      lastFd = null;
    });
    if (!found) return null;
    var counts = zero(), total = 0;
    Object.keys(targets).forEach(function (fd) {
      counts[categorize(targets[fd])] += 1;
      total += 1;
    });
    return { pid: pid, total: total, counts: counts, source: "ls-l" };
  }

  function parseReport(text) {
    var pid = 0, section = "", total = null, hist = zero(), reported = {}, seenHist = false;
    text.split("\n").forEach(function (raw) {
      var line = raw.replace(/\s+$/, ""), m;
      if ((m = REPORT_HEADER.exec(line))) { pid = Number(m[1]); return; }
      if ((m = SECTION.exec(line.trim()))) { section = m[1]; return; }
      if (section.indexOf("Total FDs") === 0 && total === null && /^\d+$/.test(line.trim())) {
        total = Number(line.trim());
      } else if (section.indexOf("FD-type histogram") === 0 && (m = HIST_LINE.exec(line))) {
        hist[categorize(m[2])] += Number(m[1]);
        seenHist = true;
      } else if (section.indexOf("Counts by category") === 0 &&
                 (m = COUNT_LINE.exec(line.trim()))) {
        reported[REPORT_CATEGORIES[m[1]]] = Number(m[2]);
      }
    });
    if (total === null && !seenHist && Object.keys(reported).length === 0) return null;
    Object.keys(reported).forEach(function (k) { hist[k] = reported[k]; });
    var listed = sum(hist);
    if (total === null || total < listed) total = listed;
    if (total > listed) hist.unclassified = total - listed;
    return { pid: pid, total: total, counts: hist, source: "host-snapshot" };
  }

  function parseJson(text) {
    var data;
    try { data = JSON.parse(text); } catch (e) { data = null; }
    if (!data || typeof data !== "object" || !data.counts || data.total === undefined) {
      throw new Error("looks like JSON but is not a leaklab census");
    }
    // The schema's core (leaklab.snapshot_schema): counts are integers from 0, total >= sum.
    var ok = function (v) { return Number.isSafeInteger(v) && v >= 0; };
    if (!ok(data.total)) throw new Error("not a valid leaklab census: total must be an integer from 0");
    Object.keys(data.counts).forEach(function (k) {
      if (!ok(data.counts[k])) {
        throw new Error("not a valid leaklab census: counts." + k + " must be an integer from 0");
      }
    });
    if (sum(data.counts) > data.total) {
      throw new Error("not a valid leaklab census: total is less than the sum of the categories");
    }
    return { pid: Number(data.pid) || 0, total: Number(data.total), counts: data.counts,
      source: data.source || "json" };
  }

  function parseSnapshot(input) {
    var text = input.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
    if (!text.trim()) throw new Error("The box is empty: paste a snapshot first.");
    if (text.indexOf("\u0000") !== -1) throw new Error("This is binary data, not a snapshot.");
    if (/^\s*\{/.test(text)) return parseJson(text);
    var isReport = text.split("\n").some(function (l) { return SECTION.test(l.trim()); });
    var found = isReport ? parseReport(text) : parseLs(text);
    if (!found) {
      throw new Error("No FD lines found: paste `ls -l /proc/PID/fd` output, a " +
        "host-snapshot.sh report or `leaklab census --json` output.");
    }
    return found;
  }

  function count(c, key) { return c.counts[key] || 0; }

  function ranked(c) {
    return RANKED.filter(function (k) { return count(c, k) > 0; }).sort(function (a, b) {
      return count(c, b) - count(c, a) || RANKED.indexOf(a) - RANKED.indexOf(b);
    });
  }

  function triage(c, data) {
    var byKey = {};
    data.rows.forEach(function (row) { row.keys.forEach(function (k) { byKey[k] = row; }); });
    var order = ranked(c);
    var dominant = order.filter(function (k) {
      return c.total && count(c, k) / c.total >= data.dominant_share;
    }).slice(0, data.max_dominant);
    if (!dominant.length && order.length) dominant = [order[0]];
    var findings = [];
    order.forEach(function (k) {
      var row = byKey[k] || null;
      var suspect = !!(row && row.suspect_at !== null && count(c, k) >= row.suspect_at);
      if (dominant.indexOf(k) !== -1 || suspect) {
        findings.push({ category: k, count: count(c, k),
          share: c.total ? count(c, k) / c.total : 0,
          dominant: dominant.indexOf(k) !== -1, suspect: suspect, row: row });
      }
    });
    return { findings: findings,
      leak: findings.some(function (f) { return f.suspect; }) };
  }

  /* Inline Markdown of the table cells: `code` and [text](link) only. */
  function inline(md, base) {
    var out = document.createDocumentFragment();
    var re = /`([^`]+)`|\[([^\]]+)\]\(([^)]+)\)/g, last = 0, m;
    while ((m = re.exec(md))) {
      out.appendChild(document.createTextNode(md.slice(last, m.index)));
      if (m[1] !== undefined) {
        var code = document.createElement("code");
        code.textContent = m[1];
        out.appendChild(code);
      } else {
        out.appendChild(link(m[2], docsLink(m[3]), base));
      }
      last = re.lastIndex;
    }
    out.appendChild(document.createTextNode(md.slice(last)));
    return out;
  }

  /* docs-relative "history.md#wave-6" -> site-relative "history/#wave-6". */
  function docsLink(href) {
    var i = href.indexOf("#");
    var path = i === -1 ? href : href.slice(0, i);
    var anchor = i === -1 ? "" : href.slice(i);
    path = path.replace(/\.(md|ipynb)$/, "/");
    return path + anchor;
  }

  function link(text, siteRelative, base) {
    var a = document.createElement("a");
    a.href = base + siteRelative;
    a.textContent = text;
    return a;
  }

  function el(tag, text) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function render(out, c, t, base) {
    out.textContent = "";
    var head = (c.pid ? "PID " + c.pid : "Snapshot") + " (" + c.source + "): " + c.total + " FDs";
    out.appendChild(el("p", head));
    var verdict = el("p");
    var strong = el("strong", t.leak ? "Leak suspected" : "No leak suspected");
    verdict.appendChild(strong);
    verdict.appendChild(document.createTextNode(t.leak
      ? ": " + t.findings.filter(function (f) { return f.suspect; })
        .map(function (f) { return f.category + " " + f.count; }).join(", ")
      : ": no type reached its threshold."));
    out.appendChild(verdict);

    var table = el("table"), tr = el("tr");
    ["Count", "Share", "Category"].forEach(function (h) { tr.appendChild(el("th", h)); });
    table.appendChild(el("thead")).appendChild(tr);
    var body = table.appendChild(el("tbody"));
    ranked(c).forEach(function (k) {
      var row = el("tr");
      row.appendChild(el("td", String(count(c, k))));
      row.appendChild(el("td", c.total ? (100 * count(c, k) / c.total).toFixed(1) + "%" : "-"));
      row.appendChild(el("td", k));
      body.appendChild(row);
    });
    out.appendChild(table);

    t.findings.forEach(function (f, i) {
      var flags = [f.dominant ? "dominant" : "", f.suspect ? "suspect" : ""].filter(Boolean);
      out.appendChild(el("h4", (i + 1) + ". " + f.category + ": " + f.count + " FDs, " +
        (100 * f.share).toFixed(1) + "% (" + flags.join(", ") + ")"));
      var dl = el("dl");
      function item(term, content) {
        dl.appendChild(el("dt", term));
        var dd = el("dd");
        dd.appendChild(content);
        dl.appendChild(dd);
      }
      if (!f.row) {
        var p = el("p", "No row in the lookup table for this type; compare with the ");
        p.appendChild(link("FD fingerprints", "fingerprints/", base));
        p.appendChild(document.createTextNode("."));
        out.appendChild(p);
        return;
      }
      var r = f.row;
      item("Type", inline(r.fd_type, base));
      item("Likely source", inline(r.likely_source, base));
      item("Next step", inline(r.next_step, base));
      var fixes = document.createDocumentFragment();
      if (!r.fixes.length) fixes.appendChild(document.createTextNode("no wave so far"));
      r.fixes.forEach(function (fix, j) {
        if (j) fixes.appendChild(document.createTextNode("; "));
        fixes.appendChild(link(fix.wave, fix.url, base));
        var prs = fix.prs.map(function (n) { return "#" + n; }).join(", ");
        fixes.appendChild(document.createTextNode((prs ? " " + prs : "") + " (" + fix.what
          .replace(/`/g, "") + ")"));
      });
      item("Fixed before", fixes);
      item("Suspect from", document.createTextNode(
        r.suspect_at === null ? "never by itself" : r.suspect_at + " FDs"));
      if (r.mechanisms && r.mechanisms.length) {
        // Same rule as leaklab's Mechanism.fits(): each companion type must be present
        // at least `per` times for every FD of this finding.
        var list = el("ul");
        r.mechanisms.forEach(function (m) {
          var fits = Object.keys(m.companions).every(function (k) {
            return count(c, k) >= m.companions[k] * f.count;
          });
          var li = el("li");
          li.appendChild(inline(m.name + (fits ? ": fits this snapshot. "
            : ": does not fit this snapshot. ") + m.evidence, base));
          list.appendChild(li);
        });
        var why = document.createDocumentFragment();
        why.appendChild(document.createTextNode(
          "Measured mechanisms; for LDR's 929-eventpoll snapshot none is confirmed."));
        why.appendChild(list);
        item("Explanations", why);
      }
      var pages = document.createDocumentFragment();
      pages.appendChild(link("page", r.page_url, base));
      if (r.notebook_url) {
        pages.appendChild(document.createTextNode(", "));
        pages.appendChild(link("notebook", r.notebook_url, base));
      }
      item("Read", pages);
      out.appendChild(dl);
    });
  }

  function siteBase() {
    var config = document.getElementById("__config");
    var base = "..";
    if (config) {
      try { base = JSON.parse(config.textContent).base || base; } catch (e) { /* keep ".." */ }
    }
    return base.replace(/\/?$/, "/");
  }

  var dataPromise = null;

  function attach() {
    var input = document.getElementById("paste-triage-input");
    var button = document.getElementById("paste-triage-run");
    var out = document.getElementById("paste-triage-output");
    if (!input || !button || !out || button.dataset.attached) return;
    button.dataset.attached = "1";
    var base = siteBase();
    button.addEventListener("click", function () {
      var census;
      try {
        census = parseSnapshot(input.value);
      } catch (e) {
        out.textContent = e.message;
        return;
      }
      dataPromise = dataPromise || fetch(base + "assets/leaklab/lookup.json", {
        credentials: "same-origin"
      }).then(function (r) {
        if (!r.ok) throw new Error("lookup data not found (" + r.status + ")");
        return r.json();
      });
      dataPromise.then(function (data) {
        render(out, census, triage(census, data), base);
      }).catch(function (e) {
        dataPromise = null;
        out.textContent = "Could not load the lookup table: " + e.message;
      });
    });
  }

  /* Exposed for tests in a browser; the page itself does not need it. */
  window.leaklabPaste = { parseSnapshot: parseSnapshot, categorize: categorize, triage: triage };

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(attach);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", attach);
  } else {
    attach();
  }
})();
