/// The console's style sheet and script, shipped inside the binary and served under `/ui/assets/`
/// (separate files, because the Content-Security-Policy allows no inline script or style).
enum ConsoleAssets {
    /// An asset: its bytes as text and its content type.
    struct Asset: Sendable {
        let contentType: String
        let text: String
    }

    /// The assets by file name.
    static let byName: [String: Asset] = [
        "console.css": Asset(contentType: "text/css; charset=utf-8", text: css),
        "console.js": Asset(contentType: "text/javascript; charset=utf-8", text: javaScript),
        "favicon.svg": Asset(contentType: "image/svg+xml", text: favicon),
    ]

    /// A clock face, so browsers do not ask for /favicon.ico.
    static let favicon = """
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#17233b"/>\
    <path d="M16 8v8l6 4" stroke="#f5a623" stroke-width="3" fill="none" stroke-linecap="round"/></svg>
    """

    /// Colours, layout (one column below 700 px, tables scroll sideways inside their box) and
    /// visible keyboard focus.
    static let css = """
    :root { --fg: #1d2330; --muted: #5b6475; --bg: #f6f7f9; --card: #fff; --line: #d9dde4; --accent: #1f5fbf;
      --ok: #1b7a3d; --bad: #b42318; --warn: #9a6700; --info: #1f5fbf; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    * { box-sizing: border-box; }
    body { margin: 0; color: var(--fg); background: var(--bg); font-size: 15px; line-height: 1.45; }
    a { color: var(--accent); }
    :focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
    .skip { position: absolute; left: -10000px; top: 0; }
    .skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px 10px; z-index: 10; }
    header { background: #17233b; color: #fff; }
    header nav { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 16px; max-width: 1200px; margin: 0 auto; padding: 10px 16px; }
    header .brand { font-weight: 700; margin-right: 12px; color: #fff; text-decoration: none; }
    header nav a { color: #dbe6ff; text-decoration: none; padding: 4px 2px; }
    header nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #f5a623; }
    header form { margin-left: auto; }
    header button { background: transparent; color: #dbe6ff; border: 1px solid #6b7a99; }
    main { max-width: 1200px; margin: 0 auto; padding: 16px; }
    h1 { font-size: 1.5rem; margin: 8px 0 12px; overflow-wrap: anywhere; }
    h2 { font-size: 1.15rem; margin: 24px 0 8px; }
    .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; }
    .table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); background: #fafbfc; white-space: nowrap; }
    tbody tr:last-child td { border-bottom: none; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; }
    pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; background: #f1f3f6; padding: 6px 8px; border-radius: 4px; max-height: 16em; overflow-y: auto; }
    .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .82rem; font-weight: 600; background: #e8ebf0; color: var(--fg); white-space: nowrap; }
    .badge.succeeded, .badge.up { background: #dcf3e3; color: var(--ok); }
    .badge.failed, .badge.timed_out, .badge.down { background: #fde4e1; color: var(--bad); }
    .badge.running { background: #dce8fb; color: var(--info); }
    .badge.queued { background: #fff1cc; color: var(--warn); }
    .badge.paused, .badge.cancelled { background: #ececec; color: #444; }
    dl.fields { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 6px 16px; margin: 0; }
    @media (max-width: 1000px) { dl.fields { grid-template-columns: max-content 1fr; } }
    h3 { font-size: 1rem; margin: 16px 0 6px; }
    dl.fields dt { color: var(--muted); }
    dl.fields dd { margin: 0; overflow-wrap: anywhere; }
    form.filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: flex-end; margin-bottom: 12px; }
    form.filters .field { display: flex; flex-direction: column; }
    label { font-weight: 600; font-size: .9rem; }
    input, select, textarea, button { font: inherit; }
    input, select, textarea { border: 1px solid #aab2c0; border-radius: 6px; padding: 6px 8px; background: #fff; color: var(--fg); max-width: 100%; }
    textarea { width: 100%; min-height: 6em; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
    button, .button { display: inline-block; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px;
      padding: 6px 14px; cursor: pointer; text-decoration: none; font-weight: 600; }
    button.secondary, .button.secondary { background: #fff; color: var(--accent); }
    button.danger { background: var(--bad); border-color: var(--bad); }
    .actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 16px; }
    .actions form { margin: 0; }
    form.stacked .row { margin-bottom: 14px; display: flex; flex-direction: column; gap: 4px; max-width: 640px; }
    form.stacked .row.check { flex-direction: row; align-items: center; gap: 8px; }
    .hint { color: var(--muted); font-size: .85rem; }
    .field-error { color: var(--bad); font-weight: 600; font-size: .9rem; }
    [aria-invalid="true"] { border-color: var(--bad); box-shadow: 0 0 0 1px var(--bad); }
    .alert { border-radius: 8px; padding: 10px 14px; margin-bottom: 14px; border: 1px solid; }
    .alert.error { background: #fde4e1; border-color: #f3b4ab; color: #7a1a10; }
    .alert.notice { background: #dcf3e3; border-color: #a7dbb8; color: #14532d; }
    .muted { color: var(--muted); }
    .pager { display: flex; gap: 12px; margin-top: 12px; }
    #live-status { font-size: .8rem; color: var(--muted); margin: 0 0 8px; min-height: 1.2em; }
    #live-status.stale { color: var(--bad); font-weight: 600; }
    .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin-bottom: 16px; }
    .stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
    .stat .value { font-size: 1.6rem; font-weight: 700; }
    .signin { max-width: 420px; margin: 40px auto; }
    @media (max-width: 700px) {
      main { padding: 10px; }
      dl.fields { grid-template-columns: 1fr; gap: 0 0; }
      dl.fields dd { margin-bottom: 8px; }
      th, td { padding: 6px 8px; }
      header form { margin-left: 0; }
      form.filters .field, form.filters input, form.filters select { width: 100%; }
      table.cards thead { position: absolute; left: -10000px; }
      table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
      table.cards tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
      table.cards tbody tr:last-child { border-bottom: none; }
      table.cards td { border: none; padding: 3px 10px; display: flex; align-items: flex-start; gap: 10px; text-align: left; }
      table.cards td::before { content: attr(data-label); flex: 0 0 7.5em; color: var(--muted); font-size: .8rem;
        text-transform: uppercase; letter-spacing: .03em; padding-top: 2px; }
      table.cards td > * { min-width: 0; }
    }
    """

    /// Confirmation of the forms that carry `data-confirm`, and the live region: every second the page's
    /// own URL is asked for its `#live` fragment as JSON (`X-Console-Live: 1`) and swapped in place,
    /// keeping the scroll position, the focused control and open `<details>`; the filters live outside it.
    static let javaScript = """
    (function () {
      'use strict';
      document.addEventListener('submit', function (event) {
        var question = event.target.getAttribute('data-confirm');
        if (question && !window.confirm(question)) { event.preventDefault(); }
      });
      var live = document.getElementById('live');
      var status = document.getElementById('live-status');
      if (!live) { return; }
      var busy = false;
      var last = null;
      function show(text, stale) {
        if (!status) { return; }
        status.textContent = text;
        status.classList.toggle('stale', stale);
      }
      function swap(html) {
        var active = document.activeElement;
        var focusedId = active && active.id && live.contains(active) ? active.id : null;
        var open = Array.prototype.map.call(live.querySelectorAll('details[open][id]'), function (d) { return d.id; });
        var x = window.scrollX, y = window.scrollY;
        live.innerHTML = html;
        open.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
        if (focusedId) { var f = document.getElementById(focusedId); if (f) { f.focus({ preventScroll: true }); } }
        window.scrollTo(x, y);
      }
      function refresh() {
        if (busy || document.hidden) { return; }
        busy = true;
        fetch(live.getAttribute('data-src') || window.location.href, { headers: { 'X-Console-Live': '1', 'Accept': 'application/json' },
                                      credentials: 'same-origin', cache: 'no-store' })
          .then(function (response) {
            if (response.status === 401) { window.location.reload(); return null; }
            if (!response.ok) { throw new Error('HTTP ' + response.status); }
            return response.json();
          })
          .then(function (answer) {
            if (!answer) { return; }
            if (answer.html !== last) { last = answer.html; swap(answer.html); }
            show('Live \\u00b7 updated ' + new Date().toLocaleTimeString(), false);
          })
          .catch(function (error) { show('Not updating: ' + error.message + ' (retrying)', true); })
          .then(function () { busy = false; });
      }
      window.setInterval(refresh, 1000);
      refresh();
    })();
    """
}
