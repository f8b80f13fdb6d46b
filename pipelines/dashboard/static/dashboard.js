/* The dashboard's pages: choosers, charts (Plotly, shipped with the site) and tables.
   Every number comes from the page's own data (#page-data), the shared national data
   (data/national.js) or a league file (data/league/...); nothing is computed here
   beyond picking, formatting and sorting. */
(function () {
  "use strict";
  var SITE = window.OPIOIDS_SITE;
  var PAGE = JSON.parse(document.getElementById("page-data").textContent);
  var ROOT = document.body.getAttribute("data-root") || "";
  var COLOUR = {
    org: "#DA291C", decile: "#005EB8", median: "#003087", grey: "#768692",
    concern: "#ED8B00", improvement: "#005EB8", neither: "#7C2855", plain: "#768692",
    adjusted: "#003087", rate: "#231f20"
  };
  var SIGNAL_SYMBOL = { common_cause: "circle", concern: "diamond", improvement: "square", neither: "triangle-up" };
  var SIGNAL_LABEL = {
    common_cause: "common cause", concern: "special cause: concern",
    improvement: "special cause: improvement", neither: "special cause (no direction)"
  };
  var FLAG_LABEL = { high: "above upper limit", low: "below lower limit", within: "within limits" };
  var KEYS = {};
  SITE.keys.forEach(function (k) { KEYS[k.key] = k; });
  var PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  // ---- formatting ------------------------------------------------------------------
  function fmt(x, digits) {
    if (x === null || x === undefined) return "–";
    return Number(x).toLocaleString("en-GB", { maximumFractionDigits: digits === undefined ? 2 : digits, minimumFractionDigits: 0 });
  }
  function pct(x) { return x === null || x === undefined ? "–" : (x > 0 ? "+" : "") + fmt(100 * x, 1) + "%"; }
  function signed(x) { return x === null || x === undefined ? "–" : (x > 0 ? "+" : "") + fmt(x); }
  function monthLabel(i) {
    var parts = SITE.months[i].split("-");
    return new Date(Date.UTC(+parts[0], +parts[1] - 1, 1)).toLocaleString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  }
  function monthDate(i) { return SITE.months[i] + "-01"; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ---- state: the choosers, kept in the URL ------------------------------------------
  var comparators = [];
  SITE.keys.forEach(function (k) { if (comparators.indexOf(k.comparator_id) < 0) comparators.push(k.comparator_id); });
  var DEFAULTS = { c: comparators[0], d: "patients", p: "12m", t: "90" };
  var CHOICES = { d: ["patients", "adults"], p: ["1m", "3m", "12m"], t: ["90", "120"] };

  function readState() {
    var params = new URLSearchParams(window.location.search);
    var state = {};
    Object.keys(DEFAULTS).forEach(function (name) {
      var value = params.get(name);
      var allowed = name === "c" ? comparators : CHOICES[name];
      state[name] = allowed.indexOf(value) >= 0 ? value : DEFAULTS[name];
    });
    return state;
  }
  function query(state) {
    return "?" + Object.keys(DEFAULTS).map(function (k) { return k + "=" + encodeURIComponent(state[k]); }).join("&");
  }
  function resolve(state) {
    var notes = [];
    var candidates = SITE.keys.filter(function (k) { return k.comparator_id === state.c && k.period === state.p; });
    var denominators = candidates.map(function (k) { return k.denominator_type; });
    var denominator = state.d;
    if (denominators.indexOf(denominator) < 0) {
      denominator = denominators[0];
      notes.push("This comparator is a share of regular long-acting items, so the 'per' choice does not apply.");
    }
    candidates = candidates.filter(function (k) { return k.denominator_type === denominator; });
    var withThreshold = candidates.filter(function (k) { return k.variant === state.t + "mg"; });
    if (withThreshold.length) candidates = withThreshold;
    else if (candidates.some(function (k) { return k.variant === "standard"; })) {
      candidates = candidates.filter(function (k) { return k.variant === "standard"; });
      notes.push("The high-dose threshold applies to the high-dose comparators only.");
    }
    var key = candidates[0];
    var monthly = SITE.keys.filter(function (k) {
      return k.comparator_id === key.comparator_id && k.variant === key.variant && k.denominator_type === key.denominator_type && k.period === "1m";
    })[0];
    return { key: key, monthly: monthly, notes: notes };
  }
  function isInternal(a) {
    var href = a.getAttribute("href");
    return href && !/^[a-z]+:/i.test(href) && !/^#/.test(href) && /\.html(\?|$)/.test(href);
  }
  function carryState(state) {
    var qs = query(state);
    Array.prototype.forEach.call(document.querySelectorAll("a[href]"), function (a) {
      if (!isInternal(a)) return;
      a.setAttribute("href", a.getAttribute("href").split("?")[0] + qs);
    });
    try { window.history.replaceState(null, "", qs); } catch (e) { /* some file:// pages refuse; links still carry it */ }
  }
  function practiceHref(code, state) { return ROOT + "practice/" + code + ".html" + query(state); }

  // ---- shared chart pieces -------------------------------------------------------------
  function decileTraces(key) {
    var national = SITE.national[key.key];
    var x = SITE.months.map(function (_, i) { return monthDate(i); });
    var traces = [];
    if (!national || !national.deciles) return traces;
    [10, 20, 30, 40, 50, 60, 70, 80, 90].forEach(function (p) {
      var median = p === 50;
      traces.push({
        x: x, y: national.deciles["p" + p], type: "scatter", mode: "lines",
        name: median ? "National median practice" : (p === 10 ? "National deciles (10th to 90th)" : p + "th percentile"),
        legendgroup: median ? "median" : "deciles", showlegend: median || p === 10,
        line: { color: median ? COLOUR.median : COLOUR.decile, width: median ? 2 : 1, dash: median ? "solid" : "dash" },
        opacity: median ? 1 : 0.7, meta: "decile-" + p,
        hovertemplate: p + "th percentile: %{y:.2f}<extra></extra>"
      });
    });
    return traces;
  }
  function seriesTrace(series, label) {
    return {
      x: series.m.map(monthDate), y: series.v, type: "scatter", mode: "lines+markers", name: label,
      line: { color: COLOUR.org, width: 3 }, marker: { size: 6, symbol: "circle" }, meta: "selected",
      customdata: series.m.map(function (_, j) { return [series.n[j], series.d[j]]; }),
      hovertemplate: "%{x|%b %Y}<br>" + label + ": %{y:.2f}<br>numerator %{customdata[0]:,}<br>denominator %{customdata[1]:,}<extra></extra>"
    };
  }
  function layout(key, yTitle, extra) {
    var base = {
      margin: { t: 10, r: 10, b: 50, l: 60 }, height: 380, hovermode: "closest",
      font: { family: "Arial, Helvetica, sans-serif", size: 13, color: "#212b32" },
      legend: { orientation: "h", y: -0.2 },
      yaxis: { title: { text: yTitle || key.units }, rangemode: "tozero", gridcolor: "#e8edee" },
      xaxis: { gridcolor: "#e8edee" }, paper_bgcolor: "#fff", plot_bgcolor: "#fff"
    };
    Object.keys(extra || {}).forEach(function (k) { base[k] = extra[k]; });
    return base;
  }
  function table(container, headers, rows, caption) {
    var t = el("table");
    if (caption) t.appendChild(el("caption", {}, caption));
    var head = el("thead"), tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", { scope: "col" }, h)); });
    head.appendChild(tr); t.appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row) {
      var r = el("tr");
      row.forEach(function (cell, j) {
        var td = el(j === 0 ? "th" : "td", j === 0 ? { scope: "row" } : {}, cell === null || cell === undefined ? "–" : cell);
        r.appendChild(td);
      });
      body.appendChild(r);
    });
    t.appendChild(body);
    container.innerHTML = "";
    container.appendChild(t);
  }
  function trendTable(key, series) {
    var national = SITE.national[key.key] || {};
    var deciles = national.deciles || {};
    table(document.getElementById("trend-table"),
      ["Month", "Value", "Numerator", "Denominator", "National 10th", "National median", "National 90th"],
      series.m.map(function (i, j) {
        return [monthLabel(i), fmt(series.v[j]), fmt(series.n[j]), fmt(series.d[j], 0),
          fmt((deciles.p10 || [])[i]), fmt((deciles.p50 || [])[i]), fmt((deciles.p90 || [])[i])];
      }), key.title + " (" + key.units + ")");
  }
  function funnelLimitTraces(key) {
    var f = (SITE.national[key.key] || {}).funnel;
    if (!f) return [];
    function line(y, name, colour, dash, meta, legend) {
      return { x: f.n, y: y, type: "scatter", mode: "lines", name: name, meta: meta, showlegend: legend,
        legendgroup: colour, line: { color: colour, width: dash === "solid" ? 1.5 : 1, dash: dash }, hoverinfo: "skip" };
    }
    var rate = SITE.national[key.key].rate;
    return [
      line(f.u95, "Plain limits (95% dashed, 99.8% solid)", COLOUR.plain, "dash", "plain-95", true),
      line(f.l95, "", COLOUR.plain, "dash", "plain-95", false),
      line(f.u998, "", COLOUR.plain, "solid", "plain-998", false),
      line(f.l998, "", COLOUR.plain, "solid", "plain-998", false),
      line(f.ou95, "Adjusted for over-dispersion (95% dashed, 99.8% solid)", COLOUR.adjusted, "dash", "od-95", true),
      line(f.ol95, "", COLOUR.adjusted, "dash", "od-95", false),
      line(f.ou998, "", COLOUR.adjusted, "solid", "od-998", false),
      line(f.ol998, "", COLOUR.adjusted, "solid", "od-998", false),
      { x: [f.n[0], f.n[f.n.length - 1]], y: [rate, rate], type: "scatter", mode: "lines", name: "England (eligible practices)",
        meta: "national-rate", line: { color: COLOUR.rate, width: 1 }, hoverinfo: "skip" }
    ];
  }
  function funnelTable(key) {
    var f = (SITE.national[key.key] || {}).funnel;
    var box = document.getElementById("funnel-table");
    if (!f) { box.textContent = "No funnel limits for this comparator."; return; }
    var step = Math.max(1, Math.floor(f.n.length / 12));
    var rows = [];
    for (var i = 0; i < f.n.length; i += step) {
      rows.push([fmt(f.n[i], 0), fmt(f.l998[i]), fmt(f.u998[i]), fmt(f.ol998[i]), fmt(f.ou998[i])]);
    }
    table(box, ["Denominator", "Plain lower 99.8%", "Plain upper 99.8%", "Adjusted lower 99.8%", "Adjusted upper 99.8%"], rows,
      "Funnel limits at selected denominators, " + SITE.latest + "; England " + fmt(SITE.national[key.key].rate));
  }
  function noChart(id, message) {
    var box = document.getElementById(id);
    if (window.Plotly) Plotly.purge(box);
    box.innerHTML = "";
    box.appendChild(el("p", { "class": "no-data" }, message));
  }
  function headline(items) {
    var box = document.getElementById("headline");
    box.innerHTML = "";
    var dl = el("dl");
    items.forEach(function (item) {
      var div = el("div", { "class": "figure" + (item.cls ? " " + item.cls : "") });
      div.appendChild(el("dt", {}, item.label));
      var dd = el("dd", item.id ? { id: item.id } : {}, item.value);
      div.appendChild(dd);
      dl.appendChild(div);
    });
    box.appendChild(dl);
  }

  // ---- organisation pages --------------------------------------------------------------
  var LEAGUES = {};
  var pendingLeague = {};
  window.OPIOIDS_LEAGUE = function (org, key, data) {
    LEAGUES[org + "|" + key] = data;
    (pendingLeague[org + "|" + key] || []).forEach(function (cb) { cb(data); });
    delete pendingLeague[org + "|" + key];
  };
  function loadLeague(key, cb) {
    var org = PAGE.level + "/" + PAGE.code, id = org + "|" + key;
    if (PAGE.league) { cb(PAGE.league[key] || null); return; }  // embedded in smaller areas
    if (LEAGUES[id]) { cb(LEAGUES[id]); return; }
    if (pendingLeague[id]) { pendingLeague[id].push(cb); return; }
    pendingLeague[id] = [cb];
    var script = el("script", { src: ROOT + "data/league/" + org + "/" + key + ".js" });
    script.onerror = function () { delete pendingLeague[id]; cb(null); };
    document.body.appendChild(script);
  }

  var leagueSort = { column: "v", descending: true };
  var LEAGUE_COLUMNS = [
    { id: "name", label: "Practice" }, { id: "size", label: "Registered patients", num: true },
    { id: "v", label: "Value", num: true }, { id: "n", label: "Numerator", num: true },
    { id: "d", label: "Denominator", num: true }, { id: "r", label: "Percentile rank", num: true },
    { id: "dec", label: "National decile", num: true }, { id: "o", label: "Funnel (adjusted)" },
    { id: "f", label: "Funnel (plain)" }, { id: "s", label: "SPC (monthly)" },
    { id: "ca", label: "Change on 12 months", num: true }, { id: "cr", label: "Change %", num: true }
  ];
  function leagueRows(data) {
    return data.c.map(function (code, i) {
      var member = PAGE.members[code] || [code, null, null];
      return { code: code, name: member[0], size: member[2], v: data.v[i], n: data.n[i], d: data.d[i],
        r: data.r[i], dec: data.dec[i], f: data.f[i], o: data.o[i], s: data.s[i], ca: data.ca[i],
        cr: data.cr[i], e: data.e[i], sm: data.sm[i] };
    });
  }
  function renderLeague(state, resolved, data) {
    var tableEl = document.getElementById("league");
    var key = resolved.key;
    document.getElementById("league-caption").textContent =
      key.title + ", " + key.units + ", " + periodLabel(key.period) + " to " + SITE.latest + ". Select a column heading to sort.";
    var head = tableEl.querySelector("thead"), body = tableEl.querySelector("tbody");
    head.innerHTML = ""; body.innerHTML = "";
    var tr = el("tr");
    LEAGUE_COLUMNS.forEach(function (col) {
      var th = el("th", { scope: "col", "aria-sort": leagueSort.column === col.id ? (leagueSort.descending ? "descending" : "ascending") : "none" });
      var button = el("button", { type: "button", "data-sort": col.id }, col.label);
      button.addEventListener("click", function () {
        leagueSort = { column: col.id, descending: leagueSort.column === col.id ? !leagueSort.descending : !!col.num };
        renderLeague(state, resolved, data);
      });
      th.appendChild(button); tr.appendChild(th);
    });
    head.appendChild(tr);
    if (!data) { document.getElementById("league-count").textContent = "No practice values for this choice."; return; }
    var filter = document.getElementById("league-filter").value.trim().toLowerCase();
    var flag = document.getElementById("league-flag").value;
    var rows = leagueRows(data).filter(function (row) {
      if (filter && (row.name || "").toLowerCase().indexOf(filter) < 0 && row.code.toLowerCase().indexOf(filter) < 0) return false;
      if (flag === "high" || flag === "low") return row.o === flag;
      if (flag === "concern" || flag === "improvement") return row.s === flag;
      if (flag === "small") return row.sm === true;
      return true;
    });
    var col = leagueSort.column, sign = leagueSort.descending ? -1 : 1;
    rows.sort(function (a, b) {
      var x = a[col], y = b[col];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * sign || (a.code < b.code ? -1 : 1);
    });
    rows.forEach(function (row) {
      var r = el("tr", { "data-code": row.code });
      var th = el("th", { scope: "row" });
      var a = el("a", { href: practiceHref(row.code, state) }, row.name || row.code);
      th.appendChild(a);
      th.appendChild(el("span", { "class": "code" }, " " + row.code + (row.sm ? " (small: not ranked)" : "")));
      r.appendChild(th);
      [["size", fmt(row.size, 0)], ["v", fmt(row.v)], ["n", fmt(row.n)], ["d", fmt(row.d, 0)],
        ["r", row.r === null ? "not ranked" : fmt(row.r, 1)], ["dec", row.dec === null ? "–" : row.dec],
        ["o", flagText(row.o)], ["f", flagText(row.f)], ["s", signalText(row.s)],
        ["ca", signed(row.ca)], ["cr", pct(row.cr)]].forEach(function (cell) {
        var td = el("td", { "data-col": cell[0] }, cell[1]);
        if (typeof row[cell[0]] === "number") td.setAttribute("data-value", row[cell[0]]);
        if (cell[0] === "o" && row.o === "high") td.className = "flag-high";
        if (cell[0] === "o" && row.o === "low") td.className = "flag-low";
        if (cell[0] === "s" && row.s) td.className = "signal-" + row.s;
        r.appendChild(td);
      });
      body.appendChild(r);
    });
    document.getElementById("league-count").textContent = "Showing " + rows.length + " of " + data.c.length + " practices.";
  }
  function flagText(flag) { return flag ? FLAG_LABEL[flag] : "–"; }
  function signalText(signal) { return signal ? SIGNAL_LABEL[signal] : "–"; }
  function periodLabel(p) { return { "1m": "the month", "3m": "3 months", "12m": "12 months" }[p]; }

  function renderOrgFunnel(state, resolved, data) {
    var key = resolved.key;
    if (!data || !SITE.national[key.key] || !SITE.national[key.key].funnel) { noChart("funnel-chart", "No funnel plot for this choice."); return; }
    var rows = leagueRows(data).filter(function (row) { return row.e && row.v !== null && row.d; });
    var traces = funnelLimitTraces(key);
    [["within", "Within the adjusted limits", COLOUR.grey, "circle"],
     ["high", "Above the adjusted 99.8% limit", COLOUR.concern, "triangle-up"],
     ["low", "Below the adjusted 99.8% limit", COLOUR.improvement, "triangle-down"]].forEach(function (group) {
      var members = rows.filter(function (row) { return (row.o || "within") === group[0]; });
      if (!members.length) return;
      traces.push({
        x: members.map(function (r) { return r.d; }), y: members.map(function (r) { return r.v; }),
        customdata: members.map(function (r) { return r.code; }), text: members.map(function (r) { return r.name; }),
        type: "scatter", mode: "markers", name: group[1], meta: "practices",
        marker: { color: group[2], symbol: group[3], size: 9, line: { color: "#fff", width: 1 } },
        hovertemplate: "%{text} (%{customdata})<br>value %{y:.2f}<br>denominator %{x:,}<extra></extra>"
      });
    });
    var box = document.getElementById("funnel-chart");
    Plotly.react(box, traces, layout(key, key.units, { xaxis: { title: { text: "Denominator (" + denominatorLabel(key) + ")" }, type: "log", gridcolor: "#e8edee" } }), PLOT_CONFIG);
    if (!box.dataset.clickBound) {
      box.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (point && typeof point.customdata === "string") window.location.href = practiceHref(point.customdata, readState());
      });
      box.dataset.clickBound = "1";
    }
    box.setAttribute("data-points", rows.length);
    var excluded = data.c.length - rows.length;
    document.getElementById("funnel-help").textContent =
      rows.length + " eligible practices are plotted" + (excluded ? " (" + excluded + " small or without a value are not)" : "") +
      ". Dashed lines: 95% limits; solid: 99.8% limits. Grey: plain limits; dark blue: limits widened for over-dispersion, the ones to act on. Select a dot to open the practice.";
    funnelTable(key);
  }
  function denominatorLabel(key) {
    return { patients: "registered patients", adults: "registered adults", long_acting_items: "long-acting items" }[key.denominator_type] +
      (key.period === "1m" ? "" : ", summed over " + key.period.replace("m", " months"));
  }

  function renderOrganisation(state, resolved) {
    var key = resolved.key;
    var series = PAGE.series[key.key];
    var rate = (SITE.national[key.key] || {}).rate;
    if (series) {
      var last = series.v.length - 1;
      headline([
        { label: PAGE.name + ", " + SITE.latest, value: fmt(series.v[last]), id: "headline-value" },
        { label: "England (eligible practices)", value: fmt(rate) },
        { label: "Rank among organisations of this level", value: series.r[last] === null ? "not ranked" : fmt(series.r[last], 1) + " percentile" },
        { label: "Numerator / denominator", value: fmt(series.n[last]) + " / " + fmt(series.d[last], 0) }
      ]);
      Plotly.react("trend-chart", decileTraces(key).concat([seriesTrace(series, PAGE.name)]), layout(key), PLOT_CONFIG);
      trendTable(key, series);
    } else {
      headline([{ label: "No values", value: "–" }]);
      noChart("trend-chart", "No values for this choice.");
    }
    loadLeague(key.key, function (data) {
      renderLeague(state, resolved, data);
      renderOrgFunnel(state, resolved, data);
      ready();
    });
  }

  // ---- practice pages ------------------------------------------------------------------
  function renderPractice(state, resolved) {
    var key = resolved.key;
    var series = PAGE.series[key.key];
    if (!series) {
      headline([{ label: "No values", value: "–" }]);
      ["trend-chart", "spc-chart", "funnel-chart"].forEach(function (id) { noChart(id, "No values for this choice."); });
      renderProducts(resolved);
      ready();
      return;
    }
    var last = series.last || {};
    var j = series.v.length - 1;
    var monthly = PAGE.series[resolved.monthly.key] || {};
    var spc = monthly.spc;
    var latestSignal = spc ? spc.s[spc.s.length - 1] : null;
    headline([
      { label: "Value, " + monthLabel(series.m[j]), value: fmt(series.v[j]), id: "headline-value" },
      { label: "Percentile rank in England", value: series.r[j] === null ? (last.sm ? "not ranked (small practice)" : "not ranked") : fmt(series.r[j], 1) },
      { label: "Funnel (adjusted / plain)", value: flagText(last.o) + " / " + flagText(last.f), cls: last.o === "high" ? "flag-high" : "" },
      { label: "SPC, latest month", value: signalText(latestSignal), cls: latestSignal ? "signal-" + latestSignal : "" },
      { label: "Change on 12 months", value: signed(last.ca) + " (" + pct(last.cr) + ")" }
    ]);
    Plotly.react("trend-chart", decileTraces(key).concat([seriesTrace(series, PAGE.name)]), layout(key), PLOT_CONFIG);
    trendTable(key, series);
    renderSpc(resolved.monthly, monthly);
    renderPracticeFunnel(key, series);
    renderProducts(resolved);
    ready();
  }

  function renderSpc(key, series) {
    var help = document.getElementById("spc-help");
    if (!series || !series.spc) {
      noChart("spc-chart", "Too few monthly values for an SPC chart (it needs at least 12).");
      help.textContent = "";
      document.getElementById("spc-table").textContent = "";
      return;
    }
    var spc = series.spc, x = series.m.map(monthDate);
    var traces = [
      { x: x, y: series.v, type: "scatter", mode: "lines", name: "Monthly value", line: { color: COLOUR.grey, width: 1 }, hoverinfo: "skip", meta: "spc-line" },
      { x: [x[0], x[x.length - 1]], y: [spc.mean, spc.mean], type: "scatter", mode: "lines", name: "Mean", line: { color: COLOUR.rate, width: 2 }, meta: "spc-mean" },
      { x: [x[0], x[x.length - 1]], y: [spc.ucl, spc.ucl], type: "scatter", mode: "lines", name: "Process limits", line: { color: COLOUR.rate, width: 1, dash: "dash" }, meta: "spc-ucl" },
      { x: [x[0], x[x.length - 1]], y: [spc.lcl, spc.lcl], type: "scatter", mode: "lines", name: "", showlegend: false, line: { color: COLOUR.rate, width: 1, dash: "dash" }, meta: "spc-lcl" }
    ];
    ["common_cause", "concern", "improvement", "neither"].forEach(function (signal) {
      var idx = [];
      spc.s.forEach(function (s, i) { if (s === signal) idx.push(i); });
      if (!idx.length) return;
      traces.push({
        x: idx.map(function (i) { return x[i]; }), y: idx.map(function (i) { return series.v[i]; }),
        text: idx.map(function (i) { return spc.rules[i] || "no rule"; }), type: "scatter", mode: "markers",
        name: SIGNAL_LABEL[signal], meta: "spc-" + signal,
        marker: { color: COLOUR[signal === "common_cause" ? "grey" : signal], symbol: SIGNAL_SYMBOL[signal], size: signal === "common_cause" ? 7 : 10 },
        hovertemplate: "%{x|%b %Y}: %{y:.2f}<br>%{text}<extra>" + SIGNAL_LABEL[signal] + "</extra>"
      });
    });
    Plotly.react("spc-chart", traces, layout(key, key.units, { yaxis: { title: { text: key.units }, gridcolor: "#e8edee" } }), PLOT_CONFIG);
    var fired = {};
    spc.rules.forEach(function (r) { (r || "").split(",").forEach(function (rule) { if (rule) fired[rule.trim()] = true; }); });
    help.textContent = "Monthly values (" + key.title.toLowerCase() + ", per " + denominatorLabel(key) + "). Mean " + fmt(spc.mean) +
      ", process limits " + fmt(spc.lcl) + " to " + fmt(spc.ucl) + " (mean ± 2.66 × mean moving range), computed over all " + series.m.length +
      " months from " + monthLabel(series.m[0]) + " to " + monthLabel(series.m[series.m.length - 1]) + ". Orange diamonds: concern; blue squares: improvement; grey: common cause. " +
      (Object.keys(fired).length ? "Rules that fired: " + Object.keys(fired).join(", ").replace(/_/g, " ") + "." : "No special-cause rule fired.");
    table(document.getElementById("spc-table"), ["Month", "Value", "Signal", "Rules"],
      series.m.map(function (i, j) { return [monthLabel(i), fmt(series.v[j]), signalText(spc.s[j]), (spc.rules[j] || "").replace(/_/g, " ")]; }),
      "SPC: mean " + fmt(spc.mean) + ", limits " + fmt(spc.lcl) + " to " + fmt(spc.ucl));
  }

  function renderPracticeFunnel(key, series) {
    var national = SITE.national[key.key] || {};
    var last = series.last || {};
    var j = series.v.length - 1;
    var help = document.getElementById("funnel-help");
    if (!national.funnel || series.m[j] !== SITE.months.length - 1 || series.v[j] === null || !series.d[j]) {
      noChart("funnel-chart", "The practice has no value on the national funnel for " + SITE.latest + ".");
      help.textContent = "";
      document.getElementById("funnel-table").textContent = "";
      return;
    }
    var traces = funnelLimitTraces(key);
    traces.push({ x: [series.d[j]], y: [series.v[j]], type: "scatter", mode: "markers+text", name: PAGE.name, meta: "selected",
      text: [PAGE.code], textposition: "top center",
      marker: { color: COLOUR.org, size: 14, symbol: "star", line: { color: "#fff", width: 1 } },
      hovertemplate: PAGE.name + "<br>value %{y:.2f}<br>denominator %{x:,}<extra></extra>" });
    Plotly.react("funnel-chart", traces, layout(key, key.units, { xaxis: { title: { text: "Denominator (" + denominatorLabel(key) + ")" }, type: "log", gridcolor: "#e8edee" } }), PLOT_CONFIG);
    help.textContent = "In " + monthLabel(series.m[j]) + " the practice's value is " + fmt(series.v[j]) + " against England's " + fmt(national.rate) +
      "; its adjusted 99.8% limits are " + fmt(last.ol998) + " to " + fmt(last.ou998) + " and its plain 99.8% limits " + fmt(last.l998) + " to " + fmt(last.u998) +
      ": " + (last.o ? flagText(last.o) + " (adjusted), " + flagText(last.f) + " (plain)." : "not flagged (not eligible).");
    funnelTable(key);
  }

  function renderProducts(resolved) {
    var data = PAGE.products;
    var select = document.getElementById("products-month");
    var tableEl = document.getElementById("products");
    var head = tableEl.querySelector("thead"), body = tableEl.querySelector("tbody");
    head.innerHTML = ""; body.innerHTML = "";
    if (!data) { document.getElementById("products-note").textContent = "No opioid products in the last 12 months."; return; }
    var months = [];
    data.rows.forEach(function (row) { if (months.indexOf(row[0]) < 0) months.push(row[0]); });
    months.sort(function (a, b) { return b - a; });
    if (!select.options.length) {
      months.forEach(function (i) { select.appendChild(el("option", { value: i }, monthLabel(i))); });
      select.addEventListener("change", function () { renderProducts(resolve(readState())); });
    }
    var month = +select.value;
    var threshold = resolved.key.high_dose_threshold_mg || +readState().t;
    var rows = data.rows.filter(function (row) { return row[0] === month; }).sort(function (a, b) { return (b[4] || 0) - (a[4] || 0); });
    var tr = el("tr");
    ["Product", "Substance", "Route and form", "Items", "Quantity", "mg OME a day", "Likely daily dose (mg OME)", "Counted in"].forEach(function (h) {
      tr.appendChild(el("th", { scope: "col" }, h));
    });
    head.appendChild(tr);
    document.getElementById("products-caption").textContent = "Opioid products dispensed in " + monthLabel(month) + ", largest oral morphine equivalent first. High dose: likely daily dose at or above " + threshold + " mg.";
    rows.forEach(function (row) {
      var p = data.products[row[1]];
      var counted = [];
      if (p.ns) counted.push("non-cancer scope");
      if (p.strong) counted.push("strong");
      if (p.rla) counted.push("regular long-acting");
      if (p.patch) counted.push("patch");
      if (p.rla && p.dose !== null && p.dose >= threshold) counted.push("high dose");
      if (!p.resolved) counted.push("no OME (unresolved)");
      if (p.implausible) counted.push("implausible quantity");
      var r = el("tr");
      var th = el("th", { scope: "row" }, p.name);
      r.appendChild(th);
      [p.substance || "–", (p.route || "") + " " + (p.form || ""), fmt(row[2], 0), fmt(row[3]), fmt(row[4]), fmt(p.dose), counted.join(", ") || "–"].forEach(function (cell) {
        r.appendChild(el("td", {}, cell));
      });
      body.appendChild(r);
    });
    document.getElementById("products-note").textContent = rows.length + " products.";
  }

  // ---- wiring --------------------------------------------------------------------------
  function ready() { document.body.setAttribute("data-ready", "1"); }
  function render() {
    document.body.setAttribute("data-ready", "0");
    var state = readState();
    var resolved = resolve(state);
    ["c", "d", "p", "t"].forEach(function (name) {
      var select = document.querySelector('#choosers select[name="' + name + '"]');
      if (select) select.value = state[name];
    });
    document.getElementById("chooser-note").textContent = resolved.notes.join(" ");
    var key = resolved.key;
    document.getElementById("key-title").textContent = key.title + ": " + key.units +
      (key.high_dose_threshold_mg ? " (high dose: " + key.high_dose_threshold_mg + " mg OME a day or more)" : "") + ", " +
      { "1m": "single month", "3m": "3-month rolling", "12m": "12-month rolling" }[key.period] + " values.";
    carryState(state);
    if (PAGE.kind === "organisation") renderOrganisation(state, resolved);
    else if (PAGE.kind === "practice") renderPractice(state, resolved);
  }
  function onChoose(event) {
    var state = readState();
    state[event.target.name] = event.target.value;
    var qs = query(state);
    try { window.history.replaceState(null, "", qs); } catch (e) { window.location.search = qs; return; }
    if (window.location.search !== qs) { window.location.search = qs; return; }
    render();
  }
  function init() {
    if (PAGE.kind !== "organisation" && PAGE.kind !== "practice") { carryState(readState()); ready(); return; }
    Array.prototype.forEach.call(document.querySelectorAll("#choosers select"), function (select) {
      select.addEventListener("change", onChoose);
    });
    var state = readState();
    ["league-filter", "league-flag"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.addEventListener("input", function () {
        var resolved = resolve(readState());
        loadLeague(resolved.key.key, function (data) { renderLeague(readState(), resolved, data); });
      });
    });
    render();
  }
  window.OPIOIDS_DASHBOARD = { readState: readState, resolve: resolve };
  init();
})();
