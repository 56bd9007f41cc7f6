// ui.test.mjs - corral's built-in web page in a real headless browser
// (Debian's chromium, driven by playwright-core), against `corral serve` on
// loopback over a store the engine made from the generated corpus.
//
// What a user does: load the page, sign in, see the incidents, filter
// them, open one (timeline, evidence, level and priority with reasons,
// deadlines counting down), acknowledge it; then sign in as a tenant and
// see only that tenant's incidents, with another tenant's incident
// unreachable by its address. The page makes no request beyond the
// server. Expected values come from the API, not from this file.
//
// Run by CTest (ui_browser) with CORRAL_BINARY, CORRAL_GEN_CORPUS and
// CORRAL_SOURCE_DIR set; exits non-zero with the reason on a failure.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.CORRAL_BINARY, GEN = process.env.CORRAL_GEN_CORPUS, SRC = process.env.CORRAL_SOURCE_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const OPER = "operator-token-0000000000002", EDU = "tenant-edu-token-00000000004";
let failures = 0;
function check(ok, what) { if (!ok) { failures++; console.error("FAIL: " + what); } else console.log("ok: " + what); }
function fatal(what) { console.error("FAIL: " + what); process.exit(1); }

if (!existsSync(CHROMIUM)) fatal(`no browser at ${CHROMIUM} (apt-get install chromium; .ci/install-deps does)`);
const tmp = mkdtempSync(join(tmpdir(), "corral-ui-"));
writeFileSync(join(tmp, "tokens.yaml"), `tokens:
  - {name: li.wei, role: operator, token: ${OPER}}
  - {name: edu-portal, role: tenant, tenants: [t-edu], token: ${EDU}}
`);
execFileSync(GEN, ["--seed", "42", "--lines", "100000", "--out", join(tmp, "c.log"), "--truth", join(tmp, "t.jsonl")], { stdio: "ignore" });
execFileSync(BIN, ["run", "-c", join(SRC, "configs/corral.yaml"), "--input", join(tmp, "c.log"), "--store", join(tmp, "st"), "--quiet"], { stdio: "ignore" });

const srv = spawn(BIN, ["serve", "--store", join(tmp, "st"), "--tokens", join(tmp, "tokens.yaml"), "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
let log = "";
const url = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error("corral serve did not start: " + log)), 30000);
  srv.stderr.on("data", (d) => { log += d; const m = log.match(/serving (http:\/\/127\.0\.0\.1:\d+)/); if (m) { clearTimeout(t); resolve(m[1]); } });
  srv.on("exit", () => reject(new Error("corral serve exited: " + log)));
});

async function apiGet(path, token) {
  const r = await fetch(url + path, { headers: { Authorization: "Bearer " + token } });
  return r.json();
}
async function allIds(query, token) {
  let ids = [], cursor = null;
  do {
    const p = new URLSearchParams(query); p.set("page_size", "1000"); if (cursor) p.set("cursor", cursor);
    const r = await apiGet("/api/v1/incidents?" + p, token);
    ids = ids.concat(r.items.map((i) => i.id)); cursor = r.next_cursor;
  } while (cursor);
  return ids;
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new"] });
try {
  const page = await browser.newPage();
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) foreign.push(r.url()); });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  async function rowIds() { return page.$$eval("#incidents tbody tr", (rs) => rs.map((r) => r.dataset.id)); }
  async function signIn(token) {
    await page.goto(url + "/");
    if (await page.isVisible("#logout")) await page.click("#logout");
    await page.fill("#token", token);
    await page.click("#login-form button");
    await page.waitForSelector("#list-view:not([hidden])");
    await page.waitForFunction(() => document.querySelector("#count").textContent !== "");
  }

  // load, sign in, the list
  await page.goto(url + "/");
  check(await page.isVisible("#login"), "the page asks for a token first");
  await page.fill("#token", "not-a-token-anyone-has");
  await page.click("#login-form button");
  await page.waitForFunction(() => document.querySelector("#login-error").textContent !== "");
  check(await page.isVisible("#login"), "a wrong token stays at the sign-in");
  await signIn(OPER);
  const all = await allIds({}, OPER);
  const first = await rowIds();
  check(first.length === Math.min(50, all.length) && first.every((id, i) => id === all[i]), `the list shows the newest incidents (${first.length} of ${all.length})`);
  check((await page.textContent("#who")).includes("li.wei (operator)"), "who is signed in");

  // filter
  await page.selectOption("select[name=status]", "detected");
  await page.fill("input[name=category]", "S-ATK");
  await page.click("#filters button[type=submit]");
  const want = (await allIds({ status: "detected", category: "S-ATK" }, OPER)).slice(0, 50);
  await page.waitForFunction((n) => document.querySelectorAll("#incidents tbody tr").length === n, want.length);
  const got = await rowIds();
  check(want.length > 0 && got.join() === want.join(), `filtered by status and category prefix (${got.length})`);

  // open an incident
  const id = got[0];
  await page.click(`#incidents tbody tr[data-id="${id}"]`);
  await page.waitForSelector("#incident-view:not([hidden])");
  const inc = await apiGet("/api/v1/incidents/" + id, OPER);
  check((await page.textContent("#i-title")) === inc.title, "the incident's title");
  check((await page.textContent("#i-level")).includes(inc.reg_level), "its level");
  const reasons = await page.$$eval("#i-reasons li", (l) => l.map((x) => x.textContent));
  check(reasons.length > 0 && reasons.every((r) => inc.grading.reasons.includes(r)), "the reasons for its level and priority");
  const c1 = await page.textContent("#i-deadlines .countdown");
  check(/^(in|late by) /.test(c1), "a deadline counts down: " + c1);
  // the page ticks every second: wait for the next tick (a loaded machine may delay it)
  const moved = await page.waitForFunction((t) => document.querySelector("#i-deadlines .countdown").textContent !== t, c1, { timeout: 15000 }).then(() => true, () => false);
  check(moved, "... and moves with the clock");
  const samples = await page.$$eval("#i-evidence pre", (p) => p.map((x) => x.textContent));
  check(samples.length > 0 && samples[0] === inc.evidence.samples[0], "its evidence, the raw record");
  const hist = await page.$$eval("#i-history tbody tr", (r) => r.length);
  check(hist === inc.history.length, "its timeline");

  // acknowledge it
  await page.fill("#action-note", "looking at it from the browser");
  await page.click("#ack");
  await page.waitForFunction(() => document.querySelector("#i-status").textContent === "acknowledged");
  const after = await apiGet("/api/v1/incidents/" + id, OPER);
  check(after.status === "acknowledged" && after.history.at(-1).actor === "li.wei" && after.history.at(-1).note === "looking at it from the browser", "acknowledged, recorded with who and the note");
  check(!(await page.isVisible("#ack")), "no acknowledge button once acknowledged");

  // a tenant sees only its own
  await page.evaluate(() => { location.hash = ""; });
  await signIn(EDU);
  const mine = await allIds({}, EDU);
  const seen = await rowIds();
  check(mine.length > 0 && seen.join() === mine.slice(0, 50).join(), `the tenant's list is its own (${seen.length})`);
  const tenants = await page.$$eval("#incidents tbody tr td:nth-child(7)", (c) => c.map((x) => x.textContent));
  check(tenants.every((t) => t === "t-edu"), "every row is t-edu's, and only t-edu is named");
  const other = all.find((i) => !mine.includes(i));
  await page.goto(url + "/#incident/" + other);
  await page.waitForFunction(() => document.querySelector("#list-error").textContent !== "");
  check(await page.isHidden("#incident-view") && (await page.textContent("#list-error")).includes("no incident"), "another tenant's incident by its address: not found");
  check(!(await page.isVisible("#confirm")), "no level confirmation for a tenant");

  check(foreign.length === 0, "no request beyond the server: " + foreign.join(" "));
  check(pageErrors.length === 0, "no script error: " + pageErrors.join(" "));
} finally {
  await browser.close();
  srv.kill("SIGTERM");
}
if (process.env.CORRAL_TEST_KEEP) console.log("kept " + tmp); else rmSync(tmp, { recursive: true, force: true });
if (failures) { console.error(`${failures} check(s) failed`); process.exit(1); }
console.log("all checks passed");
