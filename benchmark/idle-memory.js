'use strict'
// Memory per idle connection: a server process holds N open connections and reports its
// RSS, heap and external memory after forced GCs, before the connections and once they
// are all open; the difference over N is what each connection costs it.
//
//   node benchmark/idle-memory.js [N]          the table, N = 10000 by default
//
// The connections come from another process, so the client's memory is not counted:
// the Rust load generator's idle mode (`loadgen --mode idle`, which prints a JSON line
// once all N are open, after one echoed message each with --warm, and holds them until
// its stdin closes), or, when the load generator has no idle mode, this file run as
// `--clients PORT N [--deflate] [--warm]`, which does the same with the `ws` client.
// The server is this file run as `--server KIND [--deflate]` under --expose-gc.
//
// Rows (ROWS below): this package with deflate off, deflate negotiated but no message
// yet, and deflate after one message each way (context takeover keeps the zlib state);
// `ws` and faye-websocket with and without deflate; and a bare net.Socket that answers
// the handshake with a hand-made 101 and keeps nothing else, the floor.

const { spawn } = require('child_process')
const crypto = require('crypto')
const net = require('net')
const path = require('path')

const LOADGEN = path.join(__dirname, 'loadgen', 'target', 'release', 'loadgen')

const ROWS = [
  { id: 'native', label: 'native, deflate off', kind: 'native', deflate: false, warm: true },
  { id: 'native-deflate', label: 'native, deflate negotiated, no message yet', kind: 'native', deflate: true, warm: false },
  { id: 'native-deflate-warm', label: 'native, deflate after one message', kind: 'native', deflate: true, warm: true },
  { id: 'ws', label: 'ws, deflate off', kind: 'ws', deflate: false, warm: true },
  { id: 'ws-deflate-warm', label: 'ws, deflate after one message', kind: 'ws', deflate: true, warm: true },
  { id: 'faye', label: 'faye-websocket, deflate off', kind: 'faye', deflate: false, warm: true },
  { id: 'faye-deflate-warm', label: 'faye-websocket, deflate after one message', kind: 'faye', deflate: true, warm: true },
  { id: 'bare', label: 'bare net.Socket (floor)', kind: 'bare', deflate: false, warm: false }
]

// The server side, in its own process: one library, holding every connection it gets.
function runServer (kind, deflate) {
  const held = new Set()
  let server
  if (kind === 'bare') {
    // Reads the request head, answers 101 with the right accept key, then only holds
    // the socket.
    server = net.createServer((socket) => {
      let head = ''
      socket.on('error', () => {})
      socket.on('close', () => held.delete(socket))
      socket.on('data', function onData (chunk) {
        head += chunk.toString('latin1')
        if (!head.includes('\r\n\r\n')) return
        socket.removeListener('data', onData)
        const key = (/^sec-websocket-key:\s*(\S+)/im.exec(head) || [])[1] || ''
        const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
        head = ''
        held.add(socket)
      })
    })
  } else if (kind === 'ws') {
    server = require('http').createServer()
    const { WebSocketServer } = require('ws')
    // Same settings as benchmark/echo-server.js: with threshold 0 the one message
    // really goes through zlib, as it does with the other two.
    const wss = new WebSocketServer({ server, perMessageDeflate: deflate ? { threshold: 0 } : false })
    wss.on('connection', (ws) => {
      held.add(ws)
      ws.on('close', () => held.delete(ws))
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    })
  } else {
    server = require('http').createServer()
    const WebSocket = kind === 'faye' ? require('faye-websocket') : require('..')
    const extensions = deflate ? [kind === 'faye' ? require('permessage-deflate') : WebSocket.deflate] : []
    server.on('upgrade', (request, socket, body) => {
      const ws = new WebSocket(request, socket, body, [], { extensions })
      ws.on('open', () => held.add(ws))
      ws.on('close', () => held.delete(ws))
      ws.on('message', (event) => ws.send(event.data))
    })
  }
  server.listen(0, '127.0.0.1', 4096, () => process.send({ port: server.address().port }))
  process.on('message', async (message) => {
    if (message !== 'measure') return
    // Several collections a little apart, so that what is freed late is gone too.
    for (let i = 0; i < 3; i++) {
      global.gc()
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    global.gc()
    const usage = process.memoryUsage()
    process.send({ rss: usage.rss, heap: usage.heapUsed, external: usage.external + usage.arrayBuffers, open: held.size })
  })
  process.on('disconnect', () => process.exit(0))
}

// The fallback client: N `ws` clients, opened 100 at a time, in the load generator's
// idle-mode protocol (one JSON line when ready, hold until stdin ends).
async function runClients (port, count, deflate, warm) {
  const WS = require('ws')
  const clients = []
  let ready = 0
  let errors = 0
  const open = () => new Promise((resolve) => {
    const client = new WS(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate ? { threshold: 0 } : false })
    clients.push(client)
    client.once('error', () => { errors++; resolve() })
    client.once('open', () => {
      if (!warm) { ready++; return resolve() }
      client.send('x'.repeat(16))
      client.once('message', () => { ready++; resolve() })
    })
  })
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, open))
  }
  console.log(JSON.stringify({ mode: 'idle', ready, errors }))
  process.stdin.on('end', () => {
    for (const client of clients) client.terminate()
    process.exit(0)
  })
  process.stdin.resume()
}

function ask (child, message) {
  return new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) => reject(new Error(`server exited with code ${code}`)))
    child.send(message)
  })
}

// Starts the client process and waits for its "ready" line. Resolves with the child
// (whose stdin holds the connections open) and the line; rejects if it ends first.
function startClients (command, args, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`clients not ready after ${seconds} s`)) }, seconds * 1000)
    child.stderr.on('data', (data) => { err += data })
    child.stdout.on('data', (data) => {
      out += data
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line && out.includes('\n')) {
        clearTimeout(timer)
        resolve({ child, result: JSON.parse(line) })
      }
    })
    child.once('error', (error) => { clearTimeout(timer); reject(error) })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(Object.assign(new Error(`client process exited with code ${code}: ${err.trim().split('\n').slice(-3).join(' / ')}`), { stderr: err, code }))
    })
  })
}

let loadgenHasIdle = true

/**
 * Measures one row. options: { connections, serverCpu, clientCpu } (CPU numbers for
 * taskset, optional). Resolves with KiB per connection (rss, heap, external), the
 * client used and how many connections the server held; never rejects: a failure
 * comes back as { error }.
 */
async function measureIdle (row, options) {
  const n = options.connections
  const pin = (cpu) => (cpu === undefined ? [] : ['taskset', '-c', String(cpu)])
  const serverArgs = ['--server', row.kind, ...(row.deflate ? ['--deflate'] : [])]
  // spawn rather than fork, so that taskset can come first; node finds the IPC channel
  // taskset passes on.
  const node = [process.execPath, '--expose-gc', __filename, ...serverArgs]
  const server = spawn(...split([...pin(options.serverCpu), ...node]), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let serverErr = ''
  server.stderr.on('data', (data) => { serverErr += data })
  let clients
  try {
    const { port } = await new Promise((resolve, reject) => {
      server.once('message', resolve)
      server.once('exit', (code) => reject(new Error(`server exited with code ${code}: ${serverErr.trim()}`)))
    })
    const before = await ask(server, 'measure')
    const flags = [...(row.deflate ? ['--deflate'] : []), ...(row.warm ? ['--warm'] : [])]
    const limit = 30 + n / 200
    let client = 'loadgen'
    if (loadgenHasIdle) {
      try {
        clients = await startClients([...pin(options.clientCpu), LOADGEN], ['--port', String(port), '--mode', 'idle', '--connections', String(n), ...flags], limit)
      } catch (error) {
        // An old load generator refuses the flags; anything else is a real failure.
        if (!/unknown flag|needs a value|unexpected argument|unrecognized|invalid value/i.test(error.stderr || '')) throw error
        loadgenHasIdle = false
      }
    }
    if (!loadgenHasIdle) {
      client = 'ws client (node)'
      clients = await startClients([...pin(options.clientCpu), process.execPath, __filename, '--clients', String(port), String(n)], flags, limit)
    }
    if (clients.result.ready !== n || clients.result.errors > 0) {
      throw new Error(`${clients.result.ready} of ${n} connections ready, ${clients.result.errors} errors`)
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const after = await ask(server, 'measure')
    if (after.open !== n) throw new Error(`server holds ${after.open} of ${n} connections`)
    const perConnection = (key) => (after[key] - before[key]) / n / 1024
    return { id: row.id, label: row.label, connections: n, client, rss: perConnection('rss'), heap: perConnection('heap'), external: perConnection('external'), before, after }
  } catch (error) {
    return { id: row.id, label: row.label, connections: n, error: error.message }
  } finally {
    if (clients) {
      clients.child.removeAllListeners('exit')
      clients.child.stdin.end()
      await waitExit(clients.child, 5000)
    }
    server.removeAllListeners('exit')
    server.kill('SIGKILL')
    await waitExit(server, 5000)
  }
}

const split = (command) => [command[0], command.slice(1)]

function waitExit (child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve() }, ms)
    child.once('exit', () => { clearTimeout(timer); resolve() })
  })
}

function formatRow (r) {
  if (r.error) return `| ${r.label} | error: ${r.error} | | | | |`
  return `| ${r.label} | ${r.rss.toFixed(1)} | ${r.heap.toFixed(1)} | ${r.external.toFixed(1)} | ${r.client} |`
}

const TABLE_HEAD = (n) => [
  `| server (${n.toLocaleString('en')} idle connections) | RSS KiB/conn | heap KiB/conn | external KiB/conn | client |`,
  '| --- | ---: | ---: | ---: | --- |'
]

module.exports = { ROWS, measureIdle, formatRow, TABLE_HEAD }

if (require.main === module) {
  const args = process.argv.slice(2)
  if (args[0] === '--server') {
    runServer(args[1], args.includes('--deflate'))
  } else if (args[0] === '--clients') {
    runClients(Number(args[1]), Number(args[2]), args.includes('--deflate'), args.includes('--warm'))
  } else {
    (async () => {
      const n = parseInt(args[0] || '10000', 10)
      for (const line of TABLE_HEAD(n)) console.log(line)
      for (const row of ROWS) console.log(formatRow(await measureIdle(row, { connections: n, serverCpu: 0, clientCpu: 1 })))
    })().catch((error) => { console.error(error); process.exit(1) })
  }
}
