'use strict'
// Echo server for Autobahn|Testsuite (fuzzingclient mode), written the way a
// faye-websocket user writes one, with permessage-deflate enabled.
//
//   node scripts/autobahn-echo-server.js [PORT] [--max-length BYTES] [--pipe]
//
// PORT defaults to 9001; 0 picks a free port. Once listening it prints
//   autobahn echo server listening on ws://127.0.0.1:<port>
// which scripts/autobahn-server.sh waits for. --pipe echoes with ws.pipe(ws)
// (the stream form) instead of the 'message' handler.

const http = require('http')
const WebSocket = require('..')
// permessage-deflate exactly as faye users enable it; the package runs it natively.
const deflate = require('permessage-deflate')

function parseArgs (argv) {
  const opts = { port: 9001, maxLength: undefined, pipe: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--pipe') {
      opts.pipe = true
    } else if (arg === '--max-length' || arg.startsWith('--max-length=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]
      opts.maxLength = Number(value)
      if (!Number.isSafeInteger(opts.maxLength) || opts.maxLength <= 0) {
        throw new Error(`--max-length needs a positive integer, got ${value}`)
      }
    } else if (/^\d+$/.test(arg)) {
      opts.port = Number(arg)
    } else {
      throw new Error(`unknown argument: ${arg}`)
    }
  }
  return opts
}

let opts
try {
  opts = parseArgs(process.argv.slice(2))
} catch (err) {
  console.error(`autobahn-echo-server: ${err.message}`)
  console.error('usage: node scripts/autobahn-echo-server.js [PORT] [--max-length BYTES] [--pipe]')
  process.exit(2)
}

const wsOptions = { extensions: [deflate] }
if (opts.maxLength !== undefined) wsOptions.maxLength = opts.maxLength

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' })
  res.end('WebSocket echo server\n')
})

server.on('upgrade', (req, socket, head) => {
  if (!WebSocket.isWebSocket(req)) return socket.end()
  const ws = new WebSocket(req, socket, head, [], wsOptions)
  if (opts.pipe) {
    ws.pipe(ws)
  } else {
    ws.on('message', (event) => ws.send(event.data))
  }
})

server.listen(opts.port, '127.0.0.1', () => {
  console.log(`autobahn echo server listening on ws://127.0.0.1:${server.address().port}`)
})

function stop () {
  server.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
