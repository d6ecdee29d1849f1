'use strict'
// An echo server for the benchmark: node benchmark/echo-server.js KIND [--deflate]
// KIND is native (this package), ws or faye. Prints the port it listens on.

const http = require('http')

const kind = process.argv[2]
const deflate = process.argv.includes('--deflate')
const server = http.createServer()

if (kind === 'ws') {
  const { WebSocketServer } = require('ws')
  const wss = new WebSocketServer({ server, perMessageDeflate: deflate })
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
} else {
  const WebSocket = kind === 'faye' ? require('faye-websocket') : require('..')
  const extensions = deflate ? [kind === 'faye' ? require('permessage-deflate') : WebSocket.deflate] : []
  server.on('upgrade', (request, socket, body) => {
    const ws = new WebSocket(request, socket, body, [], { extensions })
    ws.on('message', (event) => ws.send(event.data))
  })
}

server.listen(0, '127.0.0.1', () => console.log(server.address().port))
