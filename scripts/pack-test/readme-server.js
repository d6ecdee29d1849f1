'use strict'

// The README's echo server, as a user would copy it; only the port differs (any free
// one, printed for readme.js) and the close log line goes to stdout for it to read.
const WebSocket = require('faye-websocket-native') // or 'faye-websocket' when aliased
const http = require('http')

const server = http.createServer()

server.on('upgrade', (request, socket, body) => {
  if (WebSocket.isWebSocket(request)) {
    let ws = new WebSocket(request, socket, body)

    ws.on('message', (event) => {
      ws.send(event.data)
    })

    ws.on('close', (event) => {
      console.log('close', event.code, event.reason)
      ws = null
    })
  }
})

server.listen(0, '127.0.0.1', () => console.log('listening', server.address().port))
