'use strict'
// Echo throughput and latency, this package against ws and faye-websocket, in one run.
//
//   node benchmark/echo.js [--repeat R] [--seconds D]
//
// Each server runs alone on CPU 0; the Rust load generator (benchmark/loadgen, built
// on first use) runs on CPU 1 and checks every echoed byte. Targets run interleaved
// (A B C, C B A, ...); the table shows medians of R repetitions and each target's
// ratio to ws, paired per repetition.

const { spawn, execFileSync } = require('child_process')
const path = require('path')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(name)
  return at >= 0 ? Number(args[at + 1]) : fallback
}
const REPEAT = option('--repeat', 3)
const SECONDS = option('--seconds', 2)
const TARGETS = ['native', 'ws', 'faye']
const CELLS = [
  { name: '16 B × 100 conns, 16 in flight', size: 16, connections: 100, inflight: 16 },
  { name: '16 B × 100 conns, 1 in flight', size: 16, connections: 100, inflight: 1 },
  { name: '64 KiB × 100 conns', size: 65536, connections: 100, inflight: 1 },
  { name: '64 KiB × 1 conn', size: 65536, connections: 1, inflight: 1 },
  { name: '1 MiB × 1 conn', size: 1 << 20, connections: 1, inflight: 1 }
]

const LOADGEN_DIR = path.join(__dirname, 'loadgen')
const LOADGEN = path.join(LOADGEN_DIR, 'target', 'release', 'loadgen')

function buildLoadgen () {
  execFileSync('cargo', ['build', '--release', '--quiet'], { cwd: LOADGEN_DIR, stdio: 'inherit' })
}

function startServer (kind) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '0', process.execPath, path.join(__dirname, 'echo-server.js'), kind], { stdio: ['ignore', 'pipe', 'inherit'] })
    child.stdout.once('data', (data) => resolve({ child, port: Number(String(data).trim()) }))
    child.once('error', reject)
  })
}

function runLoad (port, cell) {
  const out = execFileSync('taskset', ['-c', '1', LOADGEN, '--port', String(port), '--connections', String(cell.connections),
    '--size', String(cell.size), '--inflight', String(cell.inflight), '--seconds', String(SECONDS)])
  return JSON.parse(String(out))
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

async function main () {
  buildLoadgen()
  console.log(`| cell | ${TARGETS.map((t) => `${t} msg/s`).join(' | ')} | ${TARGETS.filter((t) => t !== 'ws').map((t) => `${t}/ws`).join(' | ')} | native p50/p99 µs |`)
  console.log(`| --- |${' ---: |'.repeat(TARGETS.length * 2 - 1 + 1)}`)
  for (const cell of CELLS) {
    const rates = Object.fromEntries(TARGETS.map((t) => [t, []]))
    const ratios = Object.fromEntries(TARGETS.map((t) => [t, []]))
    let nativeLatency = []
    for (let r = 0; r < REPEAT; r++) {
      const order = r % 2 === 0 ? TARGETS : [...TARGETS].reverse()
      const round = {}
      for (const target of order) {
        const { child, port } = await startServer(target)
        const result = runLoad(port, cell)
        child.kill()
        if (result.errors > 0) throw new Error(`${target} ${cell.name}: ${result.errors} connection errors`)
        round[target] = result.rate
        rates[target].push(result.rate)
        if (target === 'native') nativeLatency = [result.p50_us, result.p99_us]
      }
      for (const t of TARGETS) ratios[t].push(round[t] / round.ws)
    }
    const cells = TARGETS.map((t) => Math.round(median(rates[t])).toLocaleString('en'))
    const ratioCells = TARGETS.filter((t) => t !== 'ws').map((t) => median(ratios[t]).toFixed(2))
    console.log(`| ${cell.name} | ${cells.join(' | ')} | ${ratioCells.join(' | ')} | ${nativeLatency.join(' / ')} |`)
  }
}

main().catch((error) => { console.error(error); process.exit(1) })
