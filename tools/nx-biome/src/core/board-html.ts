import { Eta } from 'eta';
import { BoardCell, BoardColumn, BoardModel } from './board';

/*
 * The board's pages as Eta templates: escaped by default (`<%= %>`), raw only
 * for the rendered page body inside the layout (`<%~ %>`). CSS and the
 * index's script are inline, the matrix's columns are script files of the
 * board (`data/<biome>.js`), and every link is relative, so the folder works
 * from file:// and from an S3 static website alike.
 */

const CSS = `
:root{--fg:#1d2430;--muted:#5c6675;--line:#d8dde5;--a0:#d8f3dc;--a1:#eef6d5;--a2:#fdf0cf;--a3:#f9d9d6;--prod:#2d6a4f;--staging:#2f5d9c}
*{box-sizing:border-box}body{font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;padding:16px 20px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}a{color:#1f5fbf;text-decoration:none}a:hover{text-decoration:underline}
.muted{color:var(--muted)}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f6f9;font-weight:600}.matrix-wrap{overflow:auto;max-height:80vh;border:1px solid var(--line)}
.matrix th{position:sticky;top:0;z-index:2;white-space:nowrap}.matrix th.proj,.matrix td.proj{position:sticky;left:0;z-index:1;background:#fff;white-space:nowrap}
.matrix th.proj{z-index:3;background:#f4f6f9}.matrix td.c{min-width:120px;max-width:170px}
.c .s{display:block;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:160px}.c .w{display:block;color:var(--muted)}
.a0{background:var(--a0)}.a1{background:var(--a1)}.a2{background:var(--a2)}.a3{background:var(--a3)}
.same{font-size:10px;font-weight:700;color:#fff;border-radius:3px;padding:0 3px;margin-left:3px}.same-prod{background:var(--prod)}.same-staging{background:var(--staging)}.same-other{background:#6c757d}
.dirty{color:#b00020;font-weight:700}.tag{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;background:#e9ecef}
.tag.asleep{background:#dcd6f7}.tag.expired{background:#f9d9d6}.tag.main{background:#d8f3dc}
.legend span{display:inline-block;margin-right:10px}.legend i{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:3px;border:1px solid var(--line)}
.st-same{color:var(--muted)}.st-differs{background:#fff7e0}.st-only-from,.st-only-to{background:#f3eefc}
ul.commits{margin:2px 0;padding-left:16px}a.show{font-size:11px;margin-left:4px}button.remove{font-size:10px;padding:0 3px;margin-left:2px;line-height:1.2}nav{margin-bottom:10px}input[type=search],select{font:inherit;padding:2px 4px}
`;

const LAYOUT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title><%= it.title %></title><style><%~ it.css %></style></head>
<body><nav><a href="<%= it.root %>index.html">Biome board</a> <span class="muted">· generated <%= it.generatedAt %></span></nav>
<%~ it.body %>
<% if (it.script) { %><script><%~ it.script %></script><% } %>
<% for (const src of it.scripts || []) { %><script src="<%= src %>"></script><% } %>
</body></html>
`;

const CELL = `<% const c = it.c %><code><%= c.short %></code> <small><%= c.age %></small><% for (const env of c.sameAs) { %><span class="same same-<%= env === 'prod' || env === 'staging' ? env : 'other' %>" title="same bytes as <%= env %>"><%= env %></span><% } %><% if (c.dirty) { %> <span class="dirty" title="built from a dirty tree">dirty</span><% } %><% if (c.subject) { %><span class="s"><%= c.subject %></span><% } %><span class="w"><%= c.who %></span>`;

const INDEX = `<h1>Biome board</h1>
<p class="muted"><% for (const e of it.model.environments) { %><%= e.name %>: <%= e.biomes %> biome(s) in <code><%= e.store %></code>. <% } %></p>
<% if (it.model.diffPages.length) { %><form id="compare">Compare <select id="pair" aria-label="biomes to compare"><% for (const d of it.model.diffPages) { %><option value="<%= d.page %>"><%= d.from %> → <%= d.to %> (<%= d.counts.differs + d.counts['only-from'] + d.counts['only-to'] %> differ)</option><% } %></select> <button type="submit">Show diff</button></form>
<% } %>
<p class="legend"><span><i class="a0"></i>commit under a day old</span><span><i class="a1"></i>under a week</span><span><i class="a2"></i>under a month</span><span><i class="a3"></i>older</span><span class="same same-staging">staging</span>/<span class="same same-prod">prod</span> same bytes as that environment's main biome</p>
<p><input type="search" id="filter" placeholder="filter projects" aria-label="filter projects">
<% if (it.model.columns.some((c) => c.sandpit)) { %> <select id="add-biome" aria-label="biome to add to the matrix"><% for (const col of it.model.columns) { %><% if (col.sandpit) { %><option value="<%= col.biome %>"><%= col.biome %> (<%= col.owner %>)</option><% } %><% } %></select> <button type="button" id="add-column">Add column</button> <button type="button" id="add-all">All biomes</button><% } %>
<span id="status" class="muted" role="status"><% if (!it.model.columns.some((c) => !c.sandpit)) { %>no main biome on this board: add a column to see what runs<% } %></span></p>
<noscript><p>The matrix needs JavaScript; the biome and diff pages below do not.</p></noscript>
<div class="matrix-wrap"><table class="matrix" id="matrix"><thead><tr><th class="proj">project</th></tr></thead><tbody>
<% for (const p of it.model.projects) { %><tr data-project="<%= p.project %>"><td class="proj"><%= p.project %> <span class="muted"><%= p.kind %></span></td></tr>
<% } %></tbody></table></div>
<h2>Biomes</h2>
<table class="biomes" id="biomes"><thead><tr><th>biome</th><th>environment</th><th>owner</th><th>projects</th><th>last deploy</th><th>expires</th><th>state</th></tr></thead><tbody>
<% for (const col of it.model.columns) { %><tr data-biome="<%= col.biome %>"><td><a href="<%= col.page %>"><%= col.biome %></a><% if (!col.sandpit) { %> <span class="tag main">main</span><% } else { %> <a class="show" href="#show=<%= col.biome %>" title="add its column to the matrix">show</a><% } %></td><td><%= col.environment %></td><td><%= col.owner %></td><td><%= col.projects %></td><td><%= col.lastDeploy %></td><td><%= col.expires %><% if (col.expired) { %> <span class="tag expired">expired</span><% } %></td><td><% if (col.asleep) { %><span class="tag asleep">asleep</span><% } else { %>awake<% } %></td></tr>
<% } %></tbody></table>
`;

/*
 * The index's script. A column is a script file (data/<biome>.js) that calls
 * biomeBoard.column(...): a <script> tag loads from file:// where fetch does
 * not. The main biomes' columns are loaded with the page; a sandpit's when it
 * is picked (the select, a "show" link in the biome table, or #show=a,b in the address, which
 * keeps the picked columns in a link; in the order given, `async=false`). Only biomes of the biome table are
 * loaded, so an address cannot make the page run another script. Cells are
 * built with textContent, never parsed as HTML.
 */
const INDEX_SCRIPT = `(function(){
var f=document.getElementById('compare');if(f){f.addEventListener('submit',function(e){e.preventDefault();location.href=document.getElementById('pair').value;});}
var table=document.getElementById('matrix'),head=table.tHead.rows[0],body=table.tBodies[0],status=document.getElementById('status');
var q=document.getElementById('filter');q.addEventListener('input',function(){var v=q.value.toLowerCase();var rows=body.rows;for(var i=0;i<rows.length;i++){rows[i].style.display=rows[i].getAttribute('data-project').indexOf(v)<0?'none':'';}});
var known={},main=[],pending={},shown=[],pick=document.getElementById('add-biome');
function offer(b,on){if(!pick)return;for(var i=0;i<pick.options.length;i++){if(pick.options[i].value===b)pick.options[i].disabled=!on;}}
var trs=document.querySelectorAll('#biomes tr[data-biome]');for(var i=0;i<trs.length;i++){known[trs[i].getAttribute('data-biome')]=true;}
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;return e;}
function col(b){for(var i=0;i<shown.length;i++){if(shown[i]===b)return i;}return -1;}
function sandpits(){var out=[];for(var i=0;i<shown.length;i++){if(main.indexOf(shown[i])<0)out.push(shown[i]);}return out;}
function remember(){var s=sandpits();var h=s.length?'#show='+s.join(','):'';if(location.hash!==h){if(h)location.hash=h;else history.replaceState(null,'',location.pathname+location.search);}}
function load(b){if(!known[b]||col(b)>=0||pending[b])return;pending[b]=true;status.textContent='loading '+b+'…';
var s=document.createElement('script');s.async=false;s.src='data/'+b+'.js';s.onerror=function(){delete pending[b];status.textContent='could not load data/'+b+'.js: is the board folder complete?';};document.body.appendChild(s);}
function cell(c,commits){var td=el('td','c '+c[2]);var k=commits[c[0]];td.title='deployed '+c[4]+' ('+c[5]+')';
td.appendChild(el('code',null,k[0].slice(0,8)));td.appendChild(document.createTextNode(' '));td.appendChild(el('small',null,c[1]));
var same=c[6]?c[6].split(','):[];for(var i=0;i<same.length;i++){var e=el('span','same same-'+(same[i]==='prod'||same[i]==='staging'?same[i]:'other'),same[i]);e.title='same bytes as '+same[i];td.appendChild(e);}
if(c[7]){td.appendChild(document.createTextNode(' '));var d=el('span','dirty','dirty');d.title='built from a dirty tree';td.appendChild(d);}
if(k[1]!=null)td.appendChild(el('span','s',k[1]));td.appendChild(el('span','w',c[3]));return td;}
function remove(b){var i=col(b);if(i<0)return;shown.splice(i,1);offer(b,true);head.removeChild(head.cells[i+1]);var rows=body.rows;for(var r=0;r<rows.length;r++){rows[r].removeChild(rows[r].cells[i+1]);}remember();}
window.biomeBoard={column:function(d){var wasPending=pending[d.biome];delete pending[d.biome];if(!known[d.biome]||col(d.biome)>=0)return;
if(!d.sandpit)main.push(d.biome);shown.push(d.biome);offer(d.biome,false);
var th=el('th');th.setAttribute('data-biome',d.biome);var a=el('a',null,d.biome);a.href=d.page;th.appendChild(a);th.appendChild(el('br'));th.appendChild(el('span','muted',d.owner));
if(d.asleep){th.appendChild(document.createTextNode(' '));th.appendChild(el('span','tag asleep','asleep'));}
if(d.expired){th.appendChild(document.createTextNode(' '));th.appendChild(el('span','tag expired','expired'));}
if(d.sandpit){var x=el('button','remove','×');x.type='button';x.title='remove the column';x.addEventListener('click',function(){remove(d.biome);});th.appendChild(document.createTextNode(' '));th.appendChild(x);}
head.appendChild(th);var rows=body.rows;for(var r=0;r<rows.length;r++){var c=d.cells[rows[r].getAttribute('data-project')];rows[r].appendChild(c?cell(c,d.commits):el('td','c'));}
if(wasPending){status.textContent='';remember();}}};
function fromHash(){var m=/^#show=(.*)$/.exec(location.hash);var want=m?decodeURIComponent(m[1]).split(','):[];var s=sandpits();for(var i=0;i<s.length;i++){if(want.indexOf(s[i])<0)remove(s[i]);}for(var j=0;j<want.length;j++)load(want[j]);}
if(pick){document.getElementById('add-column').addEventListener('click',function(){load(pick.value);});
document.getElementById('add-all').addEventListener('click',function(){for(var i=0;i<pick.options.length;i++)load(pick.options[i].value);});}
document.getElementById('biomes').addEventListener('click',function(e){var a=e.target.closest&&e.target.closest('a.show');if(!a)return;e.preventDefault();load(a.closest('tr').getAttribute('data-biome'));table.scrollIntoView();});
window.addEventListener('hashchange',fromHash);window.addEventListener('load',fromHash);})();`;

/**
 * A column's data file: a script calling `biomeBoard.column` with the
 * column's head and its cells, the commits listed once per file. A cell is
 * `[commit, age, ageClass, who, deployedAt, origin, sameAs (comma-separated), dirty (0/1)]`.
 */
export function renderColumnData(column: BoardColumn, cells: Record<string, BoardCell>): string {
  const commitIndex = new Map<string, number>();
  const commits: [string, string | null][] = [];
  const encoded: Record<string, (string | number)[]> = {};
  for (const [project, c] of Object.entries(cells)) {
    let i = commitIndex.get(c.sha);
    if (i === undefined) {
      commitIndex.set(c.sha, (i = commits.length));
      commits.push([c.sha, c.subject ?? null]);
    }
    encoded[project] = [i, c.age, c.ageClass, c.who, c.deployedAt, c.origin, c.sameAs.join(','), c.dirty ? 1 : 0];
  }
  const payload = {
    biome: column.biome,
    page: column.page,
    owner: column.owner,
    sandpit: column.sandpit,
    asleep: column.asleep,
    expired: column.expired,
    commits,
    cells: encoded,
  };
  // JSON is a JavaScript expression; the file is never inlined in HTML, so "</script>" in a subject is harmless.
  return `biomeBoard.column(${JSON.stringify(payload)});\n`;
}

/** The payload of a column data file (what `renderColumnData` wrote), e.g. for a test or a tool reading the board. */
export function parseColumnData(text: string): {
  biome: string;
  commits: [string, string | null][];
  cells: Record<string, [number, string, string, string, string, string, string, number]>;
} {
  const m = /^biomeBoard\.column\(([\s\S]*)\);\n?$/.exec(text);
  if (!m) throw new Error('not a board column data file');
  return JSON.parse(m[1]);
}

const BIOME = `<% const p = it.page, col = p.column %><h1>Biome <%= col.biome %></h1>
<p><%= col.environment %> · <%= col.sandpit ? 'sandpit' : 'main biome' %> · owner <b><%= col.owner %></b> · created <%= p.created %> · expires <%= col.expires %><% if (col.expired) { %> <span class="tag expired">expired</span><% } %> · <% if (col.asleep) { %><span class="tag asleep">asleep</span><% } else { %>awake<% } %> · last deploy <%= col.lastDeploy %></p>
<% if (p.diffs.length) { %><p>Compare: <% for (const d of p.diffs) { %><a href="../<%= d.page %>"><%= d.label %></a> <% } %></p><% } %>
<h2>What runs (<%= p.records.length %> projects)</h2>
<table class="ledger"><thead><tr><th>project</th><th>kind</th><th>commit</th><th>deployed</th><th>origin</th><th>artifact</th></tr></thead><tbody>
<% for (const r of p.records) { %><tr data-project="<%= r.project %>"><td><%= r.project %></td><td><%= r.kind %></td><td class="c <%= r.cell.ageClass %>"><%~ include('@cell', { c: r.cell }) %></td><td><%= r.cell.deployedAt %></td><td><%= r.cell.origin %></td><td><code><%= r.artifactKey %></code></td></tr>
<% } %></tbody></table>
<h2>History</h2>
<% if (p.historyTotal > p.history.length) { %><p class="muted">The newest <%= p.history.length %> of <%= p.historyTotal %> records.</p><% } %>
<table class="history"><thead><tr><th>time</th><th>project</th><th>action</th><th>commit</th><th>who</th><th>CI job</th></tr></thead><tbody>
<% for (const h of p.history) { %><tr><td><%= h.time %></td><td><%= h.project %></td><td><%= h.action %><% if (h.current) { %> <span class="tag main">current</span><% } %></td><td><code><%= h.short %></code> <%= h.subject || '' %></td><td><%= h.who %></td><td><% if (h.ciJobUrl) { %><a href="<%= h.ciJobUrl %>">job</a><% } %></td></tr>
<% } %></tbody></table>
`;

const DIFF = `<% const d = it.diff %><h1>Diff <%= d.from %> → <%= d.to %></h1>
<p><%= d.counts.differs %> differ · <%= d.counts['only-from'] %> only in <%= d.from %> · <%= d.counts['only-to'] %> only in <%= d.to %> · <%= d.counts.same %> the same</p>
<table class="diff" id="diff"><thead><tr><th>project</th><th><a href="../biomes/<%= d.from %>.html"><%= d.from %></a></th><th><a href="../biomes/<%= d.to %>.html"><%= d.to %></a></th><th>commits between them</th></tr></thead><tbody>
<% for (const r of d.rows) { %><tr class="st-<%= r.status %>" data-project="<%= r.project %>" data-status="<%= r.status %>"><td><%= r.project %></td><td><% if (r.from) { %><code><%= r.from.short %></code> <%= r.from.age %><% } else { %>—<% } %></td><td><% if (r.to) { %><code><%= r.to.short %></code> <%= r.to.age %><% } else { %>—<% } %></td><td><% if (r.status === 'same') { %>same bytes<% } else if (r.status !== 'differs') { %><%= r.status === 'only-from' ? 'only in ' + d.from : 'only in ' + d.to %><% } else { %><% if (r.ahead.length) { %><%= d.to %> has <%= r.ahead.length %><%= r.truncated ? '+' : '' %> commit(s) <%= d.from %> lacks:<ul class="commits"><% for (const c of r.ahead) { %><li><code><%= c.sha.slice(0, 8) %></code> <%= c.subject %> <span class="muted">(<%= c.author %>)</span></li><% } %></ul><% } %><% if (r.behind.length) { %><%= d.from %> has <%= r.behind.length %><%= r.truncated ? '+' : '' %> commit(s) <%= d.to %> lacks:<ul class="commits"><% for (const c of r.behind) { %><li><code><%= c.sha.slice(0, 8) %></code> <%= c.subject %> <span class="muted">(<%= c.author %>)</span></li><% } %></ul><% } %><% if (r.note) { %><span class="muted"><%= r.note %></span><% } %><% } %></td></tr>
<% } %></tbody></table>
`;

let engine: Eta | undefined;

function eta(): Eta {
  if (!engine) {
    engine = new Eta({ autoEscape: true, autoTrim: false, cache: true });
    engine.loadTemplate('@layout', LAYOUT);
    engine.loadTemplate('@cell', CELL);
    engine.loadTemplate('@index', INDEX);
    engine.loadTemplate('@biome', BIOME);
    engine.loadTemplate('@diff', DIFF);
  }
  return engine;
}

function page(
  title: string,
  root: string,
  generatedAt: string,
  body: string,
  script?: string,
  scripts?: string[],
): string {
  return eta().render('@layout', { title, root, generatedAt, body, css: CSS, script, scripts });
}

/** Renders every page of the board: file path (relative to the board's root) → HTML. */
export function renderBoard(model: BoardModel): Map<string, string> {
  const e = eta();
  const files = new Map<string, string>();
  // The index holds no cell: the main biomes' columns load with it, a sandpit's when picked.
  const initial = model.columns.filter((c) => !c.sandpit).map((c) => c.data);
  files.set(
    'index.html',
    page('Biome board', '', model.generatedAt, e.render('@index', { model }), INDEX_SCRIPT, initial),
  );
  model.columns.forEach((c, i) => files.set(c.data, renderColumnData(c, model.cells[i])));
  for (const p of model.biomePages)
    files.set(
      p.column.page,
      page(`Biome ${p.column.biome}`, '../', model.generatedAt, e.render('@biome', { page: p })),
    );
  for (const d of model.diffPages)
    files.set(d.page, page(`Diff ${d.from} → ${d.to}`, '../', model.generatedAt, e.render('@diff', { diff: d })));
  return files;
}
