'use strict'
// Memory per idle connection: a server process holds N open connections (made by this
// process with the `ws` client), and reports its RSS and heap after a forced GC, before
// and after. Run: node benchmark/idle-memory.js [N]
//
// Rows: this package with deflate off, deflate negotiated (no message yet), deflate
// negotiated after one message each way (context takeover keeps zlib state), and the
// same with no_context_takeover; `ws` and faye-websocket for comparison; a bare
// net.Socket as the floor.

const { fork } = require('child_process')
const path = require('path')
const WS = require('ws')
const net = require('net')

const N = parseInt(process.argv[2] || '2000', 10)

if (process.argv[2] === '--server') {
  runServer(process.argv[3])
} else {
  main().catch((error) => { console.error(error); process.exit(1) })
}

function runServer (kind) {
  const http = require('http')
  const server = http.createServer()
  const sockets = []
  if (kind === 'bare') {
    const plain = net.createServer((socket) => sockets.push(socket))
    plain.listen(0, '127.0.0.1', () => process.send({ port: plain.address().port }))
  } else if (kind.startsWith('ws')) {
    const wss = new WS.WebSocketServer({ server, perMessageDeflate: kind === 'ws-deflate' })
    wss.on('connection', (ws) => { sockets.push(ws); ws.on('message', (d, b) => ws.send(d, { binary: b })) })
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
  } else {
    const WebSocket = kind.startsWith('faye') ? require('faye-websocket') : require('..')
    const deflate = kind.startsWith('faye') ? require('permessage-deflate') : WebSocket.deflate
    const extensions = kind.endsWith('deflate') ? [deflate] : []
    server.on('upgrade', (req, socket, body) => {
      const ws = new WebSocket(req, socket, body, [], { extensions })
      sockets.push(ws)
      ws.on('message', (e) => ws.send(e.data))
    })
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
  }
  process.on('message', (msg) => {
    if (msg !== 'measure') return
    for (let i = 0; i < 3; i++) global.gc()
    const usage = process.memoryUsage()
    process.send({ rss: usage.rss, heap: usage.heapUsed, external: usage.external, count: sockets.length })
  })
}

function ask (child, message) {
  return new Promise((resolve) => { child.once('message', resolve); child.send(message) })
}

async function measure (kind, clientOptions, exchange) {
  const child = fork(__filename, ['--server', kind], { execArgv: ['--expose-gc'] })
  const { port } = await new Promise((resolve) => child.once('message', resolve))
  const before = await ask(child, 'measure')
  const clients = []
  for (let i = 0; i < N; i++) {
    let client
    if (kind === 'bare') {
      client = net.connect(port, '127.0.0.1')
      await new Promise((resolve) => client.once('connect', resolve))
    } else {
      client = new WS(`ws://127.0.0.1:${port}/`, clientOptions)
      await new Promise((resolve, reject) => { client.once('open', resolve); client.once('error', reject) })
      if (exchange) {
        client.send('hello '.repeat(50))
        await new Promise((resolve) => client.once('message', resolve))
      }
    }
    clients.push(client)
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
  const after = await ask(child, 'measure')
  for (const c of clients) (c.terminate || c.destroy).call(c)
  child.kill()
  return { kind, rss: (after.rss - before.rss) / N / 1024, heap: (after.heap - before.heap) / N / 1024, external: (after.external - before.external) / N / 1024 }
}

async function main () {
  const rows = [
    ['bare net.Socket', 'bare', {}, false],
    ['native, deflate off', 'native', { perMessageDeflate: false }, true],
    ['native, deflate negotiated, idle', 'native-deflate', { perMessageDeflate: true }, false],
    ['native, deflate after one message (takeover)', 'native-deflate', { perMessageDeflate: true }, true],
    ['native, deflate after one message (no takeover)', 'native-deflate', { perMessageDeflate: { clientNoContextTakeover: true, serverNoContextTakeover: true } }, true],
    ['ws, deflate off', 'ws', { perMessageDeflate: false }, true],
    ['ws, deflate after one message', 'ws-deflate', { perMessageDeflate: true }, true],
    ['faye-websocket, deflate off', 'faye', { perMessageDeflate: false }, true],
    ['faye-websocket, deflate after one message', 'faye-deflate', { perMessageDeflate: true }, true]
  ]
  console.log(`| server (${N} idle connections) | RSS KiB/conn | heap KiB/conn | external KiB/conn |`)
  console.log('| --- | ---: | ---: | ---: |')
  for (const [label, kind, options, exchange] of rows) {
    const r = await measure(kind, options, exchange)
    console.log(`| ${label} | ${r.rss.toFixed(1)} | ${r.heap.toFixed(1)} | ${r.external.toFixed(1)} |`)
  }
}
