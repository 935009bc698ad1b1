// build.mjs - builds the native addon build/llmr.node (npm's install script). Offline: it
// downloads nothing. In order:
//  1. LLMR_NODE_ADDON names a built addon: nothing to do (lib/llmr.cjs loads it from there).
//  2. Inside the llmr repository (js/ is this folder): CMake builds the llmr_node target, in
//     LLMR_BUILD_DIR or the repository's build/ when it is a CMake build folder (as
//     scripts/setup.sh makes it), else in build/cmake here; the result is copied to build/.
//  3. Elsewhere (a packed tarball): the C sources in src/ are compiled against an installed
//     libllmr (pkg-config llmr) and Node's own headers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(pkg, 'build', 'llmr.node');
const run = (cmd, args, opts = {}) => {
  console.log(`llm-runner-router: ${cmd} ${args.join(' ')}`);
  return execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
};

function fail(msg) {
  console.error(`llm-runner-router: ${msg}`);
  process.exit(1);
}

if (process.env.LLMR_NODE_ADDON && fs.existsSync(process.env.LLMR_NODE_ADDON)) {
  console.log(`llm-runner-router: using ${process.env.LLMR_NODE_ADDON}`);
  process.exit(0);
}
fs.mkdirSync(path.dirname(out), { recursive: true });

const repo = path.resolve(pkg, '..');
const inRepo = fs.existsSync(path.join(repo, 'CMakeLists.txt')) &&
  fs.existsSync(path.join(repo, 'include', 'llmr.h')) &&
  fs.existsSync(path.join(repo, 'js', 'src', 'addon.c')) &&
  fs.realpathSync(path.join(repo, 'js')) === fs.realpathSync(pkg);

if (inRepo) {
  let dir = process.env.LLMR_BUILD_DIR;
  if (!dir && fs.existsSync(path.join(repo, 'build', 'CMakeCache.txt'))) dir = path.join(repo, 'build');
  if (!dir) dir = path.join(pkg, 'build', 'cmake');
  dir = path.resolve(repo, dir);
  if (!fs.existsSync(path.join(dir, 'CMakeCache.txt'))) {
    run('cmake', ['-S', repo, '-B', dir, '-DCMAKE_BUILD_TYPE=Release', '-DLLMR_TESTS=OFF']);
  }
  const cpus = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const jobs = String(Math.max(1, Math.min(cpus, 8)));
  run('cmake', ['--build', dir, '--target', 'llmr_node', '-j', jobs]);
  const built = path.join(dir, 'llmr.node');
  if (!fs.existsSync(built)) {
    fail(`${built} was not built: is node_api.h installed (Debian: nodejs; or -DNODE_API_INCLUDE=DIR)?`);
  }
  fs.copyFileSync(built, out + '.tmp');
  fs.renameSync(out + '.tmp', out);
  console.log(`llm-runner-router: built ${out}`);
  process.exit(0);
}

// A tarball: compile against an installed libllmr.

let flags;
try {
  flags = execFileSync('pkg-config', ['--cflags', '--libs', 'llmr'], { encoding: 'utf8' }).trim().split(/\s+/);
  // libllmr.so where it was installed, even outside the loader's default folders
  const libdir = execFileSync('pkg-config', ['--variable=libdir', 'llmr'], { encoding: 'utf8' }).trim();
  if (libdir) flags.push(`-Wl,-rpath,${libdir}`);
} catch {
  fail('libllmr is not installed (pkg-config llmr failed): install llmr (cmake --install build) ' +
    'or install this package from the llmr repository\'s js/ folder');
}
const nodeInclude = [
  process.env.NODE_API_INCLUDE,
  path.join(path.dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
].find((d) => d && fs.existsSync(path.join(d, 'node_api.h')));
if (!nodeInclude) fail('node_api.h not found: set NODE_API_INCLUDE to the folder holding it');
const sources = fs.readdirSync(path.join(pkg, 'src')).filter((f) => f.endsWith('.c'))
  .map((f) => path.join(pkg, 'src', f));
run(process.env.CC || 'cc', ['-std=gnu11', '-O2', '-fPIC', '-shared', '-D_GNU_SOURCE',
  `-I${nodeInclude}`, ...sources, ...flags, '-lpthread', '-o', out]);
console.log(`llm-runner-router: built ${out}`);
