// snapsim's web view: a time machine over one recorded run (a "replay"), and a tree of what-if
// forks of it. The page never simulates: every panel shows what the replay recorded at the
// scrubbed instant `t` (µs of virtual time). A fork is an edit of the scenario document that the
// server runs from the start (POST /api/run); in a static export (snapsim replay --html) there is
// no server, so the picker and the what-ifs are hidden.
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

// ---------------------------------------------------------------- formatting (Flink's web UI style)
function fmtTime(us) {
  if (us == null) return "-";
  if (us >= 1e6) return (us / 1e6).toFixed(us % 1e6 === 0 ? 0 : 3) + " s";
  if (us >= 1e3) return (us / 1e3).toFixed(us % 1e3 === 0 ? 0 : 1) + " ms";
  return us + " µs";
}
function fmtDuration(us) {
  if (us == null) return "-";
  if (us < 1000) return us + " µs";
  if (us < 1e6) return Math.round(us / 1000) + "ms";
  return (us / 1e6).toFixed(1) + "s";
}
function fmtBytes(b) {
  if (b == null) return "-";
  if (b < 1024) return b + " B";
  if (b < 1024 * 1024) return (b / 1024).toFixed(1) + " KB";
  if (b < 1024 ** 3) return (b / 1024 / 1024).toFixed(1) + " MB";
  return (b / 1024 ** 3).toFixed(2) + " GB";
}
const statusWords = {
  passed: "PASSED", failed_as_expected: "FAILED AS EXPECTED", failed: "FAILED",
  expected_failure_missing: "EXPECTED FAILURE MISSING", lesson_not_shown: "LESSON NOT SHOWN", cut_short: "CUT SHORT",
};

// ---------------------------------------------------------------- state
const ui = {
  live: false,          // served by `snapsim ui` (forks possible)
  base: null,           // the scenario file the fork tree grows from
  forks: [],            // {id, parent, label, replay, document}
  current: 0,           // index into forks
  t: 0,
  playing: false,
  speedUsPerS: 1e6,
  tab: null,
  zoom: 1,              // space-time window = run length / zoom
  cpTab: "overview",
  selectedCheckpoint: null,
  highlight: null,      // {message: id} to draw in red after a jump to a violation
  events: [], barriers: [],
};
const replay = () => ui.forks[ui.current].replay;

// ---------------------------------------------------------------- loading
async function start() {
  const embedded = $("replay-data");
  if (embedded) {
    const r = JSON.parse(embedded.textContent);
    ui.forks = [{ id: 0, parent: null, label: "original", replay: r, document: r.document }];
    show(0, 0);
    return;
  }
  ui.live = true;
  try {
    const listing = await (await fetch("/api/scenarios")).json();
    const picker = $("scenario-picker");
    picker.hidden = false;
    picker.innerHTML = listing.scenarios.map((s) =>
      `<option value="${esc(s.file)}">${esc(s.file)} — ${esc(s.world === "dataflow" ? "Flink job" : "Chandy-Lamport")}</option>`).join("");
    picker.onchange = () => openScenario(picker.value);
    const wanted = decodeURIComponent(location.hash.slice(1)) || listing.initial;
    picker.value = wanted;
    await openScenario(picker.value || listing.initial);
  } catch (e) {
    fail("cannot reach the snapsim ui server: " + e);
  }
}

async function openScenario(file) {
  $("loading").hidden = false;
  $("error").hidden = true;
  const response = await fetch("/api/replay/" + encodeURIComponent(file));
  const body = await response.json();
  $("loading").hidden = true;
  if (!response.ok) { fail(body.error); return; }
  location.hash = encodeURIComponent(file);
  ui.base = file;
  ui.forks = [{ id: 0, parent: null, label: "original", replay: body, document: body.document }];
  ui.selectedCheckpoint = null;
  show(0, 0);
}

function fail(message) {
  $("loading").hidden = true;
  const e = $("error");
  e.textContent = message;
  e.hidden = false;
}

// Shows fork `index` at instant `t`.
function show(index, t) {
  ui.current = index;
  const r = replay();
  if (r.format !== 1) { fail("this page cannot read replay format " + r.format); return; }
  $("loading").hidden = true;
  $("scenario-name").textContent = r.scenario + (index > 0 ? "  (fork " + index + ")" : "");
  const status = r.report.outcome.status;
  $("verdict").textContent = statusWords[status] || status;
  $("verdict").className = "badge " + status;
  $("verdict").title = (r.report.outcome.failed_invariants || []).join(", ");
  $("digest").textContent = "seed " + r.seed + " · digest " + r.digest;
  $("description").textContent = r.description;
  $("notes").innerHTML = r.notes.map((n) => `<li>${esc(n)}</li>`).join("") +
    (r.world === "dataflow" ? "<li>Records are counted, not drawn one by one: how many each channel holds at t is under Job graph (Channels at t, and on each edge) and is the grey band under each subtask in the space-time view.</li>" : "");
  indexEvents(r);
  const word = r.world === "dataflow" ? "barrier" : "marker";
  $("barrier-back").textContent = "⟨ " + word;
  $("barrier-forward").textContent = word + " ⟩";
  const scrubber = $("scrubber");
  scrubber.max = String(r.end_us);
  setupSpeed(r);
  buildTabs(r);
  seek(Math.min(t, r.end_us));
}

// The instants the step buttons visit.
function indexEvents(r) {
  const all = new Set(), barriers = new Set();
  for (const a of r.diagram.arrows) {
    all.add(a.send_us); all.add(a.receive_us);
    if (a.kind === "barrier" || a.kind === "marker") { barriers.add(a.send_us); barriers.add(a.receive_us); }
  }
  for (const d of r.diagram.recorded_states) all.add(d.time_us);
  for (const m of r.moments) all.add(m.at_us);
  ui.events = [...all].filter((x) => x <= r.end_us).sort((a, b) => a - b);
  ui.barriers = [...barriers].filter((x) => x <= r.end_us).sort((a, b) => a - b);
}

function setupSpeed(r) {
  const options = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
  const target = r.end_us / 20;
  let best = options[0];
  for (const o of options) if (Math.abs(Math.log(o / target)) < Math.abs(Math.log(best / target))) best = o;
  if (!options.includes(ui.speedUsPerS) || ui.forks.length === 1) ui.speedUsPerS = best;
  $("speed").innerHTML = options.map((o) => `<option value="${o}" ${o === ui.speedUsPerS ? "selected" : ""}>${fmtTime(o)} / s</option>`).join("");
}

// ---------------------------------------------------------------- tabs
function buildTabs(r) {
  const tabs = r.world === "dataflow"
    ? ["graph", "checkpoints", "spacetime", "invariants", "whatif"]
    : ["processes", "spacetime", "invariants", "whatif"];
  if (!ui.live) tabs.pop();
  if (!tabs.includes(ui.tab)) ui.tab = tabs[0];
  $("tabs").innerHTML = tabs.map((id, i) =>
    `<button data-tab="${id}" class="${id === ui.tab ? "active" : ""}" title="${i + 1}">${esc($("panel-" + id).dataset.title)}</button>`).join("");
  for (const b of $("tabs").querySelectorAll("button")) b.onclick = () => selectTab(b.dataset.tab);
  for (const p of document.querySelectorAll(".panel")) p.classList.toggle("active", p.id === "panel-" + ui.tab);
  if (ui.live) renderWhatIf();
}
function selectTab(id) {
  ui.tab = id;
  for (const b of $("tabs").querySelectorAll("button")) b.classList.toggle("active", b.dataset.tab === id);
  for (const p of document.querySelectorAll(".panel")) p.classList.toggle("active", p.id === "panel-" + id);
  render();
}

// ---------------------------------------------------------------- time
function seek(t) {
  const r = replay();
  ui.t = Math.max(0, Math.min(r.end_us, Math.round(t)));
  $("scrubber").value = String(ui.t);
  render();
}
function stepTo(list, direction) {
  const t = ui.t;
  if (direction > 0) { const next = list.find((x) => x > t); if (next != null) seek(next); }
  else { let prev = null; for (const x of list) { if (x < t) prev = x; else break; } if (prev != null) seek(prev); }
}
let lastFrame = null;
function togglePlay() {
  ui.playing = !ui.playing;
  $("play").textContent = ui.playing ? "❚❚" : "▶";
  if (ui.playing) { if (ui.t >= replay().end_us) seek(0); lastFrame = null; requestAnimationFrame(frame); }
}
function frame(now) {
  if (!ui.playing) return;
  if (lastFrame != null) {
    const t = ui.t + (now - lastFrame) / 1000 * ui.speedUsPerS;
    if (t >= replay().end_us) { seek(replay().end_us); togglePlay(); return; }
    seek(t);
  }
  lastFrame = now;
  requestAnimationFrame(frame);
}

function render() {
  const r = replay();
  $("time").textContent = "t = " + fmtTime(ui.t);
  const js = jobStatus(r, ui.t);
  $("job-status").textContent = js;
  $("job-status").className = "badge " + js.split(" ")[0];
  renderMoments(r);
  switch (ui.tab) {
    case "graph": renderGraph(r); break;
    case "checkpoints": renderCheckpoints(r); break;
    case "processes": renderProcesses(r); break;
    case "spacetime": renderSpaceTime(r); break;
    case "invariants": renderInvariants(r); break;
    case "whatif": renderForks(); break;
  }
}

// RUNNING, RESTARTING, FINISHED or FAILED at t, from the recorded moments.
function jobStatus(r, t) {
  if (r.world !== "dataflow") {
    const open = r.moments.filter((m) => m.at_us <= t && m.kind === "snapshot-start").length -
      r.moments.filter((m) => m.at_us <= t && m.kind === "snapshot-complete").length;
    return open > 0 ? "RUNNING (snapshot in progress)" : "RUNNING";
  }
  let status = "RUNNING", finished = 0;
  for (const m of r.moments) {
    if (m.at_us > t) break;
    if (m.kind === "failure") status = "RESTARTING";
    else if (m.kind === "restart") status = "RUNNING";
    else if (m.kind === "job-failed") status = "FAILED";
    else if (m.kind === "finished") finished++;
  }
  if (finished >= r.dataflow.tasks.length && status === "RUNNING") status = "FINISHED";
  return status;
}

// ---------------------------------------------------------------- the strip of moments
const momentColor = { trigger: "#56b4e9", complete: "#2e7d32", abort: "#b26a00", failure: "#c62828", restart: "#4d4d4d",
  "job-failed": "#c62828", finished: "#9ca3af", "snapshot-start": "#0072b2", "snapshot-complete": "#2e7d32", lost: "#c62828", violation: "#c62828" };
function renderMoments(r) {
  const strip = $("moments-strip");
  const width = strip.clientWidth || 1000, height = 26;
  const x = (us) => 4 + (us / r.end_us) * (width - 8);
  let s = `<svg id="moments-svg" viewBox="0 0 ${width} ${height}" height="${height}"><rect x="0" y="0" width="${width}" height="${height}" fill="#fff" stroke="#d9dde3"/>`;
  for (const m of r.moments) {
    if (m.kind === "finished") continue;
    const tall = m.kind === "failure" || m.kind === "violation" || m.kind === "restart" || m.kind === "job-failed";
    s += `<line x1="${x(m.at_us)}" x2="${x(m.at_us)}" y1="${tall ? 2 : 8}" y2="${height - (tall ? 2 : 8)}" stroke="${momentColor[m.kind]}" stroke-width="${tall ? 2.5 : 1.5}"><title>${esc(fmtTime(m.at_us) + ": " + m.label)}</title></line>`;
  }
  s += `<line x1="${x(ui.t)}" x2="${x(ui.t)}" y1="0" y2="${height}" stroke="#e11" stroke-width="2"/></svg>`;
  strip.innerHTML = s;
  strip.firstChild.onclick = (e) => {
    const box = strip.firstChild.getBoundingClientRect();
    seek(((e.clientX - box.left) / box.width * width - 4) / (width - 8) * r.end_us);
  };
}

// ---------------------------------------------------------------- job graph (dataflow)
// Flink draws chained operators as one vertex; so does this view. Each subtask is a cell coloured
// as Flink's web UI colours vertices: busy in red, backpressured in black, idle in blue.
function vertices(r) {
  const byChain = new Map();
  r.dataflow.tasks.forEach((task, index) => {
    const key = task.operators.join(" → ");
    if (!byChain.has(key)) byChain.set(key, { name: key, operators: task.operators, tasks: [] });
    byChain.get(key).tasks.push(index);
  });
  const list = [...byChain.values()];
  const vertexOf = (op) => list.findIndex((v) => v.operators.includes(op));
  const ops = new Map(r.dataflow.operators.map((o) => [o.name, o]));
  for (const v of list) {
    v.inputs = [];
    for (const name of v.operators) for (const [from, partitioner] of ops.get(name).inputs) {
      const fromVertex = vertexOf(from);
      if (!v.operators.includes(from)) v.inputs.push([fromVertex, partitioner]);
    }
  }
  const depth = (i, seen = new Set()) => seen.has(i) ? 0 : (seen.add(i), Math.max(0, ...list[i].inputs.map(([f]) => depth(f, seen) + 1)));
  list.forEach((v, i) => { v.depth = depth(i); });
  return list;
}
function activityAt(r, task, t) {
  const b = Math.min(r.dataflow.activity[task].length - 1, Math.floor(t / r.dataflow.activity_bucket_us));
  const [busy, bp] = r.dataflow.activity[task][Math.max(0, b)] || [0, 0];
  return { busy: busy / 1000, bp: bp / 1000 };
}
// Records written by a channel's sender and not yet read by its receiver: the most the channel
// held in the bucket around t, and what it held at the bucket's end.
function channelAt(r, channel, t) {
  const levels = r.dataflow.channel_levels[channel];
  const b = Math.max(0, Math.min(levels.length - 1, Math.floor(t / r.dataflow.activity_bucket_us)));
  const [max, end] = levels[b] || [0, 0];
  return { max, end, endUs: Math.min(r.end_us, (b + 1) * r.dataflow.activity_bucket_us) };
}
function activityColor(a) {
  if (a.bp >= a.busy && a.bp > 0.05) { const v = Math.round(200 - 170 * a.bp); return `rgb(${v},${v},${v})`; }
  if (a.busy > 0.05) { const g = Math.round(225 - 185 * a.busy); return `rgb(235,${g},${g})`; }
  return "rgb(170,200,238)";
}
function renderGraph(r) {
  const vs = vertices(r);
  const columns = Math.max(...vs.map((v) => v.depth)) + 1;
  const colWidth = 400, boxWidth = 250, cell = 22;
  const perColumn = Array.from({ length: columns }, () => []);
  vs.forEach((v, i) => perColumn[v.depth].push(i));
  const pos = [];
  let height = 0;
  perColumn.forEach((col, c) => {
    let y = 10;
    for (const i of col) {
      const h = 44 + vs[i].tasks.length * cell;
      pos[i] = { x: 10 + c * colWidth, y, h };
      y += h + 24;
    }
    height = Math.max(height, y);
  });
  const failed = failedTasks(r, ui.t);
  let s = `<svg width="${columns * colWidth + 20}" height="${height}" id="job-graph">`;
  s += `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#667"/></marker></defs>`;
  vs.forEach((v, i) => {
    for (const [from, partitioner] of v.inputs) {
      const a = pos[from], b = pos[i];
      const x1 = a.x + boxWidth, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
      // The records queued on the channels of this edge, at t.
      let queued = 0;
      r.dataflow.channels.forEach((c, ci) => {
        if (vs[from].tasks.includes(c.from) && v.tasks.includes(c.to)) queued += channelAt(r, ci, ui.t).end;
      });
      s += `<path d="M${x1},${y1} C${x1 + 25},${y1} ${x2 - 25},${y2} ${x2},${y2}" stroke="#667" stroke-width="${1 + Math.min(5, Math.log10(1 + queued))}" fill="none" marker-end="url(#arrow)"/>`;
      const lx = (x1 + x2) / 2, ly = (y1 + y2) / 2;
      s += `<text x="${lx}" y="${ly - 20}" text-anchor="middle" font-size="11" fill="#445" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(partitioner.toUpperCase())}</text>`;
      s += `<text class="edge-queued" x="${lx}" y="${ly - 8}" text-anchor="middle" font-size="10" fill="#667" paint-order="stroke" stroke="#fff" stroke-width="3">${queued.toLocaleString("en")} records in flight</text>`;
    }
  });
  vs.forEach((v, i) => {
    const p = pos[i];
    const acts = v.tasks.map((t) => activityAt(r, t, ui.t));
    const maxBusy = Math.max(...acts.map((a) => a.busy)), maxBp = Math.max(...acts.map((a) => a.bp));
    s += `<g class="vertex" data-vertex="${esc(v.name)}"><rect x="${p.x}" y="${p.y}" width="${boxWidth}" height="${p.h}" rx="6" fill="#fff" stroke="#8894a4"/>`;
    s += `<text x="${p.x + 8}" y="${p.y + 17}" font-weight="600" font-size="13">${esc(v.name)}</text>`;
    s += `<text x="${p.x + 8}" y="${p.y + 33}" font-size="11" fill="#667">parallelism ${v.tasks.length} · busy max ${Math.round(maxBusy * 100)}% · bp max ${Math.round(maxBp * 100)}%</text>`;
    v.tasks.forEach((task, k) => {
      const a = acts[k], y = p.y + 40 + k * cell;
      const dead = failed.has(task);
      const name = r.dataflow.tasks[task].name;
      s += `<g class="subtask" data-task="${esc(name)}" data-busy="${a.busy}" data-backpressured="${a.bp}"><rect x="${p.x + 6}" y="${y}" width="${boxWidth - 12}" height="${cell - 3}" rx="3" fill="${activityColor(a)}" stroke="${dead ? "#c62828" : "none"}" stroke-width="2"/>`;
      s += `<text x="${p.x + 11}" y="${y + 14}" font-size="11" fill="${a.bp > 0.6 ? "#fff" : "#111"}">#${r.dataflow.tasks[task].subtask} TM ${r.dataflow.tasks[task].task_manager}${dead ? " · FAILED" : ""}</text>`;
      s += `<text x="${p.x + boxWidth - 10}" y="${y + 14}" font-size="11" text-anchor="end" fill="${a.bp > 0.6 ? "#fff" : "#111"}">${Math.round(a.busy * 100)}% / ${Math.round(a.bp * 100)}%</text>`;
      s += `<title>${esc(name)}: busy ${Math.round(a.busy * 100)}%, backpressured ${Math.round(a.bp * 100)}%, idle ${Math.round((1 - a.busy - a.bp) * 100)}% in the ${fmtTime(r.dataflow.activity_bucket_us)} around t</title></g>`;
    });
    s += `</g>`;
  });
  s += `</svg>`;
  const d = r.report.dataflow;
  let html = `<div class="legend"><span><i style="background:rgb(235,60,60)"></i>busy</span><span><i style="background:rgb(40,40,40)"></i>backpressured</span><span><i style="background:rgb(170,200,238)"></i>idle</span><span>cells: busy % / backpressured % of the ${fmtTime(r.dataflow.activity_bucket_us)} around t (Flink's busyTimeMsPerSecond, backPressuredTimeMsPerSecond)</span></div>`;
  html += s;
  html += `<p class="muted">${r.dataflow.task_managers} task manager(s) × ${r.dataflow.slots_per_task_manager} slot(s); barrier handler: ${esc(d.protocol)}.</p>`;
  html += subtasksTable(r, failed) + channelsTable(r) + recoveriesTable(d, ui.t) + sinksAt(r, ui.t) + sinksTable(d);
  $("panel-graph").innerHTML = html;
}
// Each subtask at t: where it runs, whether it is up, and its part in the checkpoint under way.
function subtasksTable(r, failed) {
  let html = `<h3>Subtasks at t</h3><table class="grid" id="subtasks"><tr><th>subtask</th><th>task manager</th><th class="left">status</th><th class="left">checkpoint</th><th>busy</th><th>backpressured</th></tr>`;
  const finishedBy = new Set(r.moments.filter((m) => m.kind === "finished" && m.at_us <= ui.t).map((m) => m.task));
  r.dataflow.tasks.forEach((task, i) => {
    let phase = "running";
    for (const [at, p] of r.dataflow.phases[i]) { if (at > ui.t) break; phase = p; }
    const a = activityAt(r, i, ui.t);
    const status = failed.has(i) ? '<span class="bad">FAILED</span>' : finishedBy.has(i) ? "FINISHED" : "RUNNING";
    html += `<tr data-subtask="${esc(task.name)}"><td>${esc(task.name)}</td><td>${task.task_manager}</td><td class="left">${status}</td><td class="left">${esc(phase)}</td><td>${Math.round(a.busy * 100)}%</td><td>${Math.round(a.bp * 100)}%</td></tr>`;
  });
  return html + `</table>`;
}
// Each channel at t: records in it, and a barrier on its way (from the space-time diagram).
function channelsTable(r) {
  const tasks = r.dataflow.tasks;
  const sampledUs = r.dataflow.channels.length ? channelAt(r, 0, ui.t).endUs : ui.t;
  let html = `<h3>Channels at t</h3><table class="grid" id="data-channels"><tr><th>channel</th><th class="left">network</th><th>records in the channel<br><span class="muted">at ${fmtTime(sampledUs)}</span></th><th>most in the ${fmtTime(r.dataflow.activity_bucket_us)}<br>around t</th><th class="left">barrier on its way</th></tr>`;
  r.dataflow.channels.forEach((c, ci) => {
    const level = channelAt(r, ci, ui.t);
    const barrier = r.diagram.arrows.find((a) => a.kind === "barrier" && a.from_line === c.from + 1 && a.to_line === c.to + 1 && a.send_us <= ui.t && a.receive_us > ui.t);
    const stuck = r.dataflow.barriers_not_received.find((b) => b.channel === ci && b.sent_us <= ui.t && b.until_us > ui.t);
    const way = barrier ? `sent ${fmtTime(barrier.send_us)}, taken off ${fmtTime(barrier.receive_us)}` + (barrier.label ? " · " + esc(barrier.label) : "")
      : stuck ? `barrier ${stuck.checkpoint} sent ${fmtTime(stuck.sent_us)}, never taken off: ${esc(stuck.why)}` : "-";
    html += `<tr data-data-channel="${esc(tasks[c.from].name + "->" + tasks[c.to].name)}"><td>${esc(tasks[c.from].name)} → ${esc(tasks[c.to].name)}</td><td class="left">${c.local ? "local" : "remote"}</td><td>${level.end.toLocaleString("en")}</td><td>${level.max.toLocaleString("en")}</td><td class="left">${way}</td></tr>`;
  });
  return html + `</table><p class="muted">Records in a channel: written by the sender and not yet read by the receiver, counted at the end of the ${fmtTime(r.dataflow.activity_bucket_us)} bucket that holds t (a failover inside it may already have emptied the channel) — in the buffer being filled, the output subpartition, on the wire or in the input channel. A barrier behind them waits until they are read (aligned), or overtakes them and takes them into the checkpoint (unaligned).</p>`;
}
function failedTasks(r, t) {
  const failed = new Set();
  for (const m of r.moments) {
    if (m.at_us > t) break;
    if (m.kind === "failure") failed.add(m.task);
    if (m.kind === "restart") failed.clear();
  }
  return failed;
}
function recoveriesTable(d, t) {
  const rows = (d.recoveries || []).filter((x) => x.failed_at_us <= t);
  if (!(d.recoveries || []).length) return "";
  return `<h3>Failures and recoveries</h3><table class="grid" id="recoveries"><tr><th>failure</th><th>failed at</th><th>detected</th><th>restarted</th><th>running again</th><th>restored checkpoint</th><th>tasks restarted</th><th>records read again</th></tr>` +
    rows.map((x) => `<tr><td>${esc(x.failure)}</td><td>${fmtTime(x.failed_at_us)}</td><td>${fmtTime(x.detected_at_us)}</td><td>${x.restarted_at_us != null && x.restarted_at_us <= t ? fmtTime(x.restarted_at_us) : "-"}</td><td>${x.running_again_at_us != null && x.running_again_at_us <= t ? fmtTime(x.running_again_at_us) : "-"}</td><td>${x.checkpoint_restored ?? "none"}</td><td>${x.tasks_restarted}</td><td>${x.records_reprocessed}</td></tr>`).join("") +
    (rows.length ? "" : `<tr><td colspan="8" class="left muted">none yet at t</td></tr>`) + `</table>`;
}
// A step function's total at t: the last point [at_us, total] at or before t.
function stepAt(steps, t) {
  let lo = 0, hi = steps.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (steps[mid][0] <= t) lo = mid + 1; else hi = mid; }
  return lo ? steps[lo - 1][1] : 0;
}
// What each reader of every sink saw at t: a read-committed reader (Kafka's isolation.level =
// read_committed, a file system's finished part files) and a read-uncommitted one, with the
// transactions of a two-phase-commit sink by where they stood at t.
function sinksAt(r, t) {
  const sinks = r.dataflow.sinks || [];
  if (!sinks.length) return "";
  let html = `<h3>Sinks at t</h3><table class="grid" id="sinks-at"><tr><th>sink</th><th>written<br><span class="muted">read-uncommitted</span></th><th>committed<br><span class="muted">read-committed</span></th><th>uncommitted</th><th>discarded<br><span class="muted">aborted</span></th><th>duplicates<br><span class="muted">visible</span></th><th>transactions<br><span class="muted">open / pre-committed / committed / aborted</span></th></tr>`;
  for (const s of sinks) {
    const written = stepAt(s.written, t), committed = stepAt(s.committed, t), discarded = stepAt(s.discarded, t);
    const duplicates = stepAt(s.duplicates, t);
    let txs = "-";
    if (s.transactional) {
      const n = [0, 0, 0, 0];
      for (const [, opened, pre, commit, abort] of s.transactions) {
        if (opened > t) continue;
        if (commit >= 0 && commit <= t) n[2]++;
        else if (abort >= 0 && abort <= t) n[3]++;
        else if (pre >= 0 && pre <= t) n[1]++;
        else n[0]++;
      }
      txs = n.join(" / ");
    }
    html += `<tr data-sink="${esc(s.sink)}"><td>${esc(s.sink)}</td><td>${written.toLocaleString("en")}</td><td>${committed.toLocaleString("en")}</td><td>${Math.max(0, written - committed - discarded).toLocaleString("en")}</td><td>${discarded.toLocaleString("en")}</td><td class="${duplicates ? "bad" : ""}">${duplicates.toLocaleString("en")}</td><td>${txs}</td></tr>`;
  }
  html += `</table>` + sinks.map((s) => sinkChart(r, s, t)).join("");
  return html + `<p class="muted">A plain or idempotent sink's writes are visible at once; a two-phase-commit sink's only when the checkpoint that pre-committed their transaction completes (notifyCheckpointComplete) or a restore commits it. Duplicates: extra copies a read-committed reader has seen by t, as the delivery check counts them.</p>`;
}
// The sink's output over the run, the cursor at t: written (read-uncommitted), committed
// (read-committed) and the duplicates among them.
function sinkChart(r, s, t) {
  const w = 640, h = 120, left = 50, right = 10, top = 8, bottom = 18;
  const end = Math.max(1, r.end_us);
  const max = Math.max(1, ...s.written.map((p) => p[1]), ...s.committed.map((p) => p[1]));
  const x = (us) => left + (w - left - right) * Math.min(1, us / end);
  const y = (v) => top + (h - top - bottom) * (1 - v / max);
  const path = (steps) => {
    let d = `M${x(0)},${y(0)}`;
    for (const [at, total] of steps) d += `H${x(at)}V${y(total)}`;
    return d + `H${x(end)}`;
  };
  let svg = `<svg class="sink-chart" width="${w}" height="${h}"><rect x="${left}" y="${top}" width="${w - left - right}" height="${h - top - bottom}" fill="#fafbfc" stroke="#dde"/>`;
  svg += `<text x="${left - 4}" y="${top + 9}" font-size="10" text-anchor="end" fill="#667">${max.toLocaleString("en")}</text><text x="${left - 4}" y="${h - bottom}" font-size="10" text-anchor="end" fill="#667">0</text>`;
  svg += `<text x="${left}" y="${h - 4}" font-size="10" fill="#667">0</text><text x="${w - right}" y="${h - 4}" font-size="10" text-anchor="end" fill="#667">${fmtTime(r.end_us)}</text>`;
  svg += `<path d="${path(s.written)}" stroke="#9aa5b4" stroke-width="1.5" fill="none"/><path d="${path(s.committed)}" stroke="#1e6bd6" stroke-width="2" fill="none"/>`;
  if (s.duplicates.length) svg += `<path d="${path(s.duplicates)}" stroke="#c62828" stroke-width="1.5" fill="none"/>`;
  svg += `<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${h - bottom}" stroke="#e69500" stroke-width="1.5"/></svg>`;
  return `<div class="sink-chart-box"><div class="muted">${esc(s.sink)}: <span style="color:#9aa5b4">━ written</span> <span style="color:#1e6bd6">━ committed</span>${s.duplicates.length ? ' <span style="color:#c62828">━ duplicates</span>' : ""} <span style="color:#e69500">│ t</span></div>${svg}</div>`;
}
function sinksTable(d) {
  const sinks = (d.delivery && d.delivery.sinks) || [];
  if (!sinks.length) return "";
  return `<h3>Sinks at the end of the run <span class="muted">(the delivery check)</span></h3><table class="grid" id="sinks"><tr><th>sink</th><th>delivery</th><th>promise</th><th>expected</th><th>committed</th><th>uncommitted<br><span class="muted">read-uncommitted view</span></th><th>duplicates</th><th>uncommitted<br>duplicates</th><th>lost</th><th>transactions<br><span class="muted">committed / aborted</span></th></tr>` +
    sinks.map((s) => `<tr><td>${esc(s.sink)}</td><td class="left">${esc(s.delivery)}</td><td class="left">${esc(s.promise)}</td><td>${s.expected_records}</td><td>${s.committed_records}</td><td>${s.uncommitted_records}</td><td class="${s.duplicates ? "bad" : ""}">${s.duplicates}</td><td>${s.uncommitted_duplicates}</td><td class="${s.lost ? "bad" : ""}">${s.lost}</td><td>${s.transactions_committed} / ${s.transactions_aborted}</td></tr>`).join("") + `</table>`;
}

// ---------------------------------------------------------------- Checkpoints tab (Flink's layout)
// A checkpoint's status at t: IN_PROGRESS from its trigger until it completes or is aborted.
function checkpointsAt(r, t) {
  const stats = new Map((r.report.dataflow.checkpoints || []).map((c) => [c.id, c]));
  return r.dataflow.checkpoints.filter((c) => c.triggered_us <= t).map((times) => {
    const c = stats.get(times.id) || { subtasks: [], num_subtasks: 0 };
    let status = "IN_PROGRESS";
    if (times.completed_us != null && times.completed_us <= t) status = "COMPLETED";
    else if (times.aborted_us != null && times.aborted_us <= t) status = "FAILED";
    const acked = c.subtasks.filter((s) => s.ack_timestamp_us != null && s.ack_timestamp_us <= t);
    const latest = acked.length ? Math.max(...acked.map((s) => s.ack_timestamp_us)) : null;
    return { times, stats: c, status, acked: acked.length, latest };
  });
}
function renderCheckpoints(r) {
  const rows = checkpointsAt(r, ui.t);
  const sub = ["overview", "history", "summary", "configuration"];
  let html = `<div class="subtabs">` + sub.map((s) => `<button data-cptab="${s}" class="${s === ui.cpTab ? "active" : ""}">${s[0].toUpperCase() + s.slice(1)}</button>`).join("") + `</div>`;
  const completed = rows.filter((x) => x.status === "COMPLETED");
  const failed = rows.filter((x) => x.status === "FAILED");
  const restores = r.moments.filter((m) => m.kind === "restart" && m.at_us <= ui.t);
  if (ui.cpTab === "overview") {
    html += `<div class="counts" id="cp-counts"><div><b>${rows.length}</b>Triggered</div><div><b>${rows.filter((x) => x.status === "IN_PROGRESS").length}</b>In Progress</div><div><b>${completed.length}</b>Completed</div><div><b>${failed.length}</b>Failed</div><div><b>${restores.length}</b>Restored</div></div>`;
    const last = (list) => list.length ? list[list.length - 1] : null;
    const lc = last(completed), lf = last(failed), ls = last(completed.filter((x) => x.times.is_savepoint));
    html += `<table class="grid"><tr><th>Latest</th><th>ID</th><th>time</th><th>End to End Duration</th><th>Checkpointed Data Size</th><th class="left">detail</th></tr>`;
    html += `<tr><td>Completed Checkpoint</td><td>${lc ? lc.times.id : "-"}</td><td>${lc ? fmtTime(lc.times.completed_us) : "-"}</td><td>${lc ? fmtDuration(lc.stats.end_to_end_duration_us) : "-"}</td><td>${lc ? fmtBytes(lc.stats.checkpointed_size) : "-"}</td><td></td></tr>`;
    html += `<tr><td>Failed Checkpoint</td><td>${lf ? lf.times.id : "-"}</td><td>${lf ? fmtTime(lf.times.aborted_us) : "-"}</td><td></td><td></td><td class="left">${lf ? esc(lf.times.reason || "") : ""}</td></tr>`;
    html += `<tr><td>Savepoint</td><td>${ls ? ls.times.id : "-"}</td><td>${ls ? fmtTime(ls.times.completed_us) : "-"}</td><td>${ls ? fmtDuration(ls.stats.end_to_end_duration_us) : "-"}</td><td>${ls ? fmtBytes(ls.stats.checkpointed_size) : "-"}</td><td></td></tr>`;
    const lr = last(restores);
    html += `<tr><td>Restore</td><td>${lr ? (lr.id || "none") : "-"}</td><td>${lr ? fmtTime(lr.at_us) : "-"}</td><td></td><td></td><td class="left">${lr ? esc(lr.label) : ""}</td></tr></table>`;
  } else if (ui.cpTab === "history") {
    html += `<table class="grid" id="cp-history"><thead><tr><th>ID</th><th class="left">Status</th><th>Acknowledged</th><th>Trigger Time</th><th>Latest Acknowledgment</th><th>End to End Duration</th><th>Checkpointed Data Size</th><th>Full Checkpoint Data Size</th><th>Processed (Persisted) In-Flight Data</th></tr></thead><tbody>`;
    for (const x of rows.slice().reverse()) {
      const done = x.status !== "IN_PROGRESS";
      html += `<tr data-checkpoint="${x.times.id}" class="${ui.selectedCheckpoint === x.times.id ? "selected" : ""}"><td>${x.times.id}${x.times.is_savepoint ? " (savepoint)" : ""}</td><td class="left"><span class="badge ${x.status}">${x.status}</span>${x.status === "FAILED" ? " " + esc(x.times.reason || "") : ""}</td><td>${x.acked}/${x.stats.num_subtasks} (${x.stats.num_subtasks ? Math.round(x.acked / x.stats.num_subtasks * 100) : 0}%)</td><td>${fmtTime(x.times.triggered_us)}</td><td>${x.latest != null ? fmtTime(x.latest) : "n/a"}</td><td>${x.latest != null ? fmtDuration(x.latest - x.times.triggered_us) : "n/a"}</td><td>${done ? fmtBytes(x.stats.checkpointed_size) : "-"}</td><td>${done ? fmtBytes(x.stats.state_size) : "-"}</td><td>${done ? fmtBytes(x.stats.processed_data) + " (" + fmtBytes(x.stats.persisted_data) + ")" : "-"}</td></tr>`;
    }
    html += `</tbody></table>`;
    if (!rows.length) html += `<p class="muted">No checkpoint triggered yet at t.</p>`;
    const chosen = rows.find((x) => x.times.id === ui.selectedCheckpoint);
    html += chosen ? checkpointDetails(chosen) : `<p class="muted">Click a checkpoint for its per-subtask details.</p>`;
  } else if (ui.cpTab === "summary") {
    const metric = (name, get, fmt) => {
      const v = completed.map(get).filter((x) => x != null);
      if (!v.length) return `<tr><td>${name}</td><td>-</td><td>-</td><td>-</td></tr>`;
      return `<tr><td>${name}</td><td>${fmt(Math.min(...v))}</td><td>${fmt(v.reduce((a, b) => a + b, 0) / v.length)}</td><td>${fmt(Math.max(...v))}</td></tr>`;
    };
    html += `<table class="grid" id="cp-summary"><tr><th></th><th>Minimum</th><th>Average</th><th>Maximum</th></tr>` +
      metric("End to End Duration", (x) => x.stats.end_to_end_duration_us, (v) => fmtDuration(Math.round(v))) +
      metric("Checkpointed Data Size", (x) => x.stats.checkpointed_size, (v) => fmtBytes(Math.round(v))) +
      metric("Full Checkpoint Data Size", (x) => x.stats.state_size, (v) => fmtBytes(Math.round(v))) +
      metric("Processed In-Flight Data", (x) => x.stats.processed_data, (v) => fmtBytes(Math.round(v))) +
      metric("Persisted In-Flight Data", (x) => x.stats.persisted_data, (v) => fmtBytes(Math.round(v))) +
      metric("Alignment Duration", (x) => x.stats.alignment_duration_us, (v) => fmtDuration(Math.round(v))) +
      metric("Start Delay", (x) => x.stats.start_delay_us, (v) => fmtDuration(Math.round(v))) +
      `</table><p class="muted">Over the ${completed.length} checkpoint(s) completed by t.</p>`;
  } else {
    html += `<table class="grid" id="cp-config"><tr><th>Option</th><th class="left">Value</th></tr>` +
      r.dataflow.configuration.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="left">${esc(v)}</td></tr>`).join("") + `</table>`;
  }
  $("panel-checkpoints").innerHTML = html;
  for (const b of $("panel-checkpoints").querySelectorAll("[data-cptab]")) b.onclick = () => { ui.cpTab = b.dataset.cptab; render(); };
  for (const tr of $("panel-checkpoints").querySelectorAll("tr[data-checkpoint]")) tr.onclick = () => { ui.selectedCheckpoint = Number(tr.dataset.checkpoint); render(); };
}
function checkpointDetails(x) {
  let html = `<h3>Checkpoint ${x.times.id}: per subtask, at t</h3><table class="grid" id="cp-details"><tr><th>Subtask</th><th>Acknowledged</th><th>End to End Duration</th><th>Checkpointed Data Size</th><th>Full Data Size</th><th>Sync Duration</th><th>Async Duration</th><th>Alignment Duration</th><th>Start Delay</th><th>Processed (Persisted) In-Flight Data</th><th>Unaligned</th></tr>`;
  for (const s of x.stats.subtasks) {
    const acked = s.ack_timestamp_us != null && s.ack_timestamp_us <= ui.t;
    html += acked
      ? `<tr><td>${esc(s.task)}</td><td>${fmtTime(s.ack_timestamp_us)}</td><td>${fmtDuration(s.end_to_end_duration_us)}</td><td>${fmtBytes(s.checkpointed_size)}</td><td>${fmtBytes(s.state_size)}</td><td>${fmtDuration(s.sync_duration_us)}</td><td>${fmtDuration(s.async_duration_us)}</td><td>${fmtDuration(s.alignment_duration_us)}</td><td>${fmtDuration(s.start_delay_us)}</td><td>${fmtBytes(s.processed_data)} (${fmtBytes(s.persisted_data)})</td><td>${s.unaligned}</td></tr>`
      : `<tr class="future"><td>${esc(s.task)}</td><td colspan="10" class="left">pending at t</td></tr>`;
  }
  return html + `</table>`;
}

// ---------------------------------------------------------------- processes (Chandy-Lamport)
function renderProcesses(r) {
  const pg = r.process_graph;
  const balance = pg.processes.map((p) => p.initial_tokens);
  for (const [at, p, b] of pg.balances) { if (at > ui.t) break; balance[p] = b; }
  // The newest snapshot started by t, and what of it is recorded by t.
  const started = r.moments.filter((m) => m.kind === "snapshot-start" && m.at_us <= ui.t);
  const snapshotId = started.length ? started[started.length - 1].id : null;
  const recorded = new Map();
  for (const d of r.diagram.recorded_states) if (d.snapshot_id === snapshotId && d.time_us <= ui.t) recorded.set(d.line, d);
  let html = `<h3>Processes at t</h3><table class="grid" id="process-states"><tr><th>process</th><th>balance</th><th class="left">recorded state${snapshotId ? " (snapshot " + snapshotId + ")" : ""}</th></tr>`;
  pg.processes.forEach((p, i) => {
    const d = recorded.get(i);
    html += `<tr data-process="${esc(p.name)}"><td>${esc(p.name)}</td><td>${balance[i]}</td><td class="left">${d ? esc(d.label || "recorded") + " at " + fmtTime(d.time_us) : snapshotId ? "not yet" : "-"}</td></tr>`;
  });
  const total = balance.reduce((a, b) => a + b, 0);
  const sent = pg.messages.filter((m) => m[0] <= ui.t);
  const flying = sent.filter((m) => m[3] === 0 && (m[1] < 0 || m[1] > ui.t)).reduce((a, m) => a + m[4], 0);
  const lost = sent.filter((m) => m[3] === 2).reduce((a, m) => a + m[4], 0);
  html += `</table><p class="muted" id="token-count">At t: ${total} tokens held by the processes, ${flying} in flight${lost ? `, ${lost} lost in transit` : ""}.</p>`;
  // A channel's recording for the newest snapshot, as the marker rules define it: it starts when
  // the receiver records its state, and it ends when the marker arrives on the channel; what it
  // records is what arrives in between.
  html += `<h3>Channels at t</h3><table class="grid" id="channel-queues"><tr><th>channel</th><th class="left">in flight (oldest first): tokens, M = marker</th><th class="left">recording${snapshotId ? " for snapshot " + snapshotId : ""}</th></tr>`;
  pg.channels.forEach((c, ci) => {
    const items = pg.messages.filter((m) => m[2] === ci && m[0] <= ui.t && (m[1] < 0 || m[1] > ui.t));
    const vanished = pg.messages.filter((m) => m[2] === ci && m[3] >= 2 && m[1] >= 0 && m[1] <= ui.t);
    const chips = items.map((m) => m[3] % 2 === 1 ? `<span class="chip marker">M${m[4]}</span>` : `<span class="chip">${m[4]}</span>`).join("") +
      vanished.map((m) => `<span class="chip lost" title="vanished at ${fmtTime(m[1])}">${m[3] === 3 ? "M" + m[4] : m[4]} lost</span>`).join("");
    let state = "-";
    if (snapshotId) {
      const start = recorded.get(c.to);
      const marker = pg.messages.find((m) => m[2] === ci && m[3] === 1 && m[4] === snapshotId);
      const closedAt = marker && marker[1] >= 0 && marker[1] <= ui.t ? marker[1] : null;
      if (!start) state = `<span class="muted">not started (${esc(pg.processes[c.to].name)} has not recorded)</span>`;
      else {
        const until = closedAt ?? ui.t;
        const got = pg.messages.filter((m) => m[2] === ci && m[3] === 0 && m[1] > start.time_us && m[1] <= until);
        const chipsRecorded = got.map((m) => `<span class="chip recorded">${m[4]}</span>`).join("");
        state = (closedAt != null ? `closed at ${fmtTime(closedAt)}: ` : "recording… ") + (chipsRecorded || (closedAt != null ? "empty" : ""));
      }
    }
    html += `<tr data-channel="${esc(c.name)}"><td>${esc(c.name)}${c.fifo ? "" : " (non-FIFO)"}${c.loss_probability ? " (loses " + c.loss_probability + ")" : ""}</td><td class="left"><div class="queue">${chips || '<span class="muted">empty</span>'}</div></td><td class="left"><div class="queue">${state}</div></td></tr>`;
  });
  html += `</table>`;
  html += snapshotsTable(r);
  $("panel-processes").innerHTML = html;
}
function snapshotsTable(r) {
  const snaps = (r.report.process_graph.snapshots || []).filter((s) => s.started_at_us <= ui.t);
  let html = `<h3>Snapshots started by t</h3><table class="grid" id="snapshots"><tr><th>id</th><th>initiator</th><th>started</th><th>completed</th><th class="left">recorded states</th><th class="left">verdict</th></tr>`;
  for (const s of snaps.slice(-30)) {
    const done = s.completed_at_us <= ui.t;
    const bad = s.invariants.filter((c) => !c.passed).map((c) => c.invariant);
    html += `<tr><td>${s.id}</td><td>${esc(s.initiator)}</td><td>${fmtTime(s.started_at_us)}</td><td>${done ? fmtTime(s.completed_at_us) : "in progress"}</td><td class="left">${done ? s.processes.map((p) => esc(p.process) + "=" + p.tokens).join(" ") : ""}</td><td class="left ${done ? (bad.length ? "bad" : "ok") : "pending"}">${done ? (bad.length ? "fails: " + bad.join(", ") : "consistent") : "pending"}</td></tr>`;
  }
  return html + `</table>`;
}

// ---------------------------------------------------------------- space-time view
const arrowColor = { application: "#8c8c8c", marker: "#0072b2", barrier: "#56b4e9", other: "#b8860b" };
const snapshotColors = ["#d55e00", "#009e73", "#cc79a7", "#0072b2", "#e69f00", "#56b4e9", "#f0e442", "#000000"];
function spaceTimeWindow(r) {
  const span = r.end_us / ui.zoom;
  let from = ui.t - span / 2;
  from = Math.max(0, Math.min(r.end_us - span, from));
  return [from, from + span];
}
function renderSpaceTime(r) {
  const panel = $("panel-spacetime");
  const dia = r.diagram;
  const [w0, w1] = spaceTimeWindow(r);
  const width = Math.max(700, (panel.clientWidth || 1200) - 30), left = 130, right = 16, row = 34, top = 24;
  const height = top + dia.lines.length * row + 26;
  const x = (us) => left + (us - w0) / (w1 - w0) * (width - left - right);
  const y = (line) => top + line * row + row / 2;
  const t = ui.t;
  let s = `<svg id="spacetime-svg" width="${width}" height="${height}" style="cursor:crosshair"><defs><clipPath id="plot"><rect x="${left}" y="0" width="${width - left - right}" height="${height}"/></clipPath></defs>`;
  dia.lines.forEach((name, i) => {
    s += `<text x="${left - 8}" y="${y(i) + 4}" text-anchor="end" font-size="12">${esc(name)}</text><line x1="${left}" x2="${width - right}" y1="${y(i)}" y2="${y(i)}" stroke="#c9ced6"/>`;
  });
  for (let k = 0; k <= 6; k++) {
    const us = w0 + (w1 - w0) * k / 6;
    s += `<text x="${x(us)}" y="${height - 8}" text-anchor="middle" font-size="11" fill="#667">${fmtTime(Math.round(us))}</text>`;
  }
  s += `<g clip-path="url(#plot)">`;
  if (r.dataflow) s += queueBands(r, x, y, row, w0, w1);
  let inFlight = 0;
  for (const a of dia.arrows) {
    if (a.receive_us < w0 || a.send_us > w1) continue;
    const future = a.send_us > t;
    const flying = !future && a.receive_us > t;
    if (flying) inFlight++;
    const color = a.in_channel_state ? "#e69f00" : arrowColor[a.kind];
    const widthPx = a.in_channel_state ? 3 : a.kind === "application" ? 1 : 1.8;
    let x2 = x(a.receive_us), y2 = y(a.to_line);
    if (a.lost) { x2 = (x(a.send_us) + x2) / 2; y2 = (y(a.from_line) + y2) / 2; }
    s += `<line x1="${x(a.send_us)}" y1="${y(a.from_line)}" x2="${x2}" y2="${y2}" stroke="${color}" stroke-width="${widthPx}" opacity="${future ? 0.13 : 1}" ${a.lost ? 'stroke-dasharray="4 3"' : ""}/>`;
    if (flying && !a.lost) {
      const f = (t - a.send_us) / Math.max(1, a.receive_us - a.send_us);
      const px = x(a.send_us) + f * (x(a.receive_us) - x(a.send_us)), py = y(a.from_line) + f * (y(a.to_line) - y(a.from_line));
      s += `<circle cx="${px}" cy="${py}" r="${a.kind === "application" ? 3 : 4.5}" fill="${color}" stroke="#fff"/>`;
    }
    if (a.label && !future) s += `<text x="${(x(a.send_us) + x2) / 2 + 3}" y="${(y(a.from_line) + y2) / 2 - 3}" font-size="10" fill="${color}">${esc(a.label)}</text>`;
  }
  for (const c of dia.cuts) {
    const pts = c.points.slice().sort((a, b) => a[0] - b[0]);
    if (!pts.length || pts[0][1] > w1 + (w1 - w0)) continue;
    const done = pts.every((p) => p[1] <= t);
    const color = snapshotColors[c.snapshot_id % snapshotColors.length];
    s += `<polyline points="${pts.map((p) => x(p[1]) + "," + y(p[0])).join(" ")}" fill="none" stroke="${color}" stroke-width="2" opacity="${done ? 0.55 : 0.12}" stroke-dasharray="${done ? "" : "3 3"}"/>`;
  }
  for (const d of dia.recorded_states) {
    if (d.time_us < w0 || d.time_us > w1) continue;
    const color = snapshotColors[d.snapshot_id % snapshotColors.length];
    s += `<circle cx="${x(d.time_us)}" cy="${y(d.line)}" r="4.5" fill="${color}" opacity="${d.time_us <= t ? 1 : 0.15}"><title>${esc((d.label || "snapshot") + " (S" + d.snapshot_id + ") at " + fmtTime(d.time_us))}</title></circle>`;
  }
  for (const f of dia.failures) {
    if (f.time_us < w0 || f.time_us > w1) continue;
    const cx = x(f.time_us), cy = y(f.line), o = f.time_us <= t ? 1 : 0.2;
    s += `<path d="M${cx - 6},${cy - 6}L${cx + 6},${cy + 6}M${cx + 6},${cy - 6}L${cx - 6},${cy + 6}" stroke="#c62828" stroke-width="2.5" opacity="${o}"/>`;
  }
  for (const m of dia.restarts) {
    if (m.time_us < w0 || m.time_us > w1) continue;
    const cx = x(m.time_us), cy = y(m.line);
    s += `<path d="M${cx},${cy - 7}L${cx + 6},${cy + 5}L${cx - 6},${cy + 5}z" fill="#4d4d4d" opacity="${m.time_us <= t ? 1 : 0.2}"/>`;
  }
  // Barriers that never arrived: dashed, ending in a cross where the failover dropped them.
  for (const b of (r.dataflow && r.dataflow.barriers_not_received) || []) {
    if (b.until_us < w0 || b.sent_us > w1) continue;
    const c = r.dataflow.channels[b.channel];
    const x1 = x(b.sent_us), y1 = y(c.from + 1), x2 = x(b.until_us), y2 = (y(c.from + 1) + y(c.to + 1)) / 2;
    const future = b.sent_us > t;
    s += `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#56b4e9" stroke-width="1.8" stroke-dasharray="5 3" opacity="${future ? 0.13 : 1}"><title>barrier ${b.checkpoint} on ${esc(r.dataflow.tasks[c.from].name)} → ${esc(r.dataflow.tasks[c.to].name)}: ${esc(b.why)}</title></line>`;
    if (!future && b.until_us > t) {
      inFlight++;
      const f = (t - b.sent_us) / Math.max(1, b.until_us - b.sent_us);
      s += `<circle cx="${x1 + f * (x2 - x1)}" cy="${y1 + f * (y2 - y1)}" r="4.5" fill="#56b4e9" stroke="#fff"/>`;
    }
  }
  if (ui.highlight && r.process_graph) {
    const m = nthMessage(r, ui.highlight.message);
    if (m) {
      const c = r.process_graph.channels[m[2]];
      const lost = m[3] === 2 || m[1] < 0;
      // A lost message vanished as it was sent; the diagram draws it half-way towards where it
      // would have arrived, and so does the highlight.
      const drawn = dia.arrows.find((a) => a.send_us === m[0] && a.from_line === c.from && a.to_line === c.to);
      const end = drawn ? drawn.receive_us : m[1] < 0 ? r.end_us : m[1];
      const x2 = lost ? (x(m[0]) + x(end)) / 2 : x(end), y2 = lost ? (y(c.from) + y(c.to)) / 2 : y(c.to);
      s += `<line x1="${x(m[0])}" y1="${y(c.from)}" x2="${x2}" y2="${y2}" stroke="#c62828" stroke-width="5" opacity="0.6" id="highlighted-message"><title>message #${ui.highlight.message}${lost ? ", lost" : ""}</title></line>`;
    }
  }
  s += `</g><line x1="${x(t)}" x2="${x(t)}" y1="${top - 10}" y2="${height - 22}" stroke="#e11" stroke-width="1.5"/></svg>`;
  const kinds = r.world === "dataflow"
    ? `<span><i style="background:#56b4e9"></i>barrier</span><span><i style="background:#b8860b"></i>RPC (trigger, acknowledgement)</span><span><i style="background:#e69f00"></i>barrier that carried records into the checkpoint (channel state)</span><span>● snapshot taken · line through them: the checkpoint's cut · ✕ failure · ▲ restart</span><span><i style="background:#9aa3ae;opacity:.5"></i>records queued on a subtask's inputs (scaled to its peak)</span>`
    : `<span><i style="background:#8c8c8c"></i>message</span><span><i style="background:#0072b2"></i>marker</span><span><i style="background:#e69f00"></i>message recorded as channel state</span><span>● recorded state · line through them: the snapshot's cut</span>`;
  const legend = `<div class="legend">${kinds}<span>faint: not yet happened at t · dots on arrows: in flight at t</span></div>`;
  const controls = `<div class="spacetime-controls"><button id="zoom-out" title="-">−</button><button id="zoom-in" title="+">+</button><span class="muted">window ${fmtTime(Math.round(w0))} – ${fmtTime(Math.round(w1))} · ${inFlight} in flight at t · click to jump</span></div>`;
  panel.innerHTML = controls + legend + s;
  $("zoom-in").onclick = () => zoom(2);
  $("zoom-out").onclick = () => zoom(0.5);
  $("spacetime-svg").onclick = (e) => {
    const box = e.currentTarget.getBoundingClientRect();
    const px = e.clientX - box.left;
    if (px >= left) seek(w0 + (px - left) / (width - left - right) * (w1 - w0));
  };
}
// Under each subtask's line, the records queued on its input channels over the window, as a
// grey band scaled to the most that subtask ever had queued: where records pile up.
function queueBands(r, x, y, row, w0, w1) {
  const bucket = r.dataflow.activity_bucket_us;
  let s = "";
  r.dataflow.tasks.forEach((task, ti) => {
    const inputs = r.dataflow.channels.map((c, ci) => c.to === ti ? ci : -1).filter((ci) => ci >= 0);
    if (!inputs.length) return;
    const buckets = r.dataflow.channel_levels[inputs[0]].length;
    const sum = (b) => inputs.reduce((a, ci) => a + r.dataflow.channel_levels[ci][b][0], 0);
    let peak = 0;
    for (let b = 0; b < buckets; b++) peak = Math.max(peak, sum(b));
    if (!peak) return;
    const base = y(ti + 1) + row * 0.45, height = row * 0.4;
    const first = Math.max(0, Math.floor(w0 / bucket)), last = Math.min(buckets - 1, Math.ceil(w1 / bucket));
    let pts = `${x(first * bucket)},${base}`;
    for (let b = first; b <= last; b++) {
      const h = base - sum(b) / peak * height;
      pts += ` ${x(b * bucket)},${h} ${x((b + 1) * bucket)},${h}`;
    }
    pts += ` ${x((last + 1) * bucket)},${base}`;
    s += `<polygon points="${pts}" fill="#9aa3ae" opacity="0.35"><title>${esc(task.name)}: records queued on its inputs (peak ${peak.toLocaleString("en")})</title></polygon>`;
  });
  return s;
}
function zoom(factor) { ui.zoom = Math.max(1, Math.min(4096, ui.zoom * factor)); render(); }
// Message ids are assigned in send order from 0, so the k-th message entry is message #k.
function nthMessage(r, id) {
  let k = -1;
  for (const m of r.process_graph.messages) if ((m[3] === 0 || m[3] === 2) && ++k === id) return m;
  return null;
}

// ---------------------------------------------------------------- invariants, live
function renderInvariants(r) {
  let html = `<p class="muted">What the oracle says about the snapshots completed by t (it reads only the run's record and the scenario). Failed checks jump to the instant they became true.</p>`;
  const rows = [];
  if (r.world === "dataflow") {
    const completedAt = new Map(r.dataflow.checkpoints.filter((c) => c.completed_us != null).map((c) => [c.id, c.completed_us]));
    for (const check of r.report.dataflow.checks || []) {
      const at = completedAt.get(check.checkpoint);
      for (const [name, v] of Object.entries(check)) {
        if (!v || typeof v !== "object" || !("passed" in v)) continue;
        rows.push({ at, subject: "checkpoint " + check.checkpoint, invariant: name, passed: v.passed, detail: v.detail });
      }
    }
    const d = r.report.dataflow;
    if (d.protocol_rules) rows.push({ at: r.end_us, subject: "the whole run", invariant: d.protocol_rules.invariant, passed: d.protocol_rules.passed, detail: d.protocol_rules.detail });
    for (const c of (d.delivery && d.delivery.checks) || []) rows.push({ at: r.end_us, subject: "the output", invariant: c.invariant, passed: c.passed, detail: c.detail });
  } else {
    for (const s of r.report.process_graph.snapshots || []) for (const c of s.invariants)
      rows.push({ at: s.completed_at_us, subject: "snapshot " + s.id, invariant: c.invariant, passed: c.passed, detail: c.detail });
    const pg = r.report.process_graph;
    if (pg.completion) rows.push({ at: r.end_us, subject: "every snapshot", invariant: pg.completion.invariant, passed: pg.completion.passed, detail: pg.completion.detail });
  }
  const judged = rows.filter((x) => x.at != null && x.at <= ui.t);
  const failing = judged.filter((x) => !x.passed);
  const firstFailure = rows.filter((x) => !x.passed && x.at != null).sort((a, b) => a.at - b.at)[0];
  html += `<p id="invariant-summary"><b>${judged.length}</b> checks judged by t: <span class="ok">${judged.length - failing.length} hold</span>, <span class="${failing.length ? "bad" : ""}">${failing.length} fail</span>; ${rows.length - judged.length} still to come.` +
    (firstFailure ? ` <button id="jump-first-failure">jump to the first failure (${fmtTime(firstFailure.at)})</button>` : "") + `</p>`;
  html += `<table class="grid" id="invariant-table"><tr><th class="left">at</th><th class="left">of</th><th class="left">invariant</th><th class="left">verdict</th><th class="left">detail</th></tr>`;
  for (const x of rows.filter((x) => x.at != null && x.at <= ui.t).slice(-300).reverse()) {
    html += `<tr><td class="left">${fmtTime(x.at)}</td><td class="left">${esc(x.subject)}</td><td class="left">${esc(x.invariant)}</td><td class="left ${x.passed ? "ok" : "bad"}">${x.passed ? "holds" : "FAILS"}</td><td class="left" style="white-space:normal;max-width:70ch">${esc(x.detail || "")} ${x.passed ? "" : `<button class="jump" data-at="${x.at}" data-detail="${esc(x.detail || "")}">jump</button>`}</td></tr>`;
  }
  html += `</table>`;
  $("panel-invariants").innerHTML = html;
  const jump = (at, detail) => {
    const m = /#(\d+)/.exec(detail || "");
    ui.highlight = m && r.process_graph ? { message: Number(m[1]) } : null;
    if (ui.highlight) { ui.zoom = Math.max(ui.zoom, 4); selectTab("spacetime"); }
    seek(at);
  };
  for (const b of $("panel-invariants").querySelectorAll("button.jump")) b.onclick = () => jump(Number(b.dataset.at), b.dataset.detail);
  if (firstFailure) $("jump-first-failure").onclick = () => jump(firstFailure.at, firstFailure.detail);
}

// ---------------------------------------------------------------- what-ifs and the fork tree
function renderWhatIf() {
  const r = replay();
  const panel = $("panel-whatif");
  const kinds = r.world === "dataflow"
    ? [["task-crash", "crash a subtask"], ["task-manager-crash", "crash a task manager"], ["network-partition", "partition the network between two task managers"], ["job-manager-partition", "cut a task manager off from the job manager"], ["storage-slowdown", "slow the checkpoint storage"], ["storage-outage", "take the checkpoint storage down"], ["option", "change a checkpoint option (from the start)"], ["variant", "swap in a protocol variant (from the start)"]]
    : [["snapshot", "start a snapshot"], ["variant", "swap in a protocol variant (from the start)"]];
  panel.innerHTML = `<h3>What if…</h3><div class="whatif-form">
    <label for="whatif-kind">change</label><select id="whatif-kind">${kinds.map(([k, l]) => `<option value="${k}">${esc(l)}</option>`).join("")}</select>
    <span>at</span><span id="whatif-at"></span>
    <span></span><div id="whatif-fields"></div>
    <span></span><div><button id="whatif-apply" class="primary">fork and run</button> <button id="whatif-save" title="download this fork's scenario file">save this run as a scenario</button> <span id="whatif-status" class="muted"></span></div></div>
    <h3>Forks</h3><div class="forks" id="forks"></div><h3>Side by side</h3><div id="fork-compare"></div>`;
  $("whatif-kind").onchange = renderWhatIfFields;
  $("whatif-apply").onclick = applyWhatIf;
  $("whatif-save").onclick = saveFork;
  renderWhatIfFields();
}
function renderWhatIfFields() {
  const r = replay(), kind = $("whatif-kind").value, f = $("whatif-fields");
  const options = (list) => list.map((v) => `<option value="${esc(v[0])}">${esc(v[1])}</option>`).join("");
  const tms = r.dataflow ? [...Array(r.dataflow.task_managers).keys()] : [];
  if (kind === "task-crash") f.innerHTML = `<select id="whatif-task">${options(r.dataflow.tasks.map((t, i) => [i, t.name]))}</select>`;
  else if (kind === "task-manager-crash") f.innerHTML = `<select id="whatif-tm">${options(tms.map((i) => [i, "task manager " + i]))}</select>`;
  else if (kind === "network-partition") f.innerHTML = tms.length < 2 ? `<span class="muted">this job runs on one task manager: nothing to partition</span>` : `between <select id="whatif-a">${options(tms.map((i) => [i, "TM " + i]))}</select> and <select id="whatif-b">${options(tms.map((i) => [i, "TM " + i]).reverse())}</select> for <input id="whatif-duration" value="2s" size="6">`;
  else if (kind === "job-manager-partition") f.innerHTML = `<select id="whatif-tm">${options(tms.map((i) => [i, "task manager " + i]))}</select> for <input id="whatif-duration" value="5s" size="6"> <span class="muted">(past heartbeat.timeout, ${fmtTime(r.dataflow.heartbeat_timeout_us)}, it is declared lost)</span>`;
  else if (kind === "storage-slowdown") f.innerHTML = `×<input id="whatif-factor" value="10" size="4"> slower for <input id="whatif-duration" value="5s" size="6">`;
  else if (kind === "storage-outage") f.innerHTML = `for <input id="whatif-duration" value="5s" size="6">`;
  else if (kind === "option") f.innerHTML = `<select id="whatif-option">${options([["interval", "interval"], ["mode", "mode (EXACTLY_ONCE, AT_LEAST_ONCE)"], ["unaligned", "unaligned (true, false)"], ["aligned-checkpoint-timeout", "aligned-checkpoint-timeout"], ["timeout", "timeout"], ["min-pause", "min-pause"], ["max-concurrent-checkpoints", "max-concurrent-checkpoints"], ["tolerable-failed-checkpoints", "tolerable-failed-checkpoints"]])}</select> = <input id="whatif-value" value="500ms" size="10">`;
  else if (kind === "variant") f.innerHTML = `<select id="whatif-variant">${options(r.protocol_variants.map((v) => [v, v]))}</select>`;
  else if (kind === "snapshot") f.innerHTML = `from <select id="whatif-process">${options(r.process_graph.processes.map((p) => [p.name, p.name]))}</select>`;
  renderWhatIfTime();
}
function renderWhatIfTime() {
  const at = $("whatif-at");
  if (!at) return;
  const kind = $("whatif-kind").value;
  at.textContent = kind === "option" || kind === "variant" ? "the whole run (a job's configuration is fixed when it is submitted)" : "t = " + fmtTime(ui.t) + " (the scrubbed instant)";
}
// The edit, applied to a copy of the document; returns [document, label].
function whatIfEdit(r, base) {
  const doc = JSON.parse(JSON.stringify(base));
  const kind = $("whatif-kind").value, at = ui.t + "us";
  const val = (id) => $(id).value;
  const scheduled = (entry) => {
    doc.faults = doc.faults || {};
    doc.faults.scheduled = doc.faults.scheduled || [];
    doc.faults.scheduled.push(Object.assign({ at }, entry));
  };
  let label;
  if (kind === "task-crash") {
    const task = r.dataflow.tasks[Number(val("whatif-task"))];
    scheduled({ "task-crash": { operator: task.operators[0], subtask: task.subtask } });
    label = `${task.name} crashes at ${fmtTime(ui.t)}`;
  } else if (kind === "task-manager-crash") {
    scheduled({ "task-manager-crash": Number(val("whatif-tm")) });
    label = `task manager ${val("whatif-tm")} crashes at ${fmtTime(ui.t)}`;
  } else if (kind === "network-partition") {
    if (!$("whatif-a")) throw new Error("this job runs on one task manager");
    scheduled({ "network-partition": { between: [Number(val("whatif-a")), Number(val("whatif-b"))], duration: val("whatif-duration") } });
    label = `TM ${val("whatif-a")} and TM ${val("whatif-b")} partitioned for ${val("whatif-duration")} at ${fmtTime(ui.t)}`;
  } else if (kind === "job-manager-partition") {
    scheduled({ "job-manager-partition": { "task-manager": Number(val("whatif-tm")), duration: val("whatif-duration") } });
    label = `task manager ${val("whatif-tm")} cut off from the job manager for ${val("whatif-duration")} at ${fmtTime(ui.t)}`;
  } else if (kind === "storage-slowdown") {
    scheduled({ "storage-slowdown": { factor: Number(val("whatif-factor")), duration: val("whatif-duration") } });
    label = `storage ${val("whatif-factor")}× slower for ${val("whatif-duration")} at ${fmtTime(ui.t)}`;
  } else if (kind === "storage-outage") {
    scheduled({ "storage-outage": { duration: val("whatif-duration") } });
    label = `storage down for ${val("whatif-duration")} at ${fmtTime(ui.t)}`;
  } else if (kind === "option") {
    const key = val("whatif-option"), raw = val("whatif-value").trim();
    let value = raw;
    if (raw === "true" || raw === "false") value = raw === "true";
    else if (/^\d+$/.test(raw)) value = Number(raw);
    doc.checkpointing = doc.checkpointing || {};
    doc.checkpointing[key] = value;
    label = `checkpointing.${key} = ${raw}`;
  } else if (kind === "variant") {
    doc.protocol_variant = val("whatif-variant");
    if (doc.protocol_variant === "correct") delete doc.protocol_variant;
    label = `protocol variant ${val("whatif-variant")}`;
  } else if (kind === "snapshot") {
    doc.snapshots = doc.snapshots || [];
    doc.snapshots.push({ initiator: val("whatif-process"), at });
    label = `${val("whatif-process")} starts a snapshot at ${fmtTime(ui.t)}`;
  }
  return [doc, label];
}
async function applyWhatIf() {
  const parent = ui.forks[ui.current];
  let doc, label;
  try { [doc, label] = whatIfEdit(parent.replay, parent.document); } catch (e) { $("whatif-status").textContent = e.message; return; }
  const id = ui.forks.length;
  // A fork is its own scenario: named apart, and without the original's `expect` facts (they
  // describe the original run); expected invariant failures stay (a broken variant still breaks).
  doc.name = (ui.forks[0].document.name || ui.forks[0].replay.scenario) + "-fork-" + id;
  doc.description = "What-if: " + label + " (a fork of " + (ui.forks[0].replay.scenario) + "). " + (ui.forks[0].document.description || "");
  delete doc.expect;
  $("whatif-status").textContent = "running " + label + "…";
  const response = await fetch("/api/run", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ base: ui.base, document: doc }) });
  const body = await response.json();
  if (!response.ok) { $("whatif-status").textContent = ""; fail(body.error); return; }
  $("error").hidden = true;
  ui.forks.push({ id, parent: ui.current, label, replay: body, document: doc });
  $("whatif-status").textContent = "fork " + id + ": " + label;
  show(id, ui.t);
}
function saveFork() {
  const fork = ui.forks[ui.current];
  const doc = fork.document;
  const blob = new Blob([JSON.stringify(doc, null, 2) + "\n"], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = (doc.name || fork.replay.scenario) + ".json";
  document.body.appendChild(a);
  a.click();
  a.remove();
}
function verdictOf(r) {
  const o = r.report.outcome;
  const s = statusWords[o.status] || o.status;
  return s + (o.failed_invariants.length ? ": " + o.failed_invariants.join(", ") : "");
}
function renderForks() {
  const el = $("forks");
  if (!el) return;
  renderWhatIfTime();
  const tree = (parent) => {
    const kids = ui.forks.filter((f) => f.parent === parent);
    if (!kids.length) return "";
    return "<ul>" + kids.map((f) => `<li><span class="fork ${f.id === ui.current ? "current" : ""}" data-fork="${f.id}">${f.id === 0 ? "original" : "fork " + f.id + ": " + esc(f.label)} — <span class="verdict badge ${f.replay.report.outcome.status}">${esc(verdictOf(f.replay))}</span></span>${tree(f.id)}</li>`).join("") + "</ul>";
  };
  el.innerHTML = tree(null);
  for (const f of el.querySelectorAll(".fork")) f.onclick = () => show(Number(f.dataset.fork), ui.t);
  // Side by side: every fork's facts, and its moments on one strip each, on one time axis.
  const facts = (r) => {
    if (r.world === "dataflow") {
      const d = r.report.dataflow, sink = ((d.delivery && d.delivery.sinks) || [])[0];
      const restored = (d.recoveries || []).map((x) => x.checkpoint_restored ?? "none").join(", ") || "-";
      return [d.counts.completed + " / " + d.counts.triggered, d.counts.failed, restored, sink ? sink.duplicates : "-", sink ? sink.lost : "-", fmtTime(r.end_us)];
    }
    const pg = r.report.process_graph;
    return [pg.snapshots.length, pg.incomplete_snapshots.length, "-", "-", "-", fmtTime(r.end_us)];
  };
  const dataflow = replay().world === "dataflow";
  const end = Math.max(...ui.forks.map((f) => f.replay.end_us));
  let html = `<table class="grid" id="fork-table"><tr><th class="left">run</th><th class="left">verdict</th><th>${dataflow ? "checkpoints completed" : "snapshots completed"}</th><th>${dataflow ? "failed" : "incomplete"}</th><th>restored</th><th>duplicates</th><th>lost</th><th>ended</th><th class="left">moments (same time axis; red line: t)</th></tr>`;
  for (const f of ui.forks) {
    const w = 360, x = (us) => 2 + us / end * (w - 4);
    let strip = `<svg width="${w}" height="16"><rect width="${w}" height="16" fill="#fafafa" stroke="#e2e5ea"/>`;
    for (const m of f.replay.moments) if (m.kind !== "finished" && m.kind !== "trigger") strip += `<line x1="${x(m.at_us)}" x2="${x(m.at_us)}" y1="2" y2="14" stroke="${momentColor[m.kind]}" stroke-width="1.5"/>`;
    strip += `<line x1="${x(ui.t)}" x2="${x(ui.t)}" y1="0" y2="16" stroke="#e11"/></svg>`;
    html += `<tr data-fork-row="${f.id}" class="${f.id === ui.current ? "selected" : ""}"><td class="left">${f.id === 0 ? "original" : "fork " + f.id}</td><td class="left"><span class="badge ${f.replay.report.outcome.status}">${esc(verdictOf(f.replay))}</span></td>${facts(f.replay).map((v) => `<td>${esc(v)}</td>`).join("")}<td class="left">${strip}</td></tr>`;
  }
  $("fork-compare").innerHTML = html + `</table><p class="muted">Each fork is the scenario re-run from the start with its change: same seed, so everything before the change is the same run (common random numbers), and the digest differs only because of it.</p>` + forkBesideParent();
}
// The selected run beside the run it was forked from (the original beside its newest fork), both
// at the scrubbed instant: the facts a learner compares, with the ones that differ marked, and
// each run's job graph (or processes) coloured at t.
function forkBesideParent() {
  if (ui.forks.length < 2) return "";
  const here = ui.forks[ui.current];
  const other = here.parent != null ? ui.forks[here.parent] : ui.forks[ui.forks.length - 1];
  const [left, right] = here.parent != null ? [other, here] : [here, other];
  const name = (f) => (f.id === 0 ? "original" : "fork " + f.id);
  const a = factsAt(left.replay, ui.t), b = factsAt(right.replay, ui.t);
  let html = `<h3>At t = ${fmtTime(ui.t)}: ${name(right)} beside ${name(left)}</h3><table class="grid" id="fork-at-t"><tr><th class="left">at t</th><th class="left">${name(left)}</th><th class="left">${name(right)}${right.id ? ": " + esc(right.label) : ""}</th></tr>`;
  a.forEach(([label, value], i) => {
    const differs = value !== b[i][1];
    html += `<tr data-fact="${esc(label)}" class="${differs ? "differs" : ""}"><td class="left">${esc(label)}</td><td class="left">${esc(value)}</td><td class="left">${esc(b[i][1])}</td></tr>`;
  });
  html += `</table><div class="fork-graphs">` + [left, right].map((f) => `<div><div class="muted">${name(f)} at t</div>${miniGraph(f.replay, ui.t)}</div>`).join("") + `</div>`;
  return html + `<p class="muted">Rows in bold differ between the two runs at t. Before the change both runs are the same run, so nothing differs; from the change on, the rows show what it did.</p>`;
}
// What a run looked like at t, as [label, value] rows that two runs of one scenario share.
function factsAt(r, t) {
  if (r.world !== "dataflow") {
    const pg = r.process_graph;
    const balance = pg.processes.map((p) => p.initial_tokens);
    for (const [at, p, v] of pg.balances) { if (at > t) break; balance[p] = v; }
    const sent = pg.messages.filter((m) => m[0] <= t && m[3] % 2 === 0);
    const flying = sent.filter((m) => m[3] === 0 && (m[1] < 0 || m[1] > t)).reduce((x, m) => x + m[4], 0);
    const lost = sent.filter((m) => m[3] === 2 && m[1] >= 0 && m[1] <= t).reduce((x, m) => x + m[4], 0);
    const count = (kind) => r.moments.filter((m) => m.kind === kind && m.at_us <= t).length;
    return [["status", jobStatus(r, t)], ["balances", pg.processes.map((p, i) => p.name + " " + balance[i]).join(", ")],
      ["tokens in flight", String(flying)], ["tokens lost", String(lost)],
      ["snapshots started / completed", count("snapshot-start") + " / " + count("snapshot-complete")],
      ["invariant violations found", String(count("violation"))]];
  }
  const cps = checkpointsAt(r, t);
  const completed = cps.filter((c) => c.status === "COMPLETED");
  const restores = (r.report.dataflow.recoveries || []).filter((x) => x.running_again_at_us != null && x.running_again_at_us <= t);
  const failures = r.moments.filter((m) => m.kind === "failure" && m.at_us <= t);
  const rows = [["status", jobStatus(r, t)], ["failed subtasks", [...failedTasks(r, t)].map((i) => r.dataflow.tasks[i].name).join(", ") || "none"],
    ["failures so far", String(failures.length)],
    ["checkpoints triggered / completed / failed", `${cps.length} / ${completed.length} / ${cps.filter((c) => c.status === "FAILED").length}`],
    ["latest completed checkpoint", completed.length ? String(completed[completed.length - 1].times.id) : "none"],
    ["restored from", restores.map((x) => x.checkpoint_restored ?? "none").join(", ") || "-"]];
  for (const sk of r.dataflow.sinks || []) {
    const written = stepAt(sk.written, t), committed = stepAt(sk.committed, t);
    rows.push([`sink ${sk.sink}: written / committed`, `${written.toLocaleString("en")} / ${committed.toLocaleString("en")}`]);
    rows.push([`sink ${sk.sink}: duplicates visible`, stepAt(sk.duplicates, t).toLocaleString("en")]);
  }
  return rows;
}
// A compact job graph at t: a row per chain of operators, a cell per subtask coloured busy /
// backpressured / idle, failed subtasks outlined in red.
function miniGraph(r, t) {
  if (r.world !== "dataflow") return "";
  const failed = failedTasks(r, t);
  const vs = vertices(r), cell = 34, rowH = 26, labelW = 150;
  const w = labelW + cell * Math.max(...vs.map((v) => v.tasks.length)) + 10;
  let s = `<svg class="mini-graph" width="${w}" height="${vs.length * rowH + 4}">`;
  vs.forEach((v, i) => {
    const y = 2 + i * rowH;
    s += `<text x="0" y="${y + 16}" font-size="11">${esc(v.name)}</text>`;
    v.tasks.forEach((task, k) => {
      const act = activityAt(r, task, t), dead = failed.has(task);
      s += `<rect class="mini-subtask" data-task="${esc(r.dataflow.tasks[task].name)}" data-failed="${dead}" x="${labelW + k * cell}" y="${y}" width="${cell - 4}" height="${rowH - 6}" rx="3" fill="${activityColor(act)}" stroke="${dead ? "#c62828" : "none"}" stroke-width="2.5"><title>${esc(r.dataflow.tasks[task].name)}: busy ${Math.round(act.busy * 100)}%, backpressured ${Math.round(act.bp * 100)}%${dead ? ", FAILED" : ""}</title></rect>`;
    });
  });
  return s + `</svg>`;
}

// ---------------------------------------------------------------- controls
function wire() {
  $("play").onclick = togglePlay;
  $("step-forward").onclick = () => stepTo(ui.events, 1);
  $("step-back").onclick = () => stepTo(ui.events, -1);
  $("barrier-forward").onclick = () => stepTo(ui.barriers, 1);
  $("barrier-back").onclick = () => stepTo(ui.barriers, -1);
  $("scrubber").oninput = (e) => seek(Number(e.target.value));
  $("speed").onchange = (e) => { ui.speedUsPerS = Number(e.target.value); };
  $("help-button").onclick = () => { $("help").hidden = false; };
  $("help").onclick = () => { $("help").hidden = true; };
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" && e.target.type !== "range") return;
    if (e.target.tagName === "SELECT") return;
    const speeds = [...$("speed").options].map((o) => Number(o.value));
    const i = speeds.indexOf(ui.speedUsPerS);
    const tabs = [...$("tabs").querySelectorAll("button")];
    if (e.key === " ") { togglePlay(); e.preventDefault(); }
    else if (e.key === "ArrowRight") { stepTo(e.shiftKey ? ui.barriers : ui.events, 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { stepTo(e.shiftKey ? ui.barriers : ui.events, -1); e.preventDefault(); }
    else if (e.key === "Home") seek(0);
    else if (e.key === "End") seek(replay().end_us);
    else if (e.key === "]" && i < speeds.length - 1) { ui.speedUsPerS = speeds[i + 1]; $("speed").value = String(ui.speedUsPerS); }
    else if (e.key === "[" && i > 0) { ui.speedUsPerS = speeds[i - 1]; $("speed").value = String(ui.speedUsPerS); }
    else if (e.key === "+" || e.key === "=") zoom(2);
    else if (e.key === "-") zoom(0.5);
    else if (e.key === "?") $("help").hidden = !$("help").hidden;
    else if (e.key === "Escape") $("help").hidden = true;
    else if (/^[1-6]$/.test(e.key) && tabs[Number(e.key) - 1]) selectTab(tabs[Number(e.key) - 1].dataset.tab);
  });
  window.addEventListener("resize", () => render());
}

// For tests and the curious: the page's state from the browser's console.
window.snapsim = {
  seek,
  get t() { return ui.t; },
  get replay() { return ui.forks.length ? replay() : null; },
  get forks() { return ui.forks.map((f) => ({ id: f.id, parent: f.parent, label: f.label, status: f.replay.report.outcome.status, failed: f.replay.report.outcome.failed_invariants, digest: f.replay.digest })); },
};
wire();
start();
