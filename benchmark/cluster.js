'use strict'
// Echo throughput of this package with 1 and 2 cluster workers sharing one port, and how
// much CPU each process used to get it.
//
//   node benchmark/cluster.js [--repeat R] [--seconds D] [--workers 1,2] [--loadgens L]
//
// The server is benchmark/cluster.js --serve W: a cluster primary that forks W workers
// (round-robin: the primary accepts and hands each connection to the next worker), each
// an echo server like benchmark/echo-server.js. The load comes from L copies (default 2)
// of the Rust load generator (benchmark/loadgen, built on first use), each with its
// share of the connections, all started together; they check every echoed byte.
//
// Nothing is pinned: on a 2-core machine the load generators share the cores with the
// workers, so the scaling factor is what the workers get out of the CPU the load
// generators leave them, not what 2 workers would do on cores of their own. The CPU
// columns show that split: CPU time over the run's wall time, per process (100% = one
// core), read from /proc/<pid>/stat for the servers and from the shell's `times` for
// each load generator. The last column is the CPU that processes outside the benchmark
// took from the machine meanwhile (from /proc/stat): on a shared machine it shows how
// much of the 200% the benchmark had. Rows are medians of R runs; runs alternate the
// worker counts. "msg/s per worker core" is the rate over the workers' CPU: where it
// holds from 1 worker to 2, the workers cost no more per message when there are two,
// and the scaling factor is set by the CPU they could get.

const { spawn, execFileSync } = require('child_process')
const cluster = require('cluster')
const fs = require('fs')
const http = require('http')
const os = require('os')
const path = require('path')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(name)
  return at >= 0 ? args[at + 1] : fallback
}

function serve (count) {
  if (cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_RR
    const workers = []
    let listening = 0
    for (let i = 0; i < count; i++) {
      const worker = cluster.fork()
      workers.push(worker)
      worker.on('listening', (address) => {
        if (++listening === count) {
          console.log(JSON.stringify({ port: address.port, primary: process.pid, workers: workers.map((w) => w.process.pid) }))
        }
      })
    }
    const stop = () => {
      for (const worker of workers) worker.process.kill('SIGKILL')
      process.exit(0)
    }
    process.on('SIGTERM', stop)
    // The benchmark holds the other end of stdin: when it goes, so does the server.
    process.stdin.on('end', stop)
    process.stdin.resume()
    return
  }
  const WebSocket = require('..')
  const server = http.createServer()
  server.on('upgrade', (request, socket, body) => {
    const ws = new WebSocket(request, socket, body)
    ws.on('message', (event) => ws.send(event.data))
  })
  server.listen(0, '127.0.0.1')
}

const REPEAT = Number(option('--repeat', 3))
const SECONDS = Number(option('--seconds', 3))
const WORKERS = String(option('--workers', '1,2')).split(',').map(Number)
const LOADGENS = Number(option('--loadgens', 2))
const CELLS = [
  { name: '16 B × 100 conns, 16 in flight', size: 16, connections: 100, inflight: 16 },
  { name: '64 KiB × 100 conns', size: 65536, connections: 100, inflight: 1 }
]

const LOADGEN_DIR = path.join(__dirname, 'loadgen')
const LOADGEN = path.join(LOADGEN_DIR, 'target', 'release', 'loadgen')
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'])) || 100

function startServer (workers) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--serve', String(workers)], { stdio: ['pipe', 'pipe', 'inherit'] })
    child.stdout.once('data', (data) => resolve({ child, ...JSON.parse(String(data)) }))
    child.once('error', reject)
  })
}

// CPU seconds (user + system) a process has used so far.
function cpuSeconds (pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS
}

// CPU seconds the whole machine has spent busy so far (all CPUs, everything but idle
// and iowait), to tell how much of it went to processes outside the benchmark.
function machineBusySeconds () {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((sum, x) => sum + x, 0)
  return (total - fields[3] - fields[4]) / TICKS
}

// One load generator under bash, whose `times` adds the CPU it used.
function runLoadgen (port, cell, connections) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', '"$@"; times', 'loadgen', LOADGEN, '--port', String(port),
      '--connections', String(connections), '--size', String(cell.size), '--inflight', String(cell.inflight),
      '--seconds', String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (data) => { out += data })
    child.once('error', reject)
    child.once('close', (code) => {
      const lines = out.trim().split('\n')
      if (code !== 0 || lines.length < 3) return reject(new Error(`loadgen exited with ${code}: ${out}`))
      // `times`: the shell's own user/system time, then its children's.
      const seconds = (s) => { const m = /(\d+)m([\d.]+)s/.exec(s); return Number(m[1]) * 60 + Number(m[2]) }
      const [user, system] = lines[lines.length - 1].trim().split(/\s+/)
      resolve({ ...JSON.parse(lines[0]), cpu: seconds(user) + seconds(system) })
    })
  })
}

async function measure (workers, cell) {
  const server = await startServer(workers)
  const pids = [server.primary, ...server.workers]
  const before = pids.map(cpuSeconds)
  const busyBefore = machineBusySeconds()
  const started = process.hrtime.bigint()
  const shares = Array.from({ length: LOADGENS }, (_, i) =>
    Math.floor(cell.connections / LOADGENS) + (i < cell.connections % LOADGENS ? 1 : 0))
  let results, wall, after, busy
  try {
    results = await Promise.all(shares.map((n) => runLoadgen(server.port, cell, n)))
    wall = Number(process.hrtime.bigint() - started) / 1e9
    after = pids.map(cpuSeconds)
    busy = machineBusySeconds() - busyBefore
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.once('exit', resolve))
  }
  const errors = results.reduce((sum, r) => sum + r.errors, 0)
  if (errors > 0) throw new Error(`${workers} workers, ${cell.name}: ${errors} connection errors`)
  const usage = (seconds) => seconds / wall
  const ours = after.reduce((sum, a, i) => sum + a - before[i], 0) + results.reduce((sum, r) => sum + r.cpu, 0)
  return {
    others: usage(Math.max(0, busy - ours)),
    rate: results.reduce((sum, r) => sum + r.rate, 0),
    primary: usage(after[0] - before[0]),
    workers: after.slice(1).map((a, i) => usage(a - before[i + 1])),
    loadgens: results.map((r) => usage(r.cpu))
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const pct = (x) => Math.round(x * 100) + '%'

async function main () {
  if (!fs.existsSync(LOADGEN)) execFileSync('cargo', ['build', '--release', '--quiet'], { cwd: LOADGEN_DIR, stdio: 'inherit' })
  const load = os.loadavg()[0]
  console.log(`${os.cpus().length} CPUs (${os.cpus()[0].model}), load average ${load.toFixed(2)} at start, ` +
    `${LOADGENS} load generators sharing the cores with the server, ${REPEAT} × ${SECONDS} s per row`)
  if (load > 1.5) console.log('warning: the machine is busy; the figures will be low and noisy')
  console.log()
  console.log('| cell | workers | msg/s | scaling | workers CPU | msg/s per worker core | primary CPU | load generators CPU | other processes CPU |')
  console.log('| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: |')
  for (const cell of CELLS) {
    const runs = Object.fromEntries(WORKERS.map((w) => [w, []]))
    for (let r = 0; r < REPEAT; r++) {
      for (const workers of r % 2 === 0 ? WORKERS : [...WORKERS].reverse()) {
        runs[workers].push(await measure(workers, cell))
      }
    }
    const base = median(runs[WORKERS[0]].map((m) => m.rate))
    for (const workers of WORKERS) {
      // The run with the median rate supplies the CPU figures, so they belong together.
      const sorted = [...runs[workers]].sort((a, b) => a.rate - b.rate)
      const m = sorted[Math.floor(sorted.length / 2)]
      console.log(`| ${cell.name} | ${workers} | ${Math.round(m.rate).toLocaleString('en')} | ${(m.rate / base).toFixed(2)} | ` +
        `${m.workers.map(pct).join(' + ')} | ${Math.round(m.rate / m.workers.reduce((a, b) => a + b, 0)).toLocaleString('en')} | ${pct(m.primary)} | ${m.loadgens.map(pct).join(' + ')} | ${pct(m.others)} |`)
    }
  }
}

// Workers run this file again, with the primary's arguments.
if (args[0] === '--serve' || !cluster.isPrimary) {
  serve(Number(args[1]))
} else {
  main().catch((error) => { console.error(error); process.exit(1) })
}
