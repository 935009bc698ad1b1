// check.mjs - the tests/js scripts' checks: check(name, cond) counts, finish() prints
// "N passed, N failed" and sets the exit status. rejects(name, fn, code) checks that fn throws
// (or its promise rejects) an Error with that code.
let passes = 0, fails = 0;
export function check(name, cond, detail = '') {
  if (cond) passes++;
  else { fails++; console.log(`FAIL: ${name}${detail ? ` (${detail})` : ''}`); }
}
export async function rejects(name, fn, code, msgRe) {
  try {
    await fn();
    check(name, false, 'no error');
  } catch (e) {
    const ok = e instanceof Error && e.code === code && (!msgRe || msgRe.test(e.message));
    check(name, ok, `got ${e && e.code}: ${e && e.message}`);
  }
}
export function finish() {
  console.log(`${passes} passed, ${fails} failed`);
  process.exitCode = fails ? 1 : 0;
}
// Resolves when cond() holds, polling; rejects after ms (a hang is a failure, not a wait).
export async function until(cond, ms = 60000, what = 'condition') {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
