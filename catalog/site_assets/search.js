/* 数据目录检索 Catalog search, in the browser: a faithful port of catalog/search.py (read its
 * docstring), run over the documents and vocabulary that search-index.js sets as
 * window.CATALOG_INDEX (catalog.search.index_json plus the labels and links a hit shows).
 * tests/test_catalog_site.py compares this with Searcher.search on the same queries.
 *
 *   window.catalogSearch(query, limit)  -> the ordered keys of the hits ("dwd.dwd_ar_item", "应收账款")
 *   window.catalogSearchHits(query, limit) -> the hits themselves
 *   window.catalogQueryWords(query)     -> the words a query is split into
 */
(function () {
  "use strict";

  var NAME = 4, TERM = 3, COLUMN = 2, DESCRIPTION = 1;
  var MAX_WORD = 8;
  // Python's \s (str.isspace) spelled out: JS's \s is a different set
  var WHITESPACE = "\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
  var WHITESPACE_RUN = new RegExp("[" + WHITESPACE + "]+");
  // catalog.search._SPLIT: whitespace and punctuation
  var SPLIT = new RegExp("[" + WHITESPACE + ",，、;；:：()（）\\[\\]【】/\\\\|\"'“”‘’.。!?！？<>《》=+*&^%$#@~`\\-]+");
  var CJK = /[\u3400-\u9fff\uf900-\ufaff]+/g;
  var HAS_CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
  var LATIN_WORD = /[a-z0-9_]+/g;

  function normalise(text) {
    return (text || "").normalize("NFKC").toLowerCase();
  }

  function unique(words) {
    var seen = Object.create(null), out = [];
    words.forEach(function (w) {
      if (!seen[w]) { seen[w] = true; out.push(w); }
    });
    return out;
  }

  function nonEmpty(parts) {
    return parts.filter(function (p) { return p !== ""; });
  }

  /* Forward maximum matching of a Chinese run; unknown characters stay together as one word. */
  function segment(run, vocab) {
    var out = [], unknown = "", i = 0;
    while (i < run.length) {
      var matched = false;
      for (var size = Math.min(MAX_WORD, run.length - i); size > 1; size--) {
        if (vocab.has(run.slice(i, i + size))) {
          if (unknown) { out.push(unknown); unknown = ""; }
          out.push(run.slice(i, i + size));
          i += size;
          matched = true;
          break;
        }
      }
      if (!matched) { unknown += run[i]; i += 1; }
    }
    if (unknown) out.push(unknown);
    return out;
  }

  function queryWords(query, vocab) {
    var words = [];
    normalise(query).split(SPLIT).forEach(function (part) {
      if (!part) return;
      var position = 0, match;
      CJK.lastIndex = 0;
      while ((match = CJK.exec(part)) !== null) {  // a part may mix scripts: "ar账龄"
        words = words.concat(nonEmpty(part.slice(position, match.index).split(SPLIT)));
        words = words.concat(segment(match[0], vocab));
        position = match.index + match[0].length;
      }
      if (part.slice(position)) words.push(part.slice(position));
    });
    return unique(words);
  }

  /* dwd_ar_item -> dwd_ar_item, dwd, ar, item: identifiers whole and in parts. */
  function latinWords(text) {
    var words = text.match(LATIN_WORD) || [];
    var parts = [];
    words.forEach(function (w) {
      if (w.indexOf("_") >= 0) parts = parts.concat(nonEmpty(w.split("_")));
    });
    return words.concat(parts);
  }

  function foundIn(word, text, words) {
    if (HAS_CJK.test(word)) return text.indexOf(word) >= 0;
    for (var i = 0; i < words.length; i++) {
      if (words[i].startsWith(word)) return true;
    }
    return false;
  }

  /* Python compares strings by code point; JS's < by UTF-16 unit. */
  function compareCodePoints(a, b) {
    var i = 0, j = 0;
    while (i < a.length && j < b.length) {
      var ca = a.codePointAt(i), cb = b.codePointAt(j);
      if (ca !== cb) return ca < cb ? -1 : 1;
      i += ca > 0xffff ? 2 : 1;
      j += cb > 0xffff ? 2 : 1;
    }
    if (i < a.length) return 1;
    if (j < b.length) return -1;
    return 0;
  }

  function Searcher(index) {
    this.index = index;
    this.vocab = new Set(index.vocab);
    this.layers = index.layers;
    this.documents = index.documents.map(function (d) {
      return {
        doc: d,
        texts: d.texts.map(function (t) { return { place: t[0], text: t[1], latin: latinWords(t[1]) }; })
      };
    });
  }

  Searcher.prototype.search = function (query, limit) {
    var words = queryWords(query, this.vocab);
    if (!words.length) return [];
    var whole = normalise(nonEmpty(query.split(WHITESPACE_RUN)).join(" "));
    var squeezed = whole.split(" ").join("");
    var hits = [];
    this.documents.forEach(function (entry) {
      var places = [];
      for (var w = 0; w < words.length; w++) {
        var best = 0;
        entry.texts.forEach(function (t) {
          if (t.place > best && foundIn(words[w], t.text, t.latin)) best = t.place;
        });
        if (best === 0) return;
        places.push([words[w], best]);
      }
      var names = entry.doc.names;
      var exact = names.indexOf(whole) >= 0 || names.indexOf(squeezed) >= 0;
      var weakest = Math.min.apply(null, places.map(function (p) { return p[1]; }));
      var total = places.reduce(function (s, p) { return s + p[1]; }, 0);
      hits.push({ document: entry.doc, exact: exact, weakest: weakest, total: total, places: places });
    });
    var layers = this.layers;
    function layerIndex(hit) { return layers.indexOf(hit.document.layer); }  // -1 when not listed
    hits.sort(function (a, b) {
      if (a.exact !== b.exact) return a.exact ? -1 : 1;
      if (a.weakest !== b.weakest) return b.weakest - a.weakest;
      if (a.total !== b.total) return b.total - a.total;
      if (layerIndex(a) !== layerIndex(b)) return layerIndex(a) - layerIndex(b);
      return compareCodePoints(a.document.key, b.document.key);
    });
    return limit ? hits.slice(0, limit) : hits;
  };

  var index = window.CATALOG_INDEX;
  var searcher = index ? new Searcher(index) : null;

  window.catalogSearchHits = function (query, limit) {
    return searcher ? searcher.search(query, limit) : [];
  };
  window.catalogSearch = function (query, limit) {
    return window.catalogSearchHits(query, limit).map(function (h) { return h.document.key; });
  };
  window.catalogQueryWords = function (query) {
    return searcher ? queryWords(query, searcher.vocab) : [];
  };
  window.catalogIsSeparator = function (ch) {
    return new RegExp("^" + SPLIT.source + "$").test(ch);
  };

  // ---- the search page ----------------------------------------------------------------------

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function showHits(query) {
    var list = document.getElementById("results");
    var status = document.getElementById("search-status");
    if (!list || !status) return;
    list.textContent = "";
    if (!query.trim()) { status.textContent = ""; return; }
    if (!searcher) { status.textContent = "检索索引未加载 the search index did not load (search-index.js)"; return; }
    var hits = searcher.search(query);
    status.textContent = hits.length
      ? "找到 " + hits.length + " 项 " + hits.length + (hits.length === 1 ? " hit" : " hits") + "：" + query
      : "没有找到 nothing found: " + query + "（试试更短的词或英文 try fewer or English words）";
    var pages = index.pages || {}, layerNames = index.layer_names || {}, placeNames = index.place_names || {};
    hits.forEach(function (hit) {
      var d = hit.document, page = pages[d.key] || {};
      var item = element("li", "hit hit-" + d.kind);
      item.setAttribute("data-key", d.key);
      var link = element("a", "hit-title");
      link.href = page.href || "#";
      link.appendChild(element("span", "badge layer-" + d.layer, layerNames[d.layer] || d.layer));
      link.appendChild(element("span", "zh", d.name_zh));
      if (d.kind === "table") link.appendChild(element("code", "key", d.key));
      if (page.en) link.appendChild(element("span", "en", page.en));
      item.appendChild(link);
      if (d.summary) item.appendChild(element("div", "summary", d.summary));
      var why = hit.places.map(function (p) { return p[0] + "·" + (placeNames[p[1]] || p[1]); }).join("　");
      item.appendChild(element("div", "why", "命中 matched: " + why));
      list.appendChild(item);
    });
  }

  function start() {
    var input = document.getElementById("q");
    if (!input) return;
    var form = document.getElementById("search-form");
    var query = new URLSearchParams(window.location.search).get("q") || "";
    input.value = query;
    showHits(query);
    input.addEventListener("input", function () { showHits(input.value); });
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        showHits(input.value);
        try {  // keep ?q= in the address so the result can be shared; file:// may refuse
          history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
        } catch (err) { /* the search still shows */ }
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
