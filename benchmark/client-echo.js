'use strict'
// Client-side echo: N clients of one library in this process, against an echo server.
//
//   node benchmark/client-echo.js KIND [--port P] [--size S] [--connections N]
//        [--inflight K] [--seconds D] [--warmup W] [--deflate] [--binary]
//
// KIND: native (this package's WebSocket.Client), ws (bufferutil disabled),
// ws+bufferutil, faye (faye-websocket's Client). Each connection keeps K messages of
// S bytes in flight (text of a–z repeated, or the same bytes as binary with --binary)
// and checks every echo against what it sent, in order. The first W seconds (default
// 0.3) are a warm-up and not counted; the next D seconds (default 2) are. Prints one
// JSON line: {kind, connections, size, inflight, messages, seconds, rate, p50_us,
// p99_us, errors}, where errors counts connections that failed or closed early and
// echoes that did not match.
//
// With --port it connects to a server already listening on 127.0.0.1:P (the benchmark
// runner starts the Rust echo server, pinned to the other CPU); without it, it starts
// benchmark/loadgen/target/release/echo-server itself.
//
// --deflate: WebSocket.deflate for native, permessage-deflate for faye,
// perMessageDeflate { threshold: 0 } for ws (compress every message, as the others do).

const { spawn } = require('child_process')
const path = require('path')
const { performance } = require('perf_hooks')

const args = process.argv.slice(2)
const KIND = args[0]
const option = (name, fallback) => {
  const at = args.indexOf(name)
  return at >= 0 ? Number(args[at + 1]) : fallback
}
const SIZE = option('--size', 16)
const CONNECTIONS = option('--connections', 1)
const INFLIGHT = option('--inflight', 1)
const SECONDS = option('--seconds', 2)
const WARMUP = option('--warmup', 0.3)
const DEFLATE = args.includes('--deflate')
const BINARY = args.includes('--binary')
const ECHO_SERVER = path.join(__dirname, 'loadgen', 'target', 'release', 'echo-server')

if (!['native', 'ws', 'ws+bufferutil', 'faye'].includes(KIND)) {
  console.error('usage: node benchmark/client-echo.js native|ws|ws+bufferutil|faye [--port P] [--size S] [--connections N] [--inflight K] [--seconds D] [--warmup W] [--deflate] [--binary]')
  process.exit(2)
}

// ws reads this when it loads.
if (KIND === 'ws') process.env.WS_NO_BUFFER_UTIL = '1'
else delete process.env.WS_NO_BUFFER_UTIL

const TEXT = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(SIZE / 26)).slice(0, SIZE)
const BYTES = Buffer.from(TEXT)

// One connection per library, behind the same three calls: send(), and onOpen/onEcho
// callbacks. `same` says whether an echo is what was sent.
function connect (url, handlers) {
  if (KIND.startsWith('ws')) {
    const WS = require('ws')
    const ws = new WS(url, { perMessageDeflate: DEFLATE ? { threshold: 0 } : false })
    ws.on('open', handlers.open)
    ws.on('message', (data, isBinary) => handlers.echo(isBinary === BINARY && data.equals(BYTES)))
    ws.on('error', handlers.fail)
    ws.on('close', handlers.fail)
    return { send: () => ws.send(BINARY ? BYTES : TEXT), close: () => ws.terminate() }
  }
  const WebSocket = KIND === 'faye' ? require('faye-websocket') : require('..')
  const extensions = DEFLATE ? [KIND === 'faye' ? require('permessage-deflate') : WebSocket.deflate] : []
  const ws = new WebSocket.Client(url, [], { extensions })
  ws.on('open', handlers.open)
  ws.on('message', BINARY
    ? (event) => handlers.echo(Buffer.isBuffer(event.data) && event.data.equals(BYTES))
    : (event) => handlers.echo(event.data === TEXT))
  ws.on('error', handlers.fail)
  ws.on('close', handlers.fail)
  return { send: () => ws.send(BINARY ? BYTES : TEXT), close: () => ws.close() }
}

function checkBufferutil () {
  // With KIND ws+bufferutil, ws must really have loaded it (Node versions whose http
  // module has websocketMask make ws use that instead, and the two ws targets then
  // measure the same thing: say so).
  if (!KIND.startsWith('ws')) return
  require('ws')
  const loaded = Object.keys(require.cache).some((file) => file.includes(`${path.sep}bufferutil${path.sep}`))
  if (KIND === 'ws+bufferutil' && !loaded) {
    if (require('http').websocketMask) console.error('client-echo: ws uses Node\'s websocketMask, not bufferutil')
    else throw new Error('bufferutil is not installed (npm install)')
  }
}

async function startEchoServer () {
  const child = spawn(ECHO_SERVER, ['--port', '0', ...(DEFLATE ? ['--deflate'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (data) => resolve(Number(String(data).trim())))
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`echo-server exited with code ${code}`)))
  })
  return { child, port }
}

async function main () {
  checkBufferutil()
  let port = option('--port', 0)
  let server = null
  if (!port) {
    server = await startEchoServer()
    port = server.port
  }
  const url = `ws://127.0.0.1:${port}/`

  let measuring = false
  let stopped = false
  let messages = 0
  let errors = 0
  let latencies = []

  // Every connection open before the clock starts.
  const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => new Promise((resolve) => {
    const sentAt = []
    let done = false
    let conn = null
    const fail = () => {
      if (done || stopped) return
      done = true
      errors++
      resolve(conn)
    }
    conn = connect(url, {
      open: () => resolve(conn),
      fail,
      echo: (same) => {
        if (done || stopped) return
        const start = sentAt.shift()
        if (!same || start === undefined) return fail()
        if (measuring) {
          messages++
          latencies.push((performance.now() - start) * 1000)
        }
        sentAt.push(performance.now())
        conn.send()
      }
    })
    conn.start = () => {
      if (done) return
      for (let i = 0; i < INFLIGHT; i++) {
        sentAt.push(performance.now())
        conn.send()
      }
    }
  })))

  for (const conn of connections) conn.start()
  await new Promise((resolve) => setTimeout(resolve, WARMUP * 1000))
  measuring = true
  latencies = []
  const started = performance.now()
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000))
  const seconds = (performance.now() - started) / 1000
  stopped = true
  measuring = false

  latencies.sort((a, b) => a - b)
  const pick = (q) => (latencies.length ? Math.round(latencies[Math.round((latencies.length - 1) * q)]) : 0)
  console.log(JSON.stringify({
    kind: KIND,
    connections: CONNECTIONS,
    size: SIZE,
    inflight: INFLIGHT,
    messages,
    seconds: Number(seconds.toFixed(3)),
    rate: Number((messages / seconds).toFixed(1)),
    p50_us: pick(0.5),
    p99_us: pick(0.99),
    errors
  }))
  for (const conn of connections) conn.close()
  if (server) server.child.kill()
  // Closing handshakes are not part of the measurement.
  setTimeout(() => process.exit(0), 50)
}

main().catch((error) => { console.error(`client-echo: ${error.message}`); process.exit(1) })
