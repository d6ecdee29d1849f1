'use strict'
// The benchmark: this package against ws (with and without bufferutil), faye-websocket,
// a minimal frame echo on Node's sockets (the floor, benchmark/floor.js) and a Rust echo
// server (the ceiling), end to end over loopback. `npm run bench`.
//
//   node benchmark/run.js [--repeat R] [--seconds D] [--warmup W] [--only a,b]
//        [--targets t,u] [--quick] [--out DIR] [--idle-connections N] [--binary]
//        [--cluster] [--no-build] [--dry-run]
//   node benchmark/run.js --render DIR/latest.json [--out DIR]   (the report again, from saved results)
//
// Sections (benchmark/README.md says what each measures): server echo, server echo over
// TLS, broadcast, client echo, idle memory, and with --cluster benchmark/cluster.js.
// Servers run on CPU 0 and the Rust load generator (benchmark/loadgen) on CPU 1, each
// target in a fresh process, targets interleaved (A B C D E, E D C B A, ...); each
// measured run follows an unmeasured warm-up run. Tables show medians over the
// repetitions and ratios paired per repetition. Prints markdown as it goes, then writes
// DIR/<date>.md, DIR/latest.md, DIR/latest.json and DIR/latest.svg.

const { spawn, execFileSync } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const idle = require('./idle-memory')
const { renderChart } = require('./chart')

const argv = process.argv.slice(2)
const VALUED = ['--repeat', '--seconds', '--warmup', '--only', '--targets', '--out', '--idle-connections', '--render']
const FLAGS = ['--quick', '--binary', '--cluster', '--no-build', '--dry-run', '--help']
for (let i = 0; i < argv.length; i++) {
  if (VALUED.includes(argv[i])) i++
  else if (!FLAGS.includes(argv[i])) fail(`unknown option ${argv[i]} (options: ${[...VALUED, ...FLAGS].join(' ')})`)
}
if (argv.includes('--help')) {
  console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 17).map((l) => l.slice(3)).join('\n'))
  process.exit(0)
}
const has = (name) => argv.includes(name)
const option = (name, fallback) => { const at = argv.indexOf(name); return at >= 0 ? argv[at + 1] : fallback }
const list = (value) => String(value || '').split(',').map((s) => s.trim()).filter(Boolean)
const QUICK = has('--quick')
const OPT = {
  repeat: Number(option('--repeat', QUICK ? 1 : 3)),
  seconds: Number(option('--seconds', QUICK ? 0.5 : 2)),
  warmup: Number(option('--warmup', 0.3)),
  only: list(option('--only')),
  targets: list(option('--targets')),
  out: path.resolve(option('--out', path.join(__dirname, 'results'))),
  idleConnections: Number(option('--idle-connections', QUICK ? 1000 : 10000)),
  binary: has('--binary'),
  cluster: has('--cluster'),
  quick: QUICK
}
for (const key of ['repeat', 'seconds', 'warmup', 'idleConnections']) {
  if (!(OPT[key] >= 0) || (key !== 'warmup' && OPT[key] === 0)) fail(`bad value for --${key}: ${OPT[key]}`)
}

function fail (message) {
  console.error(`run.js: ${message}`)
  process.exit(2)
}

const LOADGEN_DIR = path.join(__dirname, 'loadgen')
const LOADGEN = path.join(LOADGEN_DIR, 'target', 'release', 'loadgen')
const ECHO_SERVER = path.join(LOADGEN_DIR, 'target', 'release', 'echo-server')
const FIXTURES = path.join(__dirname, '..', '__test__', 'fixtures')
const CERT = path.join(FIXTURES, 'server-cert.pem')
const KEY = path.join(FIXTURES, 'server-key.pem')
const MiB = 1024 * 1024
const GiB = 1024 * MiB

// ---- cells -------------------------------------------------------------------------

const ALL = ['native', 'ws', 'ws+bufferutil', 'faye', 'floor', 'ceiling']
const SIZE_NAMES = { 16: '16 B', 1024: '1 KiB', 65536: '64 KiB', 1048576: '1 MiB' }
// Fewer repetitions for the big cells (1,000 connections, 1 MiB messages): each run
// takes longer there, and their rates vary less from run to run.
const BIG_REPS = Math.max(1, Math.ceil(OPT.repeat * 2 / 3))

function makeCell (section, size, connections, inflight, extra = {}) {
  const sid = SIZE_NAMES[size].replace(' ', '')
  const plural = connections > 1 ? 'conns' : 'conn'
  const name = extra.mode === 'broadcast'
    ? `${SIZE_NAMES[size]} to ${connections.toLocaleString('en')} conns`
    : `${SIZE_NAMES[size]} × ${connections.toLocaleString('en')} ${plural}${inflight > 1 ? `, ${inflight} in flight` : ''}${extra.deflate ? ', deflate' : ''}`
  return {
    id: `${section}/${sid}/c${connections}${inflight > 1 ? `/i${inflight}` : ''}${extra.deflate ? '/deflate' : ''}`,
    name,
    section,
    size,
    connections,
    inflight,
    deflate: Boolean(extra.deflate),
    tls: Boolean(extra.tls),
    mode: extra.mode || 'echo',
    reps: connections >= 1000 || size >= MiB ? BIG_REPS : OPT.repeat
  }
}

const echoCells = []
for (const size of [16, 1024, 65536, 1048576]) {
  for (const connections of [1, 100, 1000]) {
    for (const deflate of [false, true]) echoCells.push(makeCell('echo', size, connections, 1, { deflate }))
  }
}
echoCells.push(makeCell('echo', 16, 100, 16), makeCell('echo', 1024, 100, 16))

const SECTIONS = [
  { id: 'echo', title: 'Server echo', unit: 'msg/s', targets: ALL, cells: echoCells },
  { id: 'wss', title: 'Server echo over TLS (wss)', unit: 'msg/s', targets: ['native', 'ws+bufferutil', 'faye', 'floor', 'ceiling'], cells: [makeCell('wss', 16, 100, 16, { tls: true }), makeCell('wss', 65536, 1, 1, { tls: true })] },
  { id: 'broadcast', title: 'Broadcast', unit: 'broadcasts/s', targets: ALL, cells: [makeCell('broadcast', 16, 1000, 1, { mode: 'broadcast' }), makeCell('broadcast', 1024, 1000, 1, { mode: 'broadcast' })] },
  { id: 'client', title: 'Client echo (against the Rust echo server)', unit: 'msg/s', targets: ALL.filter((t) => t !== 'floor'), cells: [makeCell('client', 65536, 1, 1), makeCell('client', 16, 1, 16), makeCell('client', 16, 100, 16)] }
]
const QUICK_CELLS = ['echo/16B/c1', 'echo/16B/c100/i16', 'echo/64KiB/c1', 'echo/1KiB/c100/deflate', 'echo/16B/c1000', 'wss/', 'broadcast/16B/c1000', 'client/']
const IDLE_ROWS = idle.ROWS.map((row) => ({ ...row, cellId: `idle/${row.id}` }))

const selected = (id) => (!QUICK || QUICK_CELLS.some((q) => id === q || (q.endsWith('/') && id.startsWith(q)))) &&
  (OPT.only.length === 0 || OPT.only.some((s) => `${id}/`.includes(s)))
for (const section of SECTIONS) {
  section.cells = section.cells.filter((cell) => selected(cell.id))
  if (OPT.targets.length) section.targets = section.targets.filter((t) => OPT.targets.includes(t))
}
const idleRows = IDLE_ROWS.filter((row) => (OPT.only.length === 0 || OPT.only.some((s) => `${row.cellId}/`.includes(s))) &&
  (OPT.targets.length === 0 || OPT.targets.some((t) => row.id.startsWith(t)) || row.id === 'bare'))

// ---- what the machine and the binaries can do ----------------------------------------

const PIN = fs.existsSync('/usr/bin/taskset') && os.cpus().length >= 2
const pin = (cpu) => (PIN ? ['taskset', '-c', String(cpu)] : [])
const live = new Set()

// Memory a cell would take, to skip the absurd ones rather than swap or die: per
// connection, the messages in flight held a few times over (read buffer, message,
// write queue; zlib's output too with deflate) plus the connection's own state.
const MEMORY_LIMIT = Math.min(2 * GiB, os.totalmem() / 4)
const COPIES = { native: 3, ws: 3, 'ws+bufferutil': 3, faye: 4, floor: 2, ceiling: 2 }
const serverBytes = (t, c) => c.connections * ((c.deflate ? 320 : 48) * 1024 + c.inflight * c.size * (COPIES[t] + (c.deflate ? 1 : 0)))
const loadgenBytes = (c) => c.connections * (256 * 1024 + 3 * c.inflight * c.size)
const gib = (bytes) => `${(bytes / GiB).toFixed(1)} GiB`

function skipReason (cell, targets) {
  const servers = targets.map((t) => serverBytes(t, cell))
  if (loadgenBytes(cell) <= MEMORY_LIMIT && Math.min(...servers) <= MEMORY_LIMIT) return null
  return `${Math.round(cell.connections * cell.inflight * cell.size / MiB)} MiB in flight per round trip: ` +
    `estimated ${gib(Math.min(...servers))}–${gib(Math.max(...servers))} per server and ${gib(loadgenBytes(cell))} in the load generator, ` +
    `over the ${gib(MEMORY_LIMIT)} per-process limit`
}

// Runs a command; resolves with its exit code, stdout and stderr (never rejects).
function run (command, { timeout = 60, env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { env: env || process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeout * 1000)
    child.stdout.on('data', (data) => { stdout += data })
    child.stderr.on('data', (data) => { stderr += data })
    child.on('error', (error) => { stderr += error.message })
    child.on('close', (code) => {
      clearTimeout(timer)
      live.delete(child)
      resolve({ code: timedOut ? 'timeout' : code, stdout, stderr })
    })
  })
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`
const tail = (text) => text.trim().split('\n').slice(-2).join(' / ').slice(0, 300)

// The last JSON line of a tool's output, or { error } saying why there is none.
function parseResult (out, what) {
  const line = out.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'))
  if (out.code !== 0 || !line) return { error: `${what} ${out.code === 'timeout' ? 'timed out' : `exited with ${out.code}`}: ${tail(out.stderr) || tail(out.stdout)}` }
  const result = JSON.parse(line)
  if (result.errors > 0) result.error = `${what}: ${result.errors} errors`
  return result
}

// Whether a binary accepts some flags: an unknown flag fails at once with a message.
async function accepts (command, flags) {
  if (!fs.existsSync(command[0])) return false
  const out = await run([...command, ...flags], { timeout: 5 })
  return !/unknown (flag|option|argument|mode)|unexpected argument|unrecognized|needs a value|bad value for --mode/i.test(out.stderr)
}

async function probe () {
  // Port 1 refuses the connection: the run ends at once, with an error, unless a flag
  // is refused first.
  const lg = [LOADGEN, '--port', '1', '--connections', '1', '--seconds', '0.1']
  // An echo server that starts prints its port; one that refuses a flag exits.
  const serves = async (flags) => {
    if (!fs.existsSync(ECHO_SERVER)) return false
    try { const s = await startProcess([ECHO_SERVER, '--port', '0', ...flags], process.env); await stop(s); return true } catch (error) { return false }
  }
  const bufferutil = await run([process.execPath, '-e', 'require("ws"); console.log(Object.keys(require.cache).some((f) => f.includes("/bufferutil/")))'], { env: targetEnv('ws+bufferutil') })
  return {
    loadgen: {
      deflate: await accepts(lg, ['--deflate']),
      tls: await accepts(lg, ['--tls']),
      binary: await accepts(lg, ['--binary']),
      broadcast: await accepts(lg, ['--mode', 'broadcast']),
      idle: await accepts(lg, ['--mode', 'idle'])
    },
    ceiling: {
      built: fs.existsSync(ECHO_SERVER),
      plain: await serves([]),
      deflate: await serves(['--deflate']),
      tls: await serves(['--tls', CERT, KEY]),
      broadcast: await serves(['--broadcast'])
    },
    bufferutil: bufferutil.stdout.trim() === 'true'
  }
}

// Why a target cannot run a cell at all (n/a), or null.
function unavailable (target, cell, caps) {
  const lg = caps.loadgen
  const needs = [cell.deflate && 'deflate', cell.tls && 'tls', cell.mode === 'broadcast' && 'broadcast', OPT.binary && 'binary']
  const loadgenMissing = needs.filter((n) => n && lg[n] === false)
  if (loadgenMissing.length && (cell.section !== 'client' || target === 'ceiling')) return `the load generator has no ${loadgenMissing.map((n) => n === 'broadcast' ? '--mode broadcast' : `--${n}`).join(' ')}`
  if (target === 'ceiling' || cell.section === 'client') {
    if (!caps.ceiling.built) return 'benchmark/loadgen has no echo-server binary'
    if (!caps.ceiling.plain) return 'the Rust echo-server does not start'
    const missing = ['deflate', 'tls', 'broadcast'].filter((n) => (n === 'broadcast' ? cell.mode === n : cell[n]) && !caps.ceiling[n])
    if (missing.length) return `the Rust echo-server has no --${missing.join(' --')}`
  }
  if ((target === 'ws+bufferutil' || target === 'floor') && !caps.bufferutil) return 'bufferutil does not load (npm install)'
  return inherentlyUnavailable(target, cell)
}

// Why a target can never run a cell, whatever is installed, or null.
function inherentlyUnavailable (target, cell) {
  if (target === 'floor' && cell.deflate) return 'the floor has no permessage-deflate'
  return null
}

// ---- processes -------------------------------------------------------------------------

// Starts a server and resolves once it has printed its port.
function startProcess (command, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    const server = { child, stderr: '', exited: null }
    let out = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('server printed no port in 10 s')) }, 10000)
    child.stderr.on('data', (data) => { server.stderr = (server.stderr + data).slice(-4000) })
    child.stdout.on('data', (data) => {
      out += data
      const port = Number(out.split('\n')[0].trim())
      if (out.includes('\n') && port > 0) { clearTimeout(timer); server.port = port; resolve(server) }
    })
    child.on('error', (error) => { clearTimeout(timer); reject(error) })
    child.on('exit', (code, signal) => {
      live.delete(child)
      server.exited = code !== null ? `code ${code}` : signal
      clearTimeout(timer)
      reject(new Error(`server exited (${server.exited}): ${tail(server.stderr)}`))
    })
  })
}

function stop (server) {
  if (server.exited) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 3000)
    server.child.once('exit', () => { clearTimeout(timer); resolve() })
    server.child.kill('SIGTERM')
  })
}

function serverCommand (target, cell) {
  if (target === 'ceiling') {
    return [ECHO_SERVER, '--port', '0', ...(cell.deflate ? ['--deflate'] : []), ...(cell.tls ? ['--tls', CERT, KEY] : []), ...(cell.mode === 'broadcast' ? ['--broadcast'] : [])]
  }
  return [process.execPath, path.join(__dirname, 'echo-server.js'), target, ...(cell.deflate ? ['--deflate'] : []), ...(cell.tls ? ['--tls'] : []), ...(cell.mode === 'broadcast' ? ['--broadcast'] : [])]
}

function targetEnv (target) {
  const env = { ...process.env }
  if (target === 'ws') env.WS_NO_BUFFER_UTIL = '1'
  else delete env.WS_NO_BUFFER_UTIL
  return env
}

function loadgen (cpu, port, cell, seconds) {
  const command = [...pin(cpu), LOADGEN, '--port', String(port), '--connections', String(cell.connections), '--size', String(cell.size),
    '--inflight', String(cell.inflight), '--seconds', String(seconds),
    ...(cell.deflate ? ['--deflate'] : []), ...(cell.tls ? ['--tls'] : []), ...(OPT.binary ? ['--binary'] : []),
    ...(cell.mode !== 'echo' ? ['--mode', cell.mode] : [])]
  return run(command, { timeout: seconds + 30 + cell.connections / 50 }).then((out) => parseResult(out, 'loadgen'))
}

// One measured run of one target in one cell: fresh server(s), warm-up, measurement.
async function measure (target, cell) {
  const started = Date.now()
  const result = await measureOnce(target, cell)
  result.wall_s = Number(((Date.now() - started) / 1000).toFixed(2))
  return result
}

async function measureOnce (target, cell) {
  const client = cell.section === 'client'
  let server = null
  try {
    if (client) {
      server = await startProcess([...pin(1), ECHO_SERVER, '--port', '0', ...(cell.deflate ? ['--deflate'] : [])], process.env)
    } else {
      server = await startProcess([...pin(0), ...serverCommand(target, cell)], targetEnv(target))
    }
    let result
    if (client && target !== 'ceiling') {
      const command = [...pin(0), process.execPath, path.join(__dirname, 'client-echo.js'), target, '--port', String(server.port),
        '--size', String(cell.size), '--connections', String(cell.connections), '--inflight', String(cell.inflight),
        '--seconds', String(OPT.seconds), '--warmup', String(OPT.warmup), ...(cell.deflate ? ['--deflate'] : []), ...(OPT.binary ? ['--binary'] : [])]
      result = parseResult(await run(command, { timeout: OPT.seconds + OPT.warmup + 30, env: targetEnv(target) }), 'client-echo')
    } else {
      // The ceiling of the client section is the load generator itself as the client.
      const cpu = client ? 0 : 1
      if (OPT.warmup > 0) {
        const warm = await loadgen(cpu, server.port, cell, OPT.warmup)
        if (warm.error) return { error: `warm-up: ${warm.error}` }
      }
      result = await loadgen(cpu, server.port, cell, OPT.seconds)
    }
    if (server.exited) result.error = result.error || `server exited (${server.exited}): ${tail(server.stderr)}`
    return result
  } catch (error) {
    return { error: error.message }
  } finally {
    if (server) await stop(server)
  }
}

// ---- statistics and tables ----------------------------------------------------------------

const median = (xs) => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

// A target's ratio to another, paired per repetition: the median of run-by-run ratios.
function paired (cell, target, other) {
  const runs = (t) => cell.targets[t] && cell.targets[t].runs
  if (!runs(target) || !runs(other) || target === other) return null
  const ratios = runs(target).map((r, i) => {
    const o = runs(other)[i]
    return r && o && !r.error && !o.error && o.rate > 0 ? r.rate / o.rate : null
  }).filter((x) => x !== null)
  return median(ratios)
}

function summarize (cell) {
  for (const [target, entry] of Object.entries(cell.targets)) {
    if (!entry.runs) continue
    const ok = entry.runs.filter((r) => !r.error)
    const rates = ok.map((r) => r.rate)
    entry.summary = {
      ok: ok.length,
      failed: entry.runs.length - ok.length,
      rate: median(rates),
      min: rates.length ? Math.min(...rates) : null,
      max: rates.length ? Math.max(...rates) : null,
      p50_us: median(ok.map((r) => r.p50_us)),
      p99_us: median(ok.map((r) => r.p99_us)),
      vs_ws: paired(cell, target, 'ws'),
      vs_ws_bufferutil: paired(cell, target, 'ws+bufferutil'),
      vs_floor: paired(cell, target, 'floor'),
      vs_ceiling: paired(cell, target, 'ceiling')
    }
  }
}

const int = (x) => (x === null || x === undefined ? '–' : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en'))
const micros = (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en'))
const ratio = (x) => (x === null || x === undefined ? '–' : x.toFixed(2))
const percent = (x) => (x === null || x === undefined ? '–' : `${Math.round(x * 100)}%`)
const mibs = (cell, rate) => (rate === null ? '–' : (rate * cell.size * (cell.mode === 'broadcast' ? cell.connections : 1) / MiB).toFixed(1))

// The comparison columns a section has: only against the targets it runs.
const references = (section) => ['ws', 'ws+bufferutil', 'floor', 'ceiling'].filter((t) => section.targets.includes(t))
const referenceHead = (t) => (t === 'ceiling' || t === 'floor' ? `% of ${t}` : `vs ${t}`)
const PERCENT_OF = { floor: 'vs_floor', ceiling: 'vs_ceiling' }
const referenceValue = (t, s) => (PERCENT_OF[t] ? percent(s && s[PERCENT_OF[t]]) : ratio(s && (t === 'ws' ? s.vs_ws : s.vs_ws_bufferutil)))

function detailHead (section) {
  const refs = references(section)
  return [
    `| cell | target | ${section.unit} | min–max | MiB/s${section.id === 'broadcast' ? ' delivered' : ''} | p50 µs | p99 µs |${refs.map((t) => ` ${referenceHead(t)} |`).join('')}`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: |${' ---: |'.repeat(refs.length)}`
  ]
}

function detailRows (section, cell, notes) {
  const refs = references(section)
  if (cell.skipped) return [`| ${cell.name} | all | skipped: ${cell.skipped} | | | | |${' |'.repeat(refs.length)}`]
  return Object.entries(cell.targets).map(([target, entry]) => {
    if (entry.skipped) return `| ${cell.name} | ${target} | ${entry.skipped} | | | | |${' |'.repeat(refs.length)}`
    const s = entry.summary
    let rate = int(s.rate)
    if (s.failed > 0) {
      notes.push(`${target}, ${cell.name}: ${[...new Set(entry.runs.filter((r) => r.error).map((r) => r.error))].join('; ')}`)
      rate = s.ok === 0 ? `error [${notes.length}]` : `${rate} (${s.failed} of ${entry.runs.length} runs failed [${notes.length}])`
    }
    const spread = s.ok > 1 ? `${int(s.min)}–${int(s.max)}` : '–'
    return `| ${cell.name} | ${target} | ${rate} | ${spread} | ${mibs(cell, s.rate)} | ${micros(s.p50_us)} | ${micros(s.p99_us)} |` +
      refs.map((t) => ` ${t === target ? '–' : referenceValue(t, s)} |`).join('')
  })
}

function summaryTable (section) {
  const targets = section.targets
  const refs = targets.includes('native') ? references(section) : []
  const lines = [
    `| cell | ${targets.join(' | ')} |${refs.map((t) => ` native ${referenceHead(t)} |`).join('')}`,
    `| --- |${' ---: |'.repeat(targets.length + refs.length)}`
  ]
  for (const cell of section.cells) {
    if (cell.skipped) { lines.push(`| ${cell.name} | skipped: ${cell.skipped} |${' |'.repeat(targets.length + refs.length - 1)}`); continue }
    const value = (t) => {
      const e = cell.targets[t]
      if (!e) return '–'
      if (e.skipped) return e.skipped.startsWith('n/a') ? 'n/a' : 'skipped'
      return e.summary.ok === 0 ? 'error' : int(e.summary.rate)
    }
    const n = cell.targets.native && cell.targets.native.summary
    lines.push(`| ${cell.name} | ${targets.map(value).join(' | ')} |${refs.map((t) => ` ${referenceValue(t, n)} |`).join('')}`)
  }
  return lines
}

// ---- the run ------------------------------------------------------------------------

function runsIn (section) {
  return section.cells.reduce((sum, cell) => sum + (skipReason(cell, section.targets) ? 0 : cell.reps * targetsFor(section, cell).length), 0)
}

// The targets that can run a cell by their nature, before probing what is installed.
const targetsFor = (section, cell) => section.targets.filter((target) => !inherentlyUnavailable(target, cell))

// Fitted to a full run on the 2-core development machine (within a few % per cell):
// per run, the warm-up and the measurement, 0.15 s to start and stop the server, 1.2 s
// per 1,000 connections to open them (twice), and twice the time the last round trip
// takes once the clock stops: the bytes in flight at about 290 MiB/s, or 28 MiB/s with
// deflate (where the load generator's own zlib work sets the pace).
function estimateSeconds () {
  let total = 10
  for (const section of SECTIONS) {
    for (const cell of section.cells) {
      if (skipReason(cell, section.targets)) continue
      const inFlight = cell.connections * cell.inflight * cell.size / MiB
      const run = OPT.seconds + OPT.warmup + 0.15 + cell.connections / 1000 * 1.2 + 2 * inFlight / (cell.deflate ? 28 : 290)
      total += cell.reps * targetsFor(section, cell).length * run
    }
  }
  total += idleRows.length * (3 + OPT.idleConnections / 2500)
  if (OPT.cluster) total += 2 * 2 * OPT.repeat * (OPT.seconds + 0.5)
  return total
}

function machine () {
  const quiet = (command, args) => { try { return execFileSync(command, args, { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() } catch (error) { return null } }
  const version = (name) => { try { return require(`${name}/package.json`).version } catch (error) { return null } }
  const release = (fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '').match(/^PRETTY_NAME="?([^"\n]*)/m)
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD'])
  // --no-optional-locks: reading the status must not rewrite the index.
  const dirty = quiet('git', ['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no'])
  return {
    cpu: os.cpus()[0].model,
    cpus: os.cpus().length,
    memory_gib: Number((os.totalmem() / GiB).toFixed(1)),
    os: `${release ? release[1] : os.type()}, kernel ${os.release()}`,
    node: process.version,
    rustc: quiet('rustc', ['-V']),
    packages: Object.fromEntries(['ws', 'bufferutil', 'faye-websocket', 'websocket-driver', 'permessage-deflate'].map((n) => [n, version(n)])),
    commit: commit ? `${commit}${dirty ? ' (with uncommitted changes)' : ''}` : null,
    load_average: os.loadavg().map((x) => Number(x.toFixed(2))),
    pinned: PIN
  }
}

async function main () {
  const started = Date.now()
  const date = new Date().toISOString().slice(0, 10)
  const env = machine()
  const estimate = estimateSeconds()
  const total = SECTIONS.reduce((sum, s) => sum + runsIn(s), 0)
  console.log(`# faye-websocket-native benchmark, ${date}\n`)
  console.log(`${env.cpus} × ${env.cpu}, ${env.memory_gib} GiB, ${env.os}, Node ${env.node}, ${env.rustc}; commit ${env.commit}`)
  console.log(`${total} measured runs (${OPT.repeat} × ${OPT.seconds} s each, ${BIG_REPS} for 1,000 connections or 1 MiB, after a ${OPT.warmup} s warm-up) ` +
    `and ${idleRows.length} idle-memory rows of ${OPT.idleConnections.toLocaleString('en')} connections: about ${Math.ceil(estimate / 60)} min`)
  if (env.load_average[0] > 0.5) console.log(`warning: load average ${env.load_average[0]} at start; the figures will be low and noisy`)
  if (!PIN) console.log('warning: no taskset or fewer than 2 CPUs: processes are not pinned')
  if (has('--dry-run')) {
    for (const section of SECTIONS) for (const cell of section.cells) console.log(`${cell.id}\t${cell.name}\t${cell.reps} reps × ${section.targets.join(', ')}`)
    for (const row of idleRows) console.log(`${row.cellId}\t${row.label}`)
    return
  }

  if (!has('--no-build')) {
    try {
      execFileSync('cargo', ['build', '--release', '--quiet'], { cwd: LOADGEN_DIR, stdio: 'inherit' })
    } catch (error) {
      if (!fs.existsSync(LOADGEN)) throw new Error('cannot build benchmark/loadgen')
      console.log('warning: cargo build failed in benchmark/loadgen; using the binaries already built')
    }
  }
  if (!fs.existsSync(LOADGEN)) throw new Error('no load generator: cargo build --release in benchmark/loadgen')
  const caps = await probe()
  const notes = []
  if (!caps.ceiling.built) notes.push('The Rust echo-server is not built: no ceiling, no client section.')
  else if (!caps.ceiling.plain) notes.push('The Rust echo-server does not start (it printed no port): no ceiling, no client section.')
  for (const [name, ok] of Object.entries(caps.loadgen)) if (!ok) notes.push(`The load generator has no ${name} support.`)
  for (const name of ['deflate', 'tls', 'broadcast']) if (caps.ceiling.plain && !caps.ceiling[name]) notes.push(`The Rust echo-server has no --${name}.`)
  if (!caps.bufferutil) notes.push('bufferutil does not load: ws+bufferutil is not measured.')
  for (const note of notes) console.log(`note: ${note}`)

  const results = { date: new Date(started).toISOString(), command: `node benchmark/run.js ${argv.join(' ')}`.trim(), options: OPT, machine: env, capabilities: caps, notes, sections: [], idle: null }
  for (const section of SECTIONS) {
    if (section.cells.length === 0 || section.targets.length === 0) continue
    const out = { id: section.id, title: section.title, unit: section.unit, targets: section.targets, cells: [], notes: [] }
    results.sections.push(out)
    console.log(`\n## ${section.title} (${section.unit})\n`)
    for (const line of detailHead(section)) console.log(line)
    for (const cell of section.cells) {
      const entry = { ...cell, targets: {} }
      out.cells.push(entry)
      const runnable = []
      const skip = skipReason(cell, section.targets)
      for (const target of section.targets) {
        const why = unavailable(target, cell, caps)
        if (skip) entry.targets[target] = { skipped: `skipped: ${skip}` }
        else if (why) entry.targets[target] = { skipped: `n/a: ${why}` }
        else if (serverBytes(target, cell) > MEMORY_LIMIT && cell.section !== 'client') entry.targets[target] = { skipped: `skipped: estimated ${gib(serverBytes(target, cell))}, over the ${gib(MEMORY_LIMIT)} limit` }
        else { entry.targets[target] = { runs: [] }; runnable.push(target) }
      }
      if (skip) entry.skipped = skip
      for (let r = 0; r < cell.reps; r++) {
        for (const target of r % 2 === 0 ? runnable : [...runnable].reverse()) {
          entry.targets[target].runs[r] = await measure(target, cell)
        }
      }
      summarize(entry)
      for (const line of detailRows(section, entry, out.notes)) console.log(line)
    }
    out.notes.forEach((note, i) => console.log(`${i === 0 ? '\n' : ''}[${i + 1}] ${note}`))
  }

  if (idleRows.length) {
    console.log(`\n## Idle memory\n`)
    for (const line of idle.TABLE_HEAD(OPT.idleConnections)) console.log(line)
    results.idle = []
    for (const row of idleRows) {
      const result = await idle.measureIdle(row, { connections: OPT.idleConnections, serverCpu: PIN ? 0 : undefined, clientCpu: PIN ? 1 : undefined })
      results.idle.push(result)
      console.log(idle.formatRow(result))
    }
  }

  if (OPT.cluster) {
    console.log('\n## Cluster (benchmark/cluster.js)\n')
    const out = await run([process.execPath, path.join(__dirname, 'cluster.js'), '--repeat', String(OPT.repeat), '--seconds', String(OPT.seconds)], { timeout: 1800 })
    results.cluster = out.code === 0 ? out.stdout.trim() : `error: cluster.js exited with ${out.code}: ${tail(out.stderr)}`
    console.log(results.cluster)
  }

  results.elapsed_s = Math.round((Date.now() - started) / 1000)
  console.log(`\nTook ${(results.elapsed_s / 60).toFixed(1)} min (estimated ${Math.ceil(estimate / 60)}).`)
  writeReport(results)
}

// DIR/<date>.md and latest.md, latest.json, latest.svg.
function writeReport (results) {
  const date = results.date.slice(0, 10)
  fs.mkdirSync(OPT.out, { recursive: true })
  const report = reportMarkdown(results)
  fs.writeFileSync(path.join(OPT.out, `${date}.md`), report)
  fs.writeFileSync(path.join(OPT.out, 'latest.md'), report)
  fs.writeFileSync(path.join(OPT.out, 'latest.json'), JSON.stringify(results, null, 1) + '\n')
  fs.writeFileSync(path.join(OPT.out, 'latest.svg'), renderChart(results))
  console.log(`Wrote ${path.join(OPT.out, `${date}.md`)}, latest.md, latest.json and latest.svg.`)
}

function reportMarkdown (results) {
  const m = results.machine
  const lines = [
    `# faye-websocket-native benchmark, ${results.date.slice(0, 10)}`,
    '',
    `- Machine: ${m.cpus} × ${m.cpu}, ${m.memory_gib} GiB, ${m.os}; load average at start ${m.load_average.join(', ')}`,
    `- Node ${m.node}, ${m.rustc}; this package at ${m.commit}`,
    `- ${Object.entries(m.packages).map(([n, v]) => `${n} ${v}`).join(', ')}`,
    `- Command: \`${results.command}\` (${plural(results.options.repeat, 'repetition')} of ${results.options.seconds} s, ` +
      `${Math.max(1, Math.ceil(results.options.repeat * 2 / 3))} for 1,000 connections or 1 MiB, each after a ${results.options.warmup} s warm-up run; ${m.pinned ? 'servers on CPU 0, load generator on CPU 1' : 'not pinned'})`,
    `- Took ${(results.elapsed_s / 60).toFixed(1)} min`,
    ...results.notes.map((n) => `- Note: ${n}`),
    '',
    'Ratios are medians of per-repetition ratios (each repetition runs every target once, in alternating order); ' +
      'rates are medians over repetitions, with their range. See benchmark/README.md.',
    '',
    '![throughput relative to ws](latest.svg)'
  ]
  for (const section of results.sections) {
    lines.push('', `## ${section.title}: ${section.unit}, medians`, '', ...summaryTable(section))
  }
  for (const section of results.sections) {
    const notes = []
    lines.push('', `## ${section.title}: details`, '', ...detailHead(section))
    for (const cell of section.cells) lines.push(...detailRows(section, cell, notes))
    if (notes.length) lines.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`))
  }
  if (results.idle) {
    lines.push('', '## Idle memory', '', ...idle.TABLE_HEAD(results.options.idleConnections), ...results.idle.map(idle.formatRow))
  }
  if (results.cluster) lines.push('', '## Cluster (benchmark/cluster.js)', '', results.cluster)
  return lines.join('\n') + '\n'
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of live) child.kill('SIGKILL')
    process.exit(130)
  })
}

// --render FILE: write the report again from a latest.json, running nothing.
const rendering = option('--render')
;(rendering ? Promise.resolve().then(() => writeReport(JSON.parse(fs.readFileSync(rendering, 'utf8')))) : main()).catch((error) => {
  for (const child of live) child.kill('SIGKILL')
  console.error(error)
  process.exit(1)
})
