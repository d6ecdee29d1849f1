'use strict'
// The benchmark's WebSocket server, one library per process:
//
//   node benchmark/echo-server.js KIND [--deflate] [--tls] [--broadcast] [--port P]
//
// KIND is native (this package), ws (with bufferutil disabled: WS_NO_BUFFER_UTIL=1),
// ws+bufferutil (fails if bufferutil does not load), faye (faye-websocket) or floor (no
// library: the least any server on Node's sockets does, benchmark/floor.js). Prints the
// port it listens on (127.0.0.1, port 0 by default) and serves until killed.
//
//   --deflate    permessage-deflate: WebSocket.deflate for native, the permessage-deflate
//                package for faye, `perMessageDeflate: { threshold: 0 }` for ws (ws's
//                default threshold of 1024 would leave small messages uncompressed,
//                while the other two compress every message). Otherwise each library's
//                defaults: level 6, memLevel 8, 15-bit windows, context takeover.
//   --tls        an https server with __test__/fixtures/server-cert.pem (wss://)
//   --broadcast  every message received is sent to every open connection, the sender
//                included, instead of echoed to its sender

const fs = require('fs')
const path = require('path')

const args = process.argv.slice(2)
const kind = args[0]
const deflate = args.includes('--deflate')
const tls = args.includes('--tls')
const broadcast = args.includes('--broadcast')
const portAt = args.indexOf('--port')
const port = portAt >= 0 ? Number(args[portAt + 1]) : 0

if (!['native', 'ws', 'ws+bufferutil', 'faye', 'floor'].includes(kind) || (kind === 'floor' && deflate)) {
  console.error('usage: node benchmark/echo-server.js native|ws|ws+bufferutil|faye|floor [--deflate] [--tls] [--broadcast] [--port P]\n' +
    '(floor has no --deflate)')
  process.exit(2)
}

// ws reads this once, when it loads: it then uses bufferutil if it is installed.
if (kind === 'ws') process.env.WS_NO_BUFFER_UTIL = '1'
else delete process.env.WS_NO_BUFFER_UTIL

const fixtures = path.join(__dirname, '..', '__test__', 'fixtures')
const server = tls
  ? require('https').createServer({
    cert: fs.readFileSync(path.join(fixtures, 'server-cert.pem')),
    key: fs.readFileSync(path.join(fixtures, 'server-key.pem'))
  })
  : require('http').createServer()

if (kind === 'floor') {
  require('./floor').attachFloor(server, { broadcast })
} else if (kind.startsWith('ws')) {
  const { WebSocketServer } = require('ws')
  const loaded = Object.keys(require.cache).some((file) => file.includes(`${path.sep}bufferutil${path.sep}`))
  // Node versions whose http module has websocketMask make ws use that, not bufferutil.
  if (kind === 'ws+bufferutil' && !loaded && !require('http').websocketMask) {
    console.error('echo-server: bufferutil does not load (npm install)')
    process.exit(1)
  }
  const wss = new WebSocketServer({ server, perMessageDeflate: deflate ? { threshold: 0 } : false })
  wss.on('connection', (ws) => {
    ws.on('message', broadcast
      ? (data, isBinary) => { for (const peer of wss.clients) peer.send(data, { binary: isBinary }) }
      : (data, isBinary) => ws.send(data, { binary: isBinary }))
  })
} else {
  const WebSocket = kind === 'faye' ? require('faye-websocket') : require('..')
  const extensions = deflate ? [kind === 'faye' ? require('permessage-deflate') : WebSocket.deflate] : []
  const open = new Set()
  server.on('upgrade', (request, socket, body) => {
    const ws = new WebSocket(request, socket, body, [], { extensions })
    if (broadcast) {
      ws.on('open', () => open.add(ws))
      ws.on('close', () => open.delete(ws))
      ws.on('message', (event) => { for (const peer of open) peer.send(event.data) })
    } else {
      ws.on('message', (event) => ws.send(event.data))
    }
  })
}

server.listen(port, '127.0.0.1', () => console.log(server.address().port))
