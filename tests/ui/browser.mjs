// The web view in a real browser (headless Chromium, driven by playwright-core): started as a
// learner starts it, scrubbed, checked against the run's own report, forked with a crash, saved,
// and the saved fork re-run by `snapsim run`. Screenshots go to target/ui-test/.
//
// Run by scripts/ui-test.sh (which installs Chromium and playwright-core); arguments:
//   node tests/ui/browser.mjs SNAPSIM_BINARY PLAYWRIGHT_CORE_DIR OUT_DIR
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const [binary, playwrightDir, outDir] = process.argv.slice(2);
const { chromium } = createRequire(import.meta.url)(path.resolve(playwrightDir));
fs.mkdirSync(outDir, { recursive: true });
const shot = (page, name) => page.screenshot({ path: path.join(outDir, name + ".png"), fullPage: true });
const snapsim = (...args) => execFileSync(binary, args, { encoding: "utf8", maxBuffer: 1 << 28 });
const step = (text) => console.log("ui-test: " + text);

// ------------------------------------------------------------------ the server, as a learner starts it
const scenario = "scenarios/flink-crash-during-alignment.json";
const server = spawn(binary, ["ui", "--port", "0", scenario], { stdio: ["ignore", "pipe", "inherit"] });
let serverOutput = "";
const address = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("snapsim ui printed no address: " + serverOutput)), 60000);
  server.stdout.on("data", (chunk) => {
    serverOutput += chunk;
    const found = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(serverOutput);
    if (found) { clearTimeout(timer); resolve(found[1]); }
  });
  server.on("exit", (code) => reject(new Error("snapsim ui exited with " + code + ": " + serverOutput)));
});
step("server at " + address);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
const page = await context.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push("page error: " + e));
page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
// No request may leave the machine: the page works on a plane.
page.on("request", (r) => { if (!r.url().startsWith(address) && !r.url().startsWith("blob:")) problems.push("request to " + r.url()); });

try {
  await page.goto(address);
  await page.waitForSelector("#scenario-picker:not([hidden])");
  await page.waitForFunction(() => window.snapsim && window.snapsim.replay && window.snapsim.replay.scenario === "flink-crash-during-alignment");
  assert.equal(await page.inputValue("#scenario-picker"), "flink-crash-during-alignment.json", "the FILE given opens first");
  const options = await page.locator("#scenario-picker option").count();
  assert.ok(options > 40, "the shipped scenarios are listed: " + options);
  await shot(page, "01-job-graph-at-start");

  // ---------------------------------------------------------------- scrub, and compare with the report
  const report = JSON.parse(snapsim("run", scenario, "--json", "--out", path.join(outDir, "runs")));
  await page.locator("#scrubber").fill("3000000");
  assert.equal(await page.textContent("#time"), "t = 3 s");
  // The lesson at 3 s: the main sources backpressured (dark), the keyed sum busy (red).
  const source = await page.locator('g.subtask[data-task="source[0]"]').getAttribute("data-backpressured");
  const sum = await page.locator('g.subtask[data-task="sum→sink[0]"]').getAttribute("data-busy");
  assert.ok(Number(source) > 0.7 && Number(sum) > 0.9, `source bp ${source}, sum busy ${sum}`);
  // And the records pile up in front of the sum: its input channels from the main source hold
  // thousands of records, the corrections' channels a few hundred at most.
  const queued = await page.$$eval("#data-channels tr[data-data-channel]", (rows) => Object.fromEntries(rows.map((tr) => [tr.dataset.dataChannel, Number(tr.children[2].textContent.replace(/,/g, ""))])));
  assert.ok(queued["source[0]->sum→sink[0]"] > 1000, JSON.stringify(queued));
  assert.ok(queued["corrections[0]->sum→sink[0]"] < 500, JSON.stringify(queued));
  await shot(page, "02-job-graph-backpressure-at-3s");

  // Just before the crash, sum[0] is aligning checkpoint 4: the corrections' barriers are in,
  // the main source's are queued behind seconds of buffers (the scenario's phase-at-failure fact).
  await page.locator("#scrubber").fill("6999000");
  const phase = await page.$eval('#subtasks tr[data-subtask="sum→sink[0]"] td:nth-child(4)', (td) => td.textContent);
  assert.match(phase, /^aligning checkpoint 4 \(2 of 4 inputs' barriers in\)/, phase);
  const way = await page.$eval('#data-channels tr[data-data-channel="source[0]->sum→sink[0]"] td:nth-child(5)', (td) => td.textContent);
  assert.match(way, /^barrier 4 sent .*never taken off: dropped when the failover reset the channel/, way);
  await page.click('button[data-tab="checkpoints"]');
  await page.click('button[data-cptab="history"]');
  await page.locator("#scrubber").fill("7100000");
  const historyAt = async () => page.$$eval("#cp-history tbody tr", (rows) => rows.map((tr) => [...tr.children].map((td) => td.textContent.trim())));
  let rows = await historyAt();
  const triggeredBy = (t) => report.dataflow.checkpoints.filter((c) => c.trigger_timestamp_us <= t);
  assert.deepEqual(rows.map((r) => Number(r[0])), triggeredBy(7100000).map((c) => c.id).reverse(), "checkpoints triggered by 7.1 s");
  assert.match(rows[0][1], /FAILED\s*JOB_FAILOVER_REGION/, "checkpoint 4 was aborted by the failover at 7 s");
  await page.click('tr[data-checkpoint="4"]');
  await page.waitForSelector("#cp-details");
  await shot(page, "03-checkpoint-history-at-7.1s");

  // At the end every row is the report's: id, status, acknowledged n/m, trigger time.
  await page.keyboard.press("End");
  rows = await historyAt();
  const expected = report.dataflow.checkpoints.slice().reverse();
  assert.equal(rows.length, expected.length);
  rows.forEach((row, i) => {
    const c = expected[i];
    assert.equal(Number(row[0]), c.id);
    assert.ok(row[1].startsWith(c.status), `checkpoint ${c.id}: ${row[1]} vs ${c.status}`);
    assert.ok(row[2].startsWith(`${c.num_acknowledged_subtasks}/${c.num_subtasks}`), `checkpoint ${c.id}: ${row[2]}`);
  });
  await page.click('button[data-cptab="overview"]');
  const counts = await page.$$eval("#cp-counts b", (bs) => bs.map((b) => Number(b.textContent)));
  assert.deepEqual(counts.slice(0, 4), [report.dataflow.counts.triggered, report.dataflow.counts.in_progress, report.dataflow.counts.completed, report.dataflow.counts.failed]);
  step("checkpoint history matches report.json (" + rows.length + " checkpoints)");

  // ---------------------------------------------------------------- the sink's readers at t
  // Its two-phase-commit sink at the end: what a read-uncommitted and a read-committed reader saw
  // is the delivery check's count, and the crash's aborted transactions hold the difference.
  await page.click('button[data-tab="graph"]');
  const sinkAt = async () => page.$eval('#sinks-at tr[data-sink="sink"]', (tr) => [...tr.children].map((td) => td.textContent.trim()));
  const number = (text) => Number(text.replace(/,/g, ""));
  const delivered = report.dataflow.delivery.sinks[0];
  let sinkRow = await sinkAt();
  assert.equal(number(sinkRow[1]), delivered.uncommitted_records, "written by the end: " + sinkRow);
  assert.equal(number(sinkRow[2]), delivered.committed_records, "committed by the end: " + sinkRow);
  assert.equal(number(sinkRow[3]), 0, "nothing left uncommitted at the end: " + sinkRow);
  assert.equal(number(sinkRow[4]), delivered.uncommitted_records - delivered.committed_records, "the aborted transactions' records: " + sinkRow);
  assert.equal(number(sinkRow[5]), delivered.duplicates);
  assert.equal(sinkRow[6].split(" / ").slice(2).map(Number).join(" / "), `${delivered.transactions_committed} / ${delivered.transactions_aborted}`);
  // Just before the crash: the transactions of checkpoint 4 are open, written but not visible.
  await page.locator("#scrubber").fill("6999000");
  sinkRow = await sinkAt();
  assert.ok(number(sinkRow[3]) > 0 && number(sinkRow[2]) < number(sinkRow[1]), "uncommitted output before the crash: " + sinkRow);
  assert.ok(Number(sinkRow[6].split(" / ")[0]) > 0, "open transactions before the crash: " + sinkRow);
  assert.equal(Number(sinkRow[6].split(" / ")[3]), 0, "none aborted before the crash: " + sinkRow);
  await page.locator(".sink-chart").scrollIntoViewIfNeeded();
  await shot(page, "03b-sink-readers-before-the-crash");
  step("sink at t matches the delivery check (" + delivered.committed_records + " committed)");

  // ---------------------------------------------------------------- keyboard: steps and play
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowRight");
  const first = await page.evaluate(() => window.snapsim.t);
  assert.ok(first > 0, "→ steps to the first event");
  await page.keyboard.press("Shift+ArrowRight");
  assert.ok(await page.evaluate(() => window.snapsim.t) > first, "shift → steps to the next barrier");
  await page.keyboard.press(" ");
  await page.waitForTimeout(400);
  await page.keyboard.press(" ");
  assert.ok(await page.evaluate(() => window.snapsim.t) > first, "space plays");
  await page.keyboard.press("?");
  await page.waitForSelector("#help:not([hidden])");
  await shot(page, "04-keyboard-help");
  await page.keyboard.press("Escape");

  // ---------------------------------------------------------------- a what-if: crash sum[1] at 3 s
  await page.locator("#scrubber").fill("3000000");
  await page.click('button[data-tab="whatif"]');
  await page.selectOption("#whatif-kind", "task-crash");
  await page.selectOption("#whatif-task", { label: "sum→sink[1]" });
  await page.click("#whatif-apply");
  await page.waitForFunction(() => window.snapsim.forks.length === 2, null, { timeout: 120000 });
  const forks = await page.evaluate(() => window.snapsim.forks);
  assert.equal(forks[1].parent, 0);
  assert.notEqual(forks[1].digest, forks[0].digest);
  const fork = await page.evaluate(() => window.snapsim.replay);
  assert.equal(fork.report.dataflow.recoveries.length, 2, "two failures in the fork");
  assert.equal(fork.report.dataflow.recoveries[0].failed_at_us, 3000000);
  const verdicts = await page.$$eval("#fork-table tr[data-fork-row] td:nth-child(2)", (tds) => tds.map((td) => td.textContent.trim()));
  assert.equal(verdicts.length, 2);
  assert.ok(verdicts[1].startsWith(fork.report.outcome.status === "passed" ? "PASSED" : fork.report.outcome.status.toUpperCase().replace(/_/g, " ")), verdicts[1]);
  assert.equal(await page.textContent("#verdict"), verdicts[1].split(":")[0]);
  // Beside its parent at the scrubbed instant: before the crash at 3 s the two runs are one run;
  // after it the fork has a failed subtask, its failure counted, while the original runs on.
  const factsAt = async () => page.$$eval("#fork-at-t tr[data-fact]", (rows) => Object.fromEntries(rows.map((tr) => [tr.dataset.fact, [tr.children[1].textContent, tr.children[2].textContent, tr.classList.contains("differs")]])));
  await page.locator("#scrubber").fill("2900000");
  let besides = await factsAt();
  assert.ok(Object.values(besides).every(([, , differs]) => !differs), "nothing differs before the change: " + JSON.stringify(besides));
  await page.locator("#scrubber").fill("3000500");
  besides = await factsAt();
  assert.deepEqual(besides["failed subtasks"], ["none", "sum→sink[1]", true], JSON.stringify(besides));
  assert.deepEqual(besides["failures so far"], ["0", "1", true]);
  assert.equal(await page.locator('#panel-whatif .mini-subtask[data-failed="true"]').count(), 1, "the fork's graph shows the crashed subtask");
  await page.locator("#fork-at-t").scrollIntoViewIfNeeded();
  await shot(page, "05-what-if-fork");

  // Saved, the fork is a scenario that `snapsim run` reproduces (same digest).
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#whatif-save")]);
  const saved = path.join(outDir, download.suggestedFilename());
  await download.saveAs(saved);
  const rerun = JSON.parse(snapsim("run", saved, "--json", "--out", path.join(outDir, "runs")));
  assert.equal(rerun.digest, fork.digest, "snapsim run of the saved fork is the fork");
  step(`fork saved as ${saved}; snapsim run reproduces digest ${rerun.digest}`);

  // Back to the original: the tree keeps both.
  await page.click('.fork[data-fork="0"]');
  assert.equal(await page.evaluate(() => window.snapsim.replay.digest), forks[0].digest);

  // Another branch: task manager 0 cut off from the job manager for 2 s at 3 s. No checkpoint
  // completes while it is (triggers and acknowledgements wait), and 2 s is far below
  // heartbeat.timeout, so no failover besides the original's crash at 7 s.
  await page.locator("#scrubber").fill("3000000");
  await page.selectOption("#whatif-kind", "job-manager-partition");
  await page.fill("#whatif-duration", "2s");
  await page.click("#whatif-apply");
  await page.waitForFunction(() => window.snapsim.forks.length === 3, null, { timeout: 120000 });
  const cutOff = await page.evaluate(() => window.snapsim.replay);
  assert.equal((await page.evaluate(() => window.snapsim.forks))[2].parent, 0, "a branch of the original, not of fork 1");
  assert.equal(cutOff.report.dataflow.recoveries.length, 1);
  const completedAt = (c) => c.trigger_timestamp_us + c.end_to_end_duration_us;
  const during = cutOff.report.dataflow.checkpoints.filter((c) => c.end_to_end_duration_us != null && completedAt(c) >= 3000000 && completedAt(c) < 5000000);
  assert.deepEqual(during, [], "no checkpoint completes while the task manager is cut off");

  // ---------------------------------------------------------------- a Chandy-Lamport run
  await page.selectOption("#scenario-picker", "cl-lossy-channel.json");
  await page.waitForFunction(() => window.snapsim.replay.scenario === "cl-lossy-channel");
  await page.click('button[data-tab="processes"]');
  await page.locator("#scrubber").fill("42000");
  const queue = await page.$eval("#channel-queues", (t) => t.textContent);
  assert.match(queue, /a0->a1[\s\S]*M2/, "the marker of snapshot 2 is in flight on a0->a1 at 42 ms");
  const recording = await page.$$eval("#channel-queues tr[data-channel]", (rows) => Object.fromEntries(rows.map((tr) => [tr.dataset.channel, tr.children[2].textContent.trim()])));
  assert.match(recording["a1->a0"], /^recording/, "a0 recorded at 40 ms and records a1->a0 until a1's marker arrives");
  assert.match(recording["a1->a2"], /^not started/, "a2 has not recorded yet");
  assert.match(await page.textContent("#token-count"), /7 lost in transit/, "transfer #18's 7 tokens");
  await shot(page, "06-chandy-lamport-processes-and-channels");
  await page.click('button[data-tab="invariants"]');
  await page.click("#jump-first-failure");
  await page.waitForSelector("#highlighted-message");
  const firstFailure = report && (await page.evaluate(() => window.snapsim.t));
  assert.equal(firstFailure, 46000, "snapshot 2, the first to miss the lost transfer, completes at 46 ms");
  await shot(page, "07-chandy-lamport-jump-to-the-lost-message");

  // ---------------------------------------------------------------- the static export
  const html = path.join(outDir, "replay-cl-paper-example.html");
  snapsim("replay", "scenarios/cl-paper-example-2-2.json", "--html", html);
  const offline = await context.newPage();
  offline.on("pageerror", (e) => problems.push("static page error: " + e));
  await offline.goto("file://" + path.resolve(html));
  await offline.waitForFunction(() => window.snapsim && window.snapsim.replay);
  assert.equal(await offline.isHidden("#scenario-picker"), true, "no picker without a server");
  assert.equal(await offline.locator('button[data-tab="whatif"]').count(), 0, "no what-ifs without a server");
  await offline.click('button[data-tab="spacetime"]');
  await offline.keyboard.press("End");
  await shot(offline, "08-static-replay");

  assert.deepEqual(problems, [], "no page errors and no request off the machine");
} finally {
  await browser.close();
  // Ctrl-C stops the server cleanly.
  const exited = new Promise((resolve) => server.on("exit", (code, signal) => resolve([code, signal])));
  server.kill("SIGINT");
  const [code] = await exited;
  assert.equal(code, 0, "snapsim ui exits 0 on Ctrl-C");
  assert.match(serverOutput, /stopped/);
}
step("passed; screenshots in " + outDir);
